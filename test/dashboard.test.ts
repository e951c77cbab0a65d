import { afterAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { MARINA, startServerProcess, tempDir } from './helpers/cli.js';
import { reaper } from './helpers/reap.js';

/**
 * The live dashboard in a real browser: `marina server` and three `marina client` processes run a few
 * seconds; headless Chromium opens `/` before the clients join and must see the charts fill in while the
 * run goes on, with nothing loaded from outside the server (the product works offline).
 */
const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(import.meta.dirname, '..', 'test-artifacts');
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) {
  // Never a silent pass: say why the browser test did not run.
  console.warn(`dashboard.test.ts: SKIPPED, ${CHROMIUM} is absent (install Debian's chromium: apt-get install -y chromium)`);
}

const CLIENTS = 3;
const ROUNDS = 1500;
/** Large enough that the run lasts several seconds on two cores, so the page is seen updating mid-run. */
const DIM = 4096;

const procs = reaper('all');
let context: BrowserContext | null = null;
let profile: string | null = null;

afterAll(async () => {
  await context?.close().catch(() => {});
  if (profile) rmSync(profile, { recursive: true, force: true });
});

describe.skipIf(!haveChromium)('dashboard', () => {
  it('shows the run live in headless Chromium, served offline from the server itself', async () => {
    const server = procs.add(await startServerProcess(['--clients', String(CLIENTS), '--dim', String(DIM), '--rounds', String(ROUNDS), '--stop-at-target', 'false', '--linger', '5', '--json']));
    const base = `http://127.0.0.1:${server.port}`;
    profile = tempDir('chromium-profile');
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1400, height: 1000 },
    });
    // Anything not served by our server is refused and remembered: the dashboard must need no CDN.
    const foreign: string[] = [];
    await context.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith(base) || url.startsWith(base.replace('http', 'ws'))) return route.continue();
      foreign.push(url);
      return route.abort();
    });
    const page = context.pages()[0] ?? (await context.newPage());
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });

    await page.goto(`${base}/`, { timeout: 20_000 });
    await page.waitForSelector('body[data-phase="waiting"] #run:not(:empty)', { timeout: 20_000 });
    expect(await page.locator('#config').innerText()).toContain(String(DIM));
    expect(await page.evaluate(() => Number(document.body.dataset['points']))).toBe(0);

    for (let i = 0; i < CLIENTS; i++) {
      const child = spawn(process.execPath, [MARINA, 'client', '--server', `ws://127.0.0.1:${server.port}`, '--log-level', 'warn', '--name', `dash-${i}`], { stdio: ['ignore', 'ignore', 'pipe'] });
      procs.add(child);
    }

    // Mid-run: two reads a second apart, both while the run is going, must differ.
    const read = () =>
      page.evaluate(() => ({
        phase: document.body.dataset['phase'],
        points: Number(document.body.dataset['points']),
        round: Number(document.getElementById('round')!.textContent),
        connected: document.getElementById('connected')!.textContent,
      }));
    await page.waitForFunction(() => Number(document.body.dataset['points']) > 0, null, { timeout: 30_000 });
    const first = await read();
    await page.waitForTimeout(1000);
    const second = await read();
    expect(first.phase, 'the run ended before the dashboard was read twice; make it longer').toBe('running');
    expect(second.points).toBeGreaterThan(first.points);
    expect(second.round).toBeGreaterThan(first.round);
    expect(first.connected).toBe(`${CLIENTS} / ${CLIENTS}`);
    // Four charts, each a uPlot canvas.
    expect(await page.locator('.plot canvas').count()).toBe(4);
    expect(await page.locator('#rate').innerText()).toMatch(/\/s$/);

    await page.waitForSelector('body[data-phase="finished"]', { timeout: 90_000 });
    const last = await read();
    expect(last.points).toBe(ROUNDS);
    expect(last.round).toBe(ROUNDS - 1);
    expect(await page.locator('#reason').innerText()).toContain(`all ${ROUNDS} rounds done`);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png'), fullPage: true });

    expect(foreign).toEqual([]);
    expect(errors).toEqual([]);

    // The dashboard's socket is not a client: the run saw exactly three sockets, all with a rank.
    const done = await server.exited;
    expect(done.code, done.stderr).toBe(0);
    const summary = JSON.parse(done.stdout.trim().split('\n').pop()!) as { sockets: { rank: number }[]; totals: { rounds: number } };
    expect(summary.totals.rounds).toBe(ROUNDS);
    expect(summary.sockets.map((s) => s.rank).sort()).toEqual([0, 1, 2]);
  }, 150_000);
});
