import { parseSSE } from "../../src/client/index.ts";
import { App, HTTPError, NDJSONResponse, ndjsonOf } from "../../src/index.ts";
import { now } from "./model.ts";
import { ChatBody, ChatEvent, Usage } from "./schemas.ts";

type ChatEventT = (typeof ChatEvent)["_output"];

/** Options of the gateway. */
export interface GatewayOptions {
  /** The OpenAI-compatible server to proxy (its base URL, before `/v1`); none: 503. */
  modelURL: string | undefined;
  /** The model name to ask for. */
  model?: string;
  /** The fetch to call it with (tests pass a spy). */
  fetch?: typeof fetch;
}

/** One OpenAI `chat.completion.chunk`, as much of it as the gateway reads. */
interface Chunk {
  id: string;
  model: string;
  choices: { delta: { content?: string }; finish_reason: string | null }[];
}

/**
 * The showcase's LLM gateway: `POST /chat` streams a model's answer as NDJSON events (start, each
 * token, done), proxying an OpenAI-compatible server. The request to the model carries the
 * browser's request signal, so when the browser stops reading (Stop, a closed tab) the model's
 * request is aborted in the same turn of the event loop and it stops generating. A model that
 * fails midway reaches the browser as an `error` event and a cut stream, never a quiet end.
 *
 * @example
 * app.mount("/api", createGateway({ modelURL: "http://127.0.0.1:4000" }));
 */
export function createGateway(options: GatewayOptions) {
  const { modelURL, model = "sluice-fake-1" } = options;
  const send = options.fetch ?? fetch;
  // When the gateway lost each browser (by generation id), to show how soon the model followed.
  const left = new Map<string, { at: number | undefined }>();

  return new App()
    .post(
      "/chat",
      {
        summary: "Ask the model; its answer streams as NDJSON events, token by token",
        tags: ["llm"],
        body: ChatBody,
        responses: { 200: ndjsonOf(ChatEvent) },
      },
      async (req) => {
        if (!modelURL) throw new HTTPError(503, "no model is configured (MODEL_URL)");
        const browser: { at: number | undefined } = { at: undefined };
        req.signal.addEventListener("abort", () => (browser.at = now()), { once: true });
        let upstream: Response;
        try {
          upstream = await send(`${modelURL}/v1/chat/completions`, {
            method: "POST",
            headers: { "content-type": "application/json", accept: "text/event-stream" },
            body: JSON.stringify({
              model,
              stream: true,
              messages: [{ role: "user", content: req.body.prompt }],
              ...(req.body.failMidway ? { fail_after_tokens: 12 } : {}),
            }),
            // The browser's request signal: when it aborts, so does this request, at once.
            signal: req.signal,
          });
        } catch (err) {
          if (req.signal.aborted) throw err;
          throw new HTTPError(502, "the model cannot be reached");
        }
        if (!upstream.ok || !upstream.body) {
          await upstream.body?.cancel();
          throw new HTTPError(502, `the model answered ${upstream.status}`);
        }
        return new NDJSONResponse(answer(upstream.body, browser, left), {
          // Sent before the cut, so the page can say what happened.
          onError: () => ({
            type: "error" as const,
            message: "the model's answer broke off midway",
          }),
        });
      },
    )
    .get(
      "/chat/:id/usage",
      {
        summary:
          "What the model spent on one answer, and how soon it stopped after the browser left",
        tags: ["llm"],
        responses: { 200: Usage },
      },
      async (req) => {
        if (!modelURL) throw new HTTPError(503, "no model is configured (MODEL_URL)");
        const res = await send(`${modelURL}/v1/generations/${encodeURIComponent(req.params.id)}`);
        if (res.status === 404) throw new HTTPError(404, `no answer ${req.params.id}`);
        if (!res.ok) throw new HTTPError(502, `the model answered ${res.status}`);
        const gen = (await res.json()) as {
          id: string;
          state: "running" | "done" | "aborted" | "failed";
          generated: number;
          planned: number;
          generatedAfterAbort: number;
          abortedAt?: number;
        };
        const browserLeft = left.get(gen.id)?.at;
        return {
          id: gen.id,
          state: gen.state,
          generated: gen.generated,
          planned: gen.planned,
          generatedAfterAbort: gen.generatedAfterAbort,
          upstreamStoppedAfterMs:
            gen.abortedAt !== undefined && browserLeft !== undefined
              ? Math.max(0, gen.abortedAt - browserLeft)
              : null,
        };
      },
    );
}

/** The model's chunks as the gateway's events. */
async function* answer(
  body: ReadableStream<Uint8Array>,
  browser: { at: number | undefined },
  left: Map<string, { at: number | undefined }>,
): AsyncGenerator<ChatEventT> {
  let tokens = 0;
  let finish = "stop";
  let started = false;
  for await (const ev of parseSSE(body)) {
    if (ev.data === "[DONE]") {
      yield { type: "done", tokens, finishReason: finish };
      return;
    }
    const chunk = JSON.parse(ev.data) as Chunk;
    if (!started) {
      started = true;
      left.set(chunk.id, browser);
      if (left.size > 100) left.delete(left.keys().next().value!);
      yield { type: "start", id: chunk.id, model: chunk.model };
    }
    const choice = chunk.choices[0];
    if (choice?.delta.content) {
      tokens++;
      yield { type: "token", text: choice.delta.content };
    }
    if (choice?.finish_reason) finish = choice.finish_reason;
  }
  // The model's stream ended without [DONE]: an answer cut short, which must not look finished.
  throw new Error("the model's stream ended without [DONE]");
}
