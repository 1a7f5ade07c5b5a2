import { setTimeout as sleep } from "node:timers/promises";
import { z } from "zod";
import { App, HTTPError, StreamingResponse } from "../../src/index.ts";

/** What the fake model records of one generation, for the gateway's page and the tests. */
export interface Generation {
  readonly id: string;
  /** Tokens the model has produced so far. */
  generated: number;
  /** Tokens in the whole answer, had nobody stopped it. */
  readonly planned: number;
  /** When the model saw its request go away (epoch ms, sub-millisecond), if it did. */
  abortedAt: number | undefined;
  /** Tokens produced after that: a model that keeps generating for nobody wastes them. */
  generatedAfterAbort: number;
  /** How it ended: still running, done, aborted by the client, or failed on purpose. */
  state: "running" | "done" | "aborted" | "failed";
}

/** Options of the fake model. */
export interface ModelOptions {
  /** Milliseconds between two tokens (default 30): a steady rate, like a real model's decoding. */
  tokenInterval?: number;
}

const ChatRequest = z.object({
  model: z.string().default("sluice-fake-1"),
  messages: z
    .array(z.object({ role: z.enum(["system", "user", "assistant"]), content: z.string() }))
    .min(1),
  stream: z.boolean().optional(),
  /** Not OpenAI's: fail (cut the connection) after this many tokens, to show an upstream failure. */
  fail_after_tokens: z.number().int().min(0).optional(),
});

const LOREM =
  "Streaming is a promise about time: each token leaves the moment it exists, the reader's pace sets the writer's, and when the reader goes away the writer stops at once instead of talking to nobody. A gateway keeps that promise only if it passes the reader's departure upstream in the same breath: one abort signal, handed from the request to the fetch, so that the model stops generating tokens that no one will read. ";

/** The answer to a prompt: a canned text, long enough to stop halfway, with the prompt echoed. */
function answerTo(prompt: string): string[] {
  const text = `You asked: "${prompt.slice(0, 200)}". ${LOREM}${LOREM}`;
  return text.match(/\S+\s*/g) ?? [];
}

/** Epoch milliseconds with sub-millisecond precision, comparable across processes on one machine. */
export const now = (): number => performance.timeOrigin + performance.now();

/**
 * A small fake of an OpenAI-compatible model server, for the showcase's LLM gateway: `POST
 * /v1/chat/completions` with `stream: true` answers `text/event-stream` chunks
 * (`chat.completion.chunk`, then `data: [DONE]`), one token every `tokenInterval` ms. It counts what
 * it generates, and what it generates after its client went away (`GET /v1/generations/:id`), so
 * the page and the tests can show that a stopped answer stops upstream too.
 *
 * @example
 * const model = createModel({ tokenInterval: 30 });
 * const server = await serve(model.app, { port: 0, host: "127.0.0.1" });
 */
export function createModel(options: ModelOptions = {}): {
  app: App;
  generations: Map<string, Generation>;
} {
  const interval = options.tokenInterval ?? 30;
  const generations = new Map<string, Generation>();
  let next = 1;
  const app = new App();

  app.post("/v1/chat/completions", { body: ChatRequest }, (req) => {
    const { model, messages, fail_after_tokens: failAfter } = req.body;
    if (req.body.stream !== true) throw new HTTPError(400, "this fake model only streams");
    const prompt = messages.findLast((m) => m.role === "user")?.content ?? "";
    const tokens = answerTo(prompt);
    const gen: Generation = {
      id: `chatcmpl-${next++}`,
      generated: 0,
      planned: tokens.length,
      abortedAt: undefined,
      generatedAfterAbort: 0,
      state: "running",
    };
    generations.set(gen.id, gen);
    if (generations.size > 100) generations.delete(generations.keys().next().value!);
    const signal = req.signal;
    signal.addEventListener(
      "abort",
      () => {
        gen.abortedAt = now();
        if (gen.state === "running") gen.state = "aborted";
      },
      { once: true },
    );
    const frame = (delta: { content?: string }, finish: string | null) =>
      `data: ${JSON.stringify({
        id: gen.id,
        object: "chat.completion.chunk",
        created: Math.floor(Date.now() / 1000),
        model,
        choices: [{ index: 0, delta, finish_reason: finish }],
      })}\n\n`;
    return new StreamingResponse(
      (async function* () {
        yield frame({ role: "assistant" } as { content?: string }, null);
        for (const token of tokens) {
          // One decoding step per interval, whoever reads the tokens. The wait honours the
          // request's signal, as a real server checks for a client that left between steps.
          await sleep(interval, undefined, { signal });
          if (failAfter !== undefined && gen.generated >= failAfter) {
            gen.state = "failed";
            throw new Error("the fake model failed on purpose");
          }
          gen.generated++;
          if (gen.abortedAt !== undefined) gen.generatedAfterAbort++;
          yield frame({ content: token }, null);
        }
        gen.state = "done";
        yield frame({}, "stop");
        yield "data: [DONE]\n\n";
      })(),
      { mediaType: "text/event-stream; charset=utf-8" },
    ).setHeader("cache-control", "no-cache");
  });

  app.get("/v1/generations/:id", (req) => {
    const gen = generations.get(req.params.id);
    if (!gen) throw new HTTPError(404, `no generation ${req.params.id}`);
    return { ...gen };
  });

  return { app, generations };
}
