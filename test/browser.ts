// The browser tests' setup: `transferkit ui` started as a user starts it (its own process, the printed address
// with its token), and Debian's Chromium driven by Playwright, headless.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { CLI, ROOT } from './helpers.js';

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
