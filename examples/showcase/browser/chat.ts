/**
 * The chat page, in the browser: asks the gateway through the typed client and shows the answer
 * token by token. Stop aborts the call's signal: the client cancels the request, the gateway's
 * request signal aborts, and with it the gateway's request to the model. The page then shows what
 * the model spent. Bundled by assets.ts; `ShowcaseAPI` is a type, erased from the bundle.
 */
import { client, ProblemError, StreamError } from "../../../src/client/index.ts";
import type { ShowcaseAPI } from "../app.ts";

const api = client<ShowcaseAPI>(new URL("/api", location.origin));

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const form = $<HTMLFormElement>("ask");
const prompt = $<HTMLTextAreaElement>("prompt");
const failMidway = $<HTMLInputElement>("fail");
const askButton = $<HTMLButtonElement>("send");
const stopButton = $<HTMLButtonElement>("stop");
const answer = $<HTMLParagraphElement>("answer");
const status = $<HTMLParagraphElement>("status");
const usage = $<HTMLParagraphElement>("usage");

let running: AbortController | undefined;

form.addEventListener("submit", (event) => {
  event.preventDefault();
  void ask();
});
stopButton.addEventListener("click", () =>
  running?.abort(new DOMException("stopped", "AbortError")),
);

async function ask(): Promise<void> {
  const controller = new AbortController();
  running = controller;
  askButton.disabled = true;
  stopButton.disabled = false;
  answer.textContent = "";
  usage.textContent = "";
  status.dataset.state = "streaming";
  status.textContent = "asking…";
  let id: string | undefined;
  let received = 0;
  let failure: string | undefined;
  try {
    const events = await api.post("/chat", {
      body: { prompt: prompt.value, failMidway: failMidway.checked },
      signal: controller.signal,
    });
    for await (const ev of events) {
      switch (ev.type) {
        case "start":
          id = ev.id;
          status.textContent = `streaming from ${ev.model}…`;
          break;
        case "token":
          received++;
          answer.append(ev.text);
          answer.dataset.tokens = String(received);
          break;
        case "done":
          status.dataset.state = "done";
          status.textContent = `done: ${ev.tokens} tokens (${ev.finishReason})`;
          break;
        case "error":
          failure = ev.message;
          status.dataset.state = "error";
          status.textContent = `error: ${ev.message}`;
          break;
      }
    }
  } catch (err) {
    if (controller.signal.aborted) {
      status.dataset.state = "stopped";
      status.textContent = `stopped after ${received} tokens`;
    } else {
      status.dataset.state = "error";
      // A cut after an error event: the event says why. Without one, the cut itself is the news.
      status.textContent = ProblemError.is(err)
        ? `error: ${err.problem.detail ?? err.problem.title}`
        : StreamError.is(err)
          ? `error: ${failure ?? "the connection to the server was lost"}; the answer is incomplete`
          : `error: ${String(err)}`;
    }
  } finally {
    running = undefined;
    askButton.disabled = false;
    stopButton.disabled = true;
  }
  if (id !== undefined && controller.signal.aborted) await showUsage(id);
}

/** Asks the gateway what the model spent, once the model has seen the abort. */
async function showUsage(id: string): Promise<void> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const u = await api.get("/chat/:id/usage", { params: { id } });
    if (u.state !== "running") {
      usage.dataset.afterAbort = String(u.generatedAfterAbort);
      usage.dataset.generated = String(u.generated);
      usage.textContent =
        `The model generated ${u.generated} of ${u.planned} tokens and stopped ` +
        `${u.upstreamStoppedAfterMs === null ? "?" : u.upstreamStoppedAfterMs.toFixed(1)} ms after ` +
        `the gateway lost this page; tokens generated after the abort: ${u.generatedAfterAbort}.`;
      return;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  usage.textContent = "The model is still generating.";
}
