import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Browser } from 'puppeteer-core';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const TSX_CLI = createRequire(import.meta.url).resolve('tsx/cli');
const SCREENSHOT = join(ROOT, 'docs', 'images', 'status-page.png');

/** Debian's chromium (.ci/run installs it), or the browser CHROMIUM_PATH names. */
const CHROMIUM = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find(
  (path) => path !== undefined && path !== '' && existsSync(path),
);
/** In CI a missing browser fails the test; on a developer's machine it is skipped, and says why. */
const SKIP = CHROMIUM === undefined && process.env.CI !== 'true';
if (SKIP) {
  console.warn(
    'status page browser test skipped: no chromium (apt-get install -y chromium, or set CHROMIUM_PATH)',
  );
}

let runtime: ChildProcess | undefined;
let browser: Browser | undefined;
let output = '';
const dataDir = mkdtempSync(join(tmpdir(), 'status-page-'));

/** `npm start` with the demo pipe and its live writes, on free ports and a fresh data directory. */
function startRuntime(): void {
  runtime = spawn(
    process.execPath,
    [TSX_CLI, 'local/start.ts', '--data-dir', dataDir, '--api-port', '0', '--clickhouse-port', '0'],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const keep = (chunk: Buffer) => {
    output += String(chunk);
  };
  runtime.stdout?.on('data', keep);
  runtime.stderr?.on('data', keep);
}

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | null>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const found = await probe().catch(() => null);
    if (found !== null) return found;
    if (runtime?.exitCode !== null) break;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`${what} not seen within ${timeoutMs} ms; npm start printed:\n${output.slice(-4000)}`);
}

// biome-ignore lint/suspicious/noExplicitAny: the API's JSON, read field by field.
async function demoPipe(apiUrl: string): Promise<any> {
  const { pipes } = (await (await fetch(`${apiUrl}/pipes`)).json()) as {
    pipes: { id: string; name: string }[];
  };
  const demo = pipes.find((pipe) => pipe.name === 'demo');
  return demo ? (await fetch(`${apiUrl}/pipes/${demo.id}`)).json() : null;
}

afterAll(async () => {
  await browser?.close();
  if (runtime && runtime.exitCode === null) {
    const exited = new Promise((resolve) => runtime?.once('exit', resolve));
    runtime.kill('SIGINT');
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 30_000))]);
    if (runtime.exitCode === null) runtime.kill('SIGKILL');
  }
  rmSync(dataDir, { recursive: true, force: true });
}, 60_000);

/**
 * Through a mongos the API adds each shard's members to `source.health`: the page is given the
 * real pipe answer with two shards added (one without a primary) at its fetch, and must list them.
 */
async function expectShardsShown(browser: Browser, apiUrl: string, pipeId: string): Promise<void> {
  const page = await (await browser.createBrowserContext()).newPage();
  await page.setRequestInterception(true);
  page.on('request', (request) => {
    if (!request.url().endsWith(`/pipes/${pipeId}`)) return void request.continue();
    void fetch(request.url())
      .then((response) => response.json() as Promise<{ source: { health: Record<string, unknown> } }>)
      .then((pipe) => {
        pipe.source.health.shards = [
          { shard: 'shard0', setName: 'shard0', members: [{ name: 'h0:1', state: 'PRIMARY' }] },
          {
            shard: 'shard1',
            setName: 'rs-shard1',
            members: [
              { name: 'h1:1', state: 'NOT_OK' },
              { name: 'h1:2', state: 'SECONDARY' },
            ],
          },
        ];
        return request.respond({ status: 200, contentType: 'application/json', body: JSON.stringify(pipe) });
      });
  });
  await page.goto(`${apiUrl}/`, { waitUntil: 'load' });
  await page.waitForFunction("document.querySelectorAll('.shard').length === 2", { timeout: 30_000 });
  const shards = await page.$$eval('.shard', (nodes) =>
    nodes.map((node) => ({
      name: node.querySelector('.shard-name')?.textContent,
      bad: node.querySelectorAll('.member.bad').length,
    })),
  );
  expect(shards).toEqual([
    { name: 'shard0', bad: 0 },
    { name: 'shard1 (rs-shard1) · no primary', bad: 1 },
  ]);
  await page.close();
}

describe('the status page in headless chromium', () => {
  it.skipIf(SKIP)(
    'shows the demo pipe Running, lit in the lifecycle, its tables loaded and a lag chart with points',
    async () => {
      if (CHROMIUM === undefined) throw new Error('chromium is not installed (CI=true): .ci/run installs it');
      startRuntime();
      const apiUrl = await until(
        'the API address',
        120_000,
        async () => /^api: (http:\/\/127\.0\.0\.1:\d+)$/m.exec(output)?.[1] ?? null,
      );
      // Running with a CDC run recorded: the run's first record comes a minute into it.
      const demo = await until('the demo pipe Running with a CDC run recorded', 180_000, async () => {
        const pipe = await demoPipe(apiUrl);
        return pipe?.state === 'Running' && pipe.cdc.lastRun !== null ? pipe : null;
      });

      browser = await puppeteer.launch({
        executablePath: CHROMIUM,
        headless: true,
        // As root (CI, the dev containers) chromium runs only without its sandbox.
        args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
      });
      const page = await browser.newPage();
      const pageErrors: string[] = [];
      page.on('pageerror', (error) => pageErrors.push(String(error)));
      await page.setViewport({ width: 1280, height: 900, deviceScaleFactor: 1 });
      await page.goto(`${apiUrl}/`, { waitUntil: 'load' });

      // Predicates run in the page (the tests are compiled without the DOM's types: they are text).
      await page.waitForFunction("document.getElementById('pipe-name')?.textContent === 'demo'", {
        timeout: 30_000,
      });
      // One lag point per commit read, a commit about every 2 s: twelve points is about half a minute.
      await page.waitForFunction("document.querySelectorAll('.lag-chart .point').length >= 12", {
        timeout: 90_000,
        polling: 500,
      });

      const lit = await page.$$eval('.lifecycle .state.lit', (nodes) =>
        nodes.map((n) => n.getAttribute('data-state')),
      );
      expect(lit).toEqual(['Running']);
      expect(await page.$eval('.pipe-list a.selected', (a) => a.textContent)).toContain('demo');
      const tables = await page.$$eval('.table-row', (rows) =>
        rows.map((row) => ({
          name: row.querySelector('.table-name .mono')?.textContent,
          done: row.querySelector('[role=progressbar]')?.getAttribute('aria-valuenow'),
        })),
      );
      expect(tables.map((table) => table.name)).toEqual([
        'shop.customers → customers',
        'shop.orders → orders',
        'shop.products → products',
      ]);
      // Loaded: the estimate is the count when the snapshot was planned, and the demo's live writes
      // (a delete now and then) can leave the copy a document or two off it.
      for (const table of tables) expect(Number(table.done)).toBeGreaterThanOrEqual(99);
      const chart = await page.$eval('.lag-chart', (svg) => ({
        points: svg.querySelectorAll('.point').length,
        line: svg.querySelector('.line')?.getAttribute('d') ?? '',
      }));
      expect(chart.points).toBeGreaterThanOrEqual(12);
      expect(chart.line.split('L').length).toBe(chart.points);
      expect(await page.$$eval('.rate-chart .point', (points) => points.length)).toBeGreaterThanOrEqual(1);
      // The run record came with a recorded sample: the API's CDC history, drawn as larger points.
      const recorded = (await (await fetch(`${apiUrl}/pipes/${demo.id}/cdc-history`)).json()) as {
        samples: { lagMs: number | null }[];
      };
      expect(recorded.samples.length).toBeGreaterThanOrEqual(1);
      expect(
        await page.$$eval('.rate-chart .point.recorded', (points) => points.length),
      ).toBeGreaterThanOrEqual(1);
      // A tab opened now, with nothing sampled in it (its own sessionStorage), draws that history at once.
      const fresh = await (await browser.createBrowserContext()).newPage();
      await fresh.goto(`${apiUrl}/`, { waitUntil: 'load' });
      await fresh.waitForFunction("document.getElementById('pipe-name')?.textContent === 'demo'", {
        timeout: 30_000,
      });
      const freshRate = await fresh.$$eval('.rate-chart .point.recorded', (points) => points.length);
      expect(freshRate).toBeGreaterThanOrEqual(recorded.samples.length);
      const withLag = recorded.samples.filter((sample) => sample.lagMs !== null).length;
      expect(
        await fresh.$$eval('.lag-chart .point.recorded', (points) => points.length),
      ).toBeGreaterThanOrEqual(withLag);
      await fresh.close();
      expect(await page.$$eval('.member', (members) => members.length)).toBe(3);
      expect(await page.$$eval('.shard', (shards) => shards.length)).toBe(0);
      expect(await page.$eval('#problem', (problem) => problem.hidden)).toBe(true);
      expect(pageErrors).toEqual([]);
      await expectShardsShown(browser, apiUrl, demo.id);

      mkdirSync(join(ROOT, 'docs', 'images'), { recursive: true });
      await page.screenshot({ path: SCREENSHOT, fullPage: true });
    },
    420_000,
  );
});
