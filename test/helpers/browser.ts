/**
 * A headless Chromium for tests of the showcase pages: Debian's `chromium` (/usr/bin/chromium)
 * driven by playwright-core, with a fresh profile each launch and the flags this machine's closed
 * network needs. Never downloads a browser. In CI (`CI=true`) a missing Chromium is a failure;
 * elsewhere the suite is skipped with a message saying what is missing.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium } from "playwright-core";

export const CHROMIUM = "/usr/bin/chromium";

/**
 * Why browser tests cannot run here, or undefined when they can. In CI the answer is always
 * undefined: a missing Chromium must fail the run, not skip it.
 *
 * @example
 * describe("the chat page", { skip: browserMissing() }, () => { ... });
 */
export function browserMissing(): string | undefined {
  if (process.env.CI === "true" || existsSync(CHROMIUM)) return undefined;
  return `${CHROMIUM} is missing (apt-get install chromium)`;
}

/** A running headless Chromium with a fresh profile; `close()` ends it and removes the profile. */
export interface Browser {
  readonly context: BrowserContext;
  close(): Promise<void>;
}

/**
 * Launches headless Chromium with a fresh user-data directory; `args` adds flags (such as
 * `--ignore-certificate-errors-spki-list=...` for a test certificate).
 *
 * @example
 * const browser = await launchBrowser();
 * const page = await browser.context.newPage();
 * await browser.close();
 */
export async function launchBrowser(options: { args?: string[] } = {}): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), "sluice-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      // Without these, Chromium's own connections are refused by the closed network and it stalls.
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      ...(options.args ?? []),
    ],
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
