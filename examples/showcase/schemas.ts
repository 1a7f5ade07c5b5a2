/**
 * The schemas the showcase's API declares and its browser pages validate with: plain zod, no server
 * code, so a page's bundle can import them without pulling the server in.
 */
import { z } from "zod";

/** What the chat page sends: a prompt, and whether the fake model should fail midway. */
export const ChatBody = z.object({
  prompt: z.string().min(1).max(2000),
  failMidway: z.boolean().optional(),
});

/** One line of the gateway's answer: its start, each token, the end, or what went wrong. */
export const ChatEvent = z.discriminatedUnion("type", [
  z.object({ type: z.literal("start"), id: z.string(), model: z.string() }),
  z.object({ type: z.literal("token"), text: z.string() }),
  z.object({ type: z.literal("done"), tokens: z.number().int(), finishReason: z.string() }),
  z.object({ type: z.literal("error"), message: z.string() }),
]);

/** What the model spent on one answer, as the gateway reports it after the fact. */
export const Usage = z.object({
  id: z.string(),
  state: z.enum(["running", "done", "aborted", "failed"]),
  generated: z.number().int(),
  planned: z.number().int(),
  generatedAfterAbort: z.number().int(),
  /** How long after the gateway lost the browser the model saw its own request end (ms). */
  upstreamStoppedAfterMs: z.number().nullable(),
});
