/**
 * The live chart, in the browser: follows the `ticks` channel through the typed client. The server
 * ends each connection after 15 ticks; the client reconnects with `Last-Event-ID` after the
 * channel's `retry:` and the channel replays what it missed, so the line never breaks. A gap (the
 * history no longer holds the last tick drawn) arrives as a signal, and starts a new stretch of
 * line. Bundled by assets.ts; `ShowcaseApp` is a type, erased from the bundle.
 */
import { client } from "../../../src/client/index.ts";
import type { ShowcaseApp } from "../app.ts";

const api = client<ShowcaseApp>(location.origin);

const $ = (id: string) => document.getElementById(id)!;
const state = $("state");
const line = $("line");
const points: (number | null)[] = [];
// What the chart has drawn, for the curious (and the showcase's browser tests): the ids of the
// ticks, the connections that delivered ticks, and the gaps told.
const chart = { ids: [] as string[], opened: 0, gaps: 0 };
(window as unknown as { chart: typeof chart }).chart = chart;

function draw(): void {
  if (points.length > 120) points.splice(0, points.length - 120);
  let d = "";
  let x = 600 - (points.length - 1) * 5;
  for (const v of points) {
    if (v !== null) d += `${x},${(195 - v * 1.9).toFixed(1)} `;
    x += 5;
  }
  line.setAttribute("points", d);
  $("count").textContent = String(chart.ids.length);
  $("gaps").textContent = String(chart.gaps);
  $("reconnects").textContent = String(Math.max(0, chart.opened - 1));
}

function opened(): void {
  chart.opened++;
  state.textContent = "connected";
  draw();
}

/**
 * The client resumes by itself; this loop only opens the stream again when it could not (the
 * server unreachable when the page opened, or a refusal), from the last tick drawn.
 */
async function follow(): Promise<void> {
  for (;;) {
    let reconnecting = false;
    try {
      const ticks = await api.get("/live/events", {
        lastEventId: chart.ids.at(-1),
        resume: {
          maxDelay: 5000,
          onReconnect: () => {
            reconnecting = true;
            state.textContent = "reconnecting…";
          },
        },
      });
      opened();
      for await (const ev of ticks) {
        if (reconnecting) {
          reconnecting = false;
          opened();
        }
        if (ev.gap) {
          chart.gaps++;
          points.push(null);
        } else {
          chart.ids.push(ev.id!);
          points.push(ev.data.value);
        }
        draw();
      }
    } catch (err) {
      state.textContent = `${String(err)}; trying again…`;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

void follow();
