// The browser tests' setup: `transferkit ui` started as a user starts it (its own process, the printed address
// with its token), and Debian's Chromium driven by Playwright, headless.
import { type ChildProcess, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { CIFAR_DIR, CLI, ROOT, tempDir } from './helpers.js';

export const CHROMIUM = '/usr/bin/chromium';
/** Screenshots land here: CI keeps the folder as an artifact. */
export const OUTPUT = path.join(ROOT, 'test-output');
/** The describe's skip: a reason when Chromium is absent. */
export const noChromium = existsSync(CHROMIUM) ? false : `${CHROMIUM} is absent (apt-get install chromium): browser test skipped`;

/** `transferkit ui --port 0 --root ROOT` in a process of its own, and the address it prints. */
export async function startUiProcess(root: string): Promise<{ server: ChildProcess; url: string }> {
  const server = spawn(process.execPath, [CLI, 'ui', '--port', '0', '--root', root], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve) =>
    server.stdout?.on('data', (d: Buffer) => /http:\/\/\S+/.test(String(d)) && resolve(String(d).match(/http:\/\/\S+/)![0])),
  );
  return { server, url };
}

/** A fresh page of a headless Chromium, 1400×1000, closed (with the browser) when `fn` is done; `args` replace its flags. */
export async function withPage<T>(fn: (page: Page) => Promise<T>, o: { args?: string[] } = {}): Promise<T> {
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: o.args ?? ['--headless', '--no-sandbox', '--disable-gpu'] });
  try {
    return await fn(await browser.newPage({ viewport: { width: 1400, height: 1000 } }));
  } finally {
    await browser.close();
  }
}

/** `script`'s value in the page at `url` once `dir` is picked in its folder input (`#folder`). */
export const withPickedFolder = <T>(url: string, dir: string, script: string): Promise<T> =>
  withPage(async (page) => {
    await page.goto(url);
    await page.setInputFiles('#folder', dir);
    return (await page.evaluate(script)) as T;
  });

/** CIFAR-10's classes, as its test set's folders are named. */
export const CIFAR_CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];

/** CIFAR-10 test images of `classes` (the first `perClass` of each, all by default) in a folder of class folders, as a user would pick it. */
export function classFolder(classes: string[], perClass?: number): string {
  const dir = path.join(tempDir('tk-web-'), 'cifar');
  for (const c of classes) {
    mkdirSync(path.join(dir, c), { recursive: true });
    for (const f of readdirSync(path.join(CIFAR_DIR, c)).sort().slice(0, perClass)) copyFileSync(path.join(CIFAR_DIR, c, f), path.join(dir, c, f));
  }
  return dir;
}

/** Starts a 20 ms timer on the page's thread that keeps its gaps over 100 ms and the longest (read by `longestStall`, `stallsAfter`). */
export async function watchStalls(page: Page): Promise<void> {
  await page.evaluate(() => {
    const g = globalThis as unknown as { longestGap: number; gaps: Array<[number, number]> };
    let last = performance.now();
    g.longestGap = 0;
    g.gaps = [];
    setInterval(() => {
      const now = performance.now();
      g.longestGap = Math.max(g.longestGap, now - last);
      if (now - last > 100) g.gaps.push([now - last, now]);
      last = now;
    }, 20);
  });
}

/** The longest the page's thread left its timer waiting since `watchStalls` (ms). */
export const longestStall = (page: Page): Promise<number> => page.evaluate(() => (globalThis as unknown as { longestGap: number }).longestGap);

/** The page's stalls over 100 ms since `watchStalls`, longest first: how long (ms) and when each ended, `since` being the page's clock at some moment (ms after it). */
export const stallsAfter = (page: Page, since: number): Promise<Array<{ ms: number; endedAfterMs: number }>> =>
  page.evaluate(
    (t) => (globalThis as unknown as { gaps: Array<[number, number]> }).gaps.map(([ms, at]) => ({ ms, endedAfterMs: at - t })).sort((a, b) => b.ms - a.ms),
    since,
  );
