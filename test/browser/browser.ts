// Debian's Chromium (test/browser/install.sh puts it on the machine) driven by puppeteer-core, for the dashboard's
// browser tests: headless, 1280×800, no sandbox (the tests run as root), nothing fetched from the network but the
// 127.0.0.1 servers the tests start.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';

export function chromiumPath(): string {
  for (const p of [process.env['CHROMIUM_PATH'], '/usr/bin/chromium', '/usr/bin/chromium-browser']) if (p !== undefined && p !== '' && existsSync(p)) return p;
  try {
    return execFileSync('sh', ['-c', 'command -v chromium || command -v chromium-browser'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error('chromium is not installed: run test/browser/install.sh (npm test does)');
  }
}

export async function launchBrowser(): Promise<Browser> {
  return puppeteer.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run', '--disable-extensions', '--disable-background-networking', '--disable-component-update'],
    defaultViewport: { width: 1280, height: 800 },
  });
}

/** A new tab whose script errors and failed requests go to stderr (a blank page in a test then says why). */
export async function newPage(browser: Browser): Promise<Page> {
  const page = await browser.newPage();
  page.on('pageerror', (err) => process.stderr.write(`page error: ${err instanceof Error ? err.message : String(err)}\n`));
  page.on('console', (m) => {
    if (m.type() === 'error') process.stderr.write(`page console: ${m.text()}\n`);
  });
  return page;
}

/** The text of the first element matching `selector`, or undefined. */
export async function textOf(page: Page, selector: string): Promise<string | undefined> {
  const text = await page.evaluate(`document.querySelector(${JSON.stringify(selector)})?.textContent ?? null`);
  return typeof text === 'string' ? text : undefined;
}

/** Waits until `selector`'s text contains `text` (the page updates itself: no reload). */
export async function waitForText(page: Page, selector: string, text: string, timeoutMs = 30_000): Promise<void> {
  // Runs in the page; written as a string so the test code needs no DOM types.
  await page.waitForFunction(`[...document.querySelectorAll(${JSON.stringify(selector)})].some((e) => (e.textContent ?? '').includes(${JSON.stringify(text)}))`, { timeout: timeoutMs, polling: 100 });
}

/** Clicks an action button and the confirmation dialog's button. */
export async function clickAction(page: Page, action: string): Promise<void> {
  await page.click(`button[data-action="${action}"]`);
  await page.waitForSelector('dialog[open] button[data-confirm="yes"]');
  await page.click('dialog[open] button[data-confirm="yes"]');
}
