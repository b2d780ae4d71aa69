import { existsSync } from 'node:fs';
import { type Browser, chromium, type Locator, type Page } from 'playwright-core';
import { chromiumPath } from '../../tools/provision';

/** Debian's `chromium` package (npm test's pretest installs it where it can), or CHROMIUM_PATH. */
export const CHROMIUM_PATH = chromiumPath();

/**
 * Headless Chromium for UI tests. Playwright gives the browser a new, empty temporary
 * `--user-data-dir` (removed on close), and each `browser.newContext()` is a separate profile
 * with empty local storage. Background networking stays off: only loopback is reachable here.
 */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM_PATH}: run \`apt-get install chromium\` or set CHROMIUM_PATH to a Chromium binary`,
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    chromiumSandbox: false, // tests run as root, where Chromium's sandbox cannot start
    timeout: 30_000,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** The visible text of `target` (a page or part of one), whitespace collapsed. */
export async function textOf(target: Page | Locator): Promise<string> {
  const locator = 'goto' in target ? target.locator('body') : target;
  return (await locator.innerText({ timeout: 1_000 })).replace(/\s+/g, ' ');
}

/** The start of the page's text, for failure messages. */
export async function pageSnippet(page: Page, max = 2_000): Promise<string> {
  const text = await textOf(page).catch((err: unknown) => `(page text unavailable: ${String(err)})`);
  return text.length > max ? `${text.slice(0, max)} …` : text;
}

/**
 * Polls the text of `target` until `accept` holds; on timeout fails naming `what`, with the
 * page's URL and text.
 */
export async function waitForText(
  target: Locator,
  what: string,
  accept: (text: string) => boolean,
  timeoutMs = 20_000,
): Promise<string> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const text = await textOf(target).catch(() => '');
    if (accept(text)) return text;
    if (Date.now() > end) {
      const page = target.page();
      throw new Error(
        `timed out after ${timeoutMs / 1000} s waiting for ${what} on ${page.url()}; page text: ${await pageSnippet(page)}`,
      );
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}
