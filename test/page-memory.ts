// The static page trained on a folder while Chromium's memory and the page's thread are watched: shared by
// test/browser-memory.test.ts (CI-sized) and bench/browser-memory.ts (2,500 to 10,000 images).
import { readFileSync } from 'node:fs';
import type { CDPSession, Page } from 'playwright-core';
import { longestStall, stallsAfter, watchStalls, withPage } from './browser.js';
import { MOBILENET_H5 } from './helpers.js';

/** A process's proportional set size (MiB): its own pages, and its share of those it shares. 0 once it is gone. */
function pssMiB(pid: number): number {
  try {
    const kb = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    return kb ? Number(kb[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/** Chromium's processes as the DevTools Protocol lists them (browser, renderers, GPU, utilities), with their Pss summed. */
async function chromiumMiB(cdp: CDPSession): Promise<{ total: number; byType: Record<string, number> }> {
  const { processInfo } = (await cdp.send('SystemInfo.getProcessInfo')) as { processInfo: Array<{ type: string; id: number }> };
  const byType: Record<string, number> = {};
  for (const p of processInfo) byType[p.type] = (byType[p.type] ?? 0) + pssMiB(p.id);
  return { total: Object.values(byType).reduce((a, b) => a + b, 0), byType };
}

export interface PageRun {
  images: number;
  /** Chromium's memory before Train was pressed, and its highest sample while training (MiB, all its processes). */
  beforeMiB: number;
  peakMiB: number;
  /** Both samples split by process type (MiB). */
  beforeByType: Record<string, number>;
  peakByType: Record<string, number>;
  samples: number;
  /** The longest the page's thread left a 20 ms timer waiting while the page trained (ms). */
  longestStallMs: number;
  /** The five longest stalls over 100 ms: how long (ms), and when each ended (s after Train was pressed). */
  stalls: Array<{ ms: number; endedAfterS: number }>;
  trainS: number;
  accuracy: number;
  log: string;
}

/**
 * Opens the page at `url` (the static build), picks MobileNet's weights and `folder`, trains (feature extraction,
 * features in the page's Origin Private File System) and samples Chromium's memory every `everyMs` until the page
 * shows its validation accuracy.
 */
export async function trainWatched(url: string, folder: string, o: { images: number; everyMs?: number; timeoutMs?: number }): Promise<PageRun> {
  return withPage(async (page: Page) => {
    const cdp = await page.context().browser()!.newBrowserCDPSession();
    await page.goto(url);
    await page.setInputFiles('#weights', MOBILENET_H5);
    await page.setInputFiles('#folder', folder);
    await watchStalls(page);
    const before = await chromiumMiB(cdp);
    let peak = before;
    let samples = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const now = await chromiumMiB(cdp);
        samples++;
        if (now.total > peak.total) peak = now;
        await new Promise((r) => setTimeout(r, o.everyMs ?? 200));
      }
    })();
    const start = performance.now();
    const clicked = (await page.evaluate(() => performance.now())) as number;
    await page.click('#train');
    try {
      await page.waitForFunction(() => document.getElementById('val-accuracy')?.textContent !== '–', undefined, { timeout: o.timeoutMs ?? 600_000 });
    } finally {
      sampling = false;
      await sampler;
    }
    const trainS = (performance.now() - start) / 1000;
    const round = (v: number) => Math.round(v);
    const rounded = (byType: Record<string, number>) => Object.fromEntries(Object.entries(byType).map(([k, v]) => [k, round(v)]));
    const stalls = (await stallsAfter(page, clicked)).slice(0, 5).map((g) => ({ ms: round(g.ms), endedAfterS: Math.round(g.endedAfterMs / 100) / 10 }));
    return {
      images: o.images,
      beforeMiB: round(before.total),
      peakMiB: round(peak.total),
      beforeByType: rounded(before.byType),
      peakByType: rounded(peak.byType),
      samples,
      longestStallMs: round(await longestStall(page)),
      stalls,
      trainS: Math.round(trainS * 10) / 10,
      accuracy: Number(await page.textContent('#val-accuracy')),
      log: (await page.textContent('#log')) ?? '',
    };
  });
}
