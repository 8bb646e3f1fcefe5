/**
 * Headless Debian Chromium through playwright-core (never a downloaded browser), with a fresh
 * profile and config dir per launch, and helpers to open a report and read what it drew.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { chromium, BrowserContext, Page } from 'playwright-core';
import { reportHtml } from '../../extension/report';
import { buildWebview, DIST, ROOT } from './build';

export const CHROMIUM = '/usr/bin/chromium';
export const ARTIFACTS = path.join(ROOT, '.test-artifacts', 'browser');

export interface DrawnSummary {
  lanes: number;
  processes: number;
  taskLanes: number;
  intervals: number;
  states: Record<string, number>;
  arrows: number;
  arrowKinds: Record<string, number>;
  counters: number;
  processNames: string[];
  markers: number;
  deadlocks: number;
  exceptions: number;
  instants: number;
  aggregates: number;
  events: number;
  folded: number;
  /** The model's detail budget (interleave.maxEventsInPanel when the host sent it). */
  maxEvents: number;
  warnings: number;
  laneNames: string[];
  drawn: { lanes: number; intervals: number; arrows: number; instants: number; markers: number; aggregates: number };
  window: [number, number];
  selected: string | null;
  lock: number | null;
  highlighted: string[];
  search: string;
  /** CSS px: the webview, the timeline canvas, its lane-name column, the details pane (0 when collapsed). */
  layout: { panel: number; canvas: number; gutter: number; side: number };
}

export function chromiumMissing(): string | undefined {
  return fs.existsSync(CHROMIUM) ? undefined : `${CHROMIUM} is not installed (apt-get install chromium)`;
}

export class Browser {
  private constructor(readonly context: BrowserContext, private readonly dir: string) {}

  static async launch(): Promise<Browser> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'interleave-browser-'));
    const context = await chromium.launchPersistentContext(path.join(dir, 'profile'), {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      env: { ...process.env, XDG_CONFIG_HOME: path.join(dir, 'config'), HOME: process.env.HOME ?? dir },
      viewport: { width: 1400, height: 900 },
    });
    return new Browser(context, dir);
  }

  async close(): Promise<void> {
    await this.context.close();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Writes a report of `traceJson` next to the artifacts and returns its path. */
export async function writeReport(name: string, traceJson: string): Promise<string> {
  await buildWebview();
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const html = reportHtml({
    traceJson,
    webviewJs: fs.readFileSync(path.join(DIST, 'webview.js'), 'utf8'),
    webviewCss: fs.readFileSync(path.join(DIST, 'webview.css'), 'utf8'),
    title: `Interleave — ${name}`,
  });
  const file = path.join(ARTIFACTS, `${name}.html`);
  fs.writeFileSync(file, html);
  return file;
}

export interface Opened {
  page: Page;
  summary: DrawnSummary;
  errors: string[];
  requests: string[];
}

/** Opens a report via file://, waits for data-state="ready" and returns what it drew. */
export async function openReport(b: Browser, file: string): Promise<Opened> {
  const page = await b.context.newPage();
  const errors: string[] = [];
  const requests: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('request', (r) => { if (!r.url().startsWith('file://') && !r.url().startsWith('data:')) requests.push(r.url()); });
  await page.goto(`file://${file}`);
  await page.waitForSelector('#app[data-state="ready"]', { timeout: 60_000 });
  return { page, summary: await drawnSummary(page), errors, requests };
}

export async function drawnSummary(page: Page): Promise<DrawnSummary> {
  const json = await page.getAttribute('#app', 'data-summary');
  if (!json) throw new Error('the timeline published no data-summary');
  return JSON.parse(json) as DrawnSummary;
}

export async function screenshot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file });
  return file;
}
