/**
 * The webview as VS Code hosts it: the panel's HTML (webviewHtml, strict CSP) with a stand-in for
 * acquireVsCodeApi, messages from the host posted to the window. Checks the ready handshake, batches
 * out of time order, malformed events, openSource on click, toolbar commands, keyboard zoom, and
 * that zoom and selection survive a reload through setState/getState.
 */
import * as assert from 'assert';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import type { Page } from 'playwright-core';
import type { ToWebview, TraceEvent } from '../../protocol';
import { withPanelCap } from '../../extension/panelMessages';
import { webviewHtml } from '../../extension/webviewHtml';
import { ARTIFACTS, Browser, chromiumMissing, drawnSummary, screenshot } from './browser';
import { buildWebview, DIST } from './build';


const P1 = 4000, P2 = 4100;
const LOCK = P1 * 2 ** 22 + 1, CHAN = P1 * 2 ** 22 + 2, CORR = P1 * 2 ** 22 + 3;

function trace(): { first: TraceEvent[]; second: TraceEvent[] } {
  const first: TraceEvent[] = [
    // the child's batch arrives first, with the receive of a message not yet sent as far as we know
    { k: 'process.start', ph: 'i', ts: 100, pid: P2, tid: P2, a: { ppid: P1, name: 'child', method: 'spawn' } },
    { k: 'msg.recv', ph: 'i', ts: 9_000, pid: P2, tid: P2, obj: CHAN, corr: CORR, a: { preview: "'job'" } },
    { k: 'process.exit', ph: 'i', ts: 9_500, pid: P2, tid: P2, a: { code: 0 } },
  ];
  const second: TraceEvent[] = [
    { k: 'process.start', ph: 'i', ts: 0, pid: P1, tid: P1, a: { ppid: 1, name: 'app.py', method: 'main' } },
    { k: 'lock.create', ph: 'i', ts: 1, pid: P1, tid: P1, obj: LOCK, a: { type: 'Lock', name: 'accounts' } },
    { k: 'lock.hold', ph: 'b', ts: 500, pid: P1, tid: P1, obj: LOCK, loc: '/work/x/app.py:12' },
    { k: 'msg.send', ph: 'i', ts: 8_000, pid: P1, tid: P1, obj: CHAN, corr: CORR, a: { preview: "'job'", size: 20 } },
    { k: 'lock.hold', ph: 'e', ts: 9_600, pid: P1, tid: P1, obj: LOCK },
  ];
  return { first, second };
}

const STUB = `
  window.__posted = [];
  window.__state = window.name ? JSON.parse(window.name) : undefined;
  window.acquireVsCodeApi = () => ({
    postMessage: (m) => window.__posted.push(m),
    getState: () => window.__state,
    setState: (s) => { window.__state = s; window.name = JSON.stringify(s); },
  });`;

describe('timeline webview inside the VS Code host protocol', function () {
  this.timeout(120_000);
  let browser: Browser | undefined;
  let file = '';

  before(async function () {
    const missing = chromiumMissing();
    if (missing) {
      console.log(`    skipped: ${missing}`);
      this.skip();
    }
    await buildWebview();
    const nonce = crypto.randomBytes(16).toString('base64');
    let html = webviewHtml({ nonce, cspSource: 'file:', scriptUri: `file://${path.join(DIST, 'webview.js')}`, styleUri: `file://${path.join(DIST, 'webview.css')}`, title: 'Timeline' });
    // The stand-in API must exist before the bundle runs, and it must pass the same CSP.
    html = html.replace('<script nonce=', `<script nonce="${nonce}">${STUB}</script>\n<script nonce=`);
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    file = path.join(ARTIFACTS, 'vscode-host.html');
    fs.writeFileSync(file, html);
    browser = await Browser.launch();
  });
  after(async () => { await browser?.close(); });

  const post = (page: Page, m: unknown) => page.evaluate((msg) => window.postMessage(msg, '*'), m);
  const posted = (page: Page) => page.evaluate(() => (window as unknown as { __posted: { type: string }[] }).__posted);

  async function replay(page: Page) {
    await page.waitForFunction(() => (window as unknown as { __posted: unknown[] }).__posted.length > 0);
    const t = trace();
    const msgs: ToWebview[] = [
      { type: 'reset', source: { kind: 'live', title: 'app.py' } },
      { type: 'events', events: t.first },
      { type: 'events', events: [...t.second.slice(0, 2), { k: 'no.such.kind', ph: 'i' } as unknown as TraceEvent, ...t.second.slice(2)] },
      { type: 'status', running: true, stats: { events: 8, dropped: 0, processes: 2, threads: 2, eventsPerSecond: 100 } },
      { type: 'end', exitCode: 0 },
    ];
    for (const m of msgs) await post(page, m);
    await page.waitForFunction(() => {
      const s = document.getElementById('app')?.dataset.summary;
      return s !== undefined && JSON.parse(s).events === 8;
    });
  }

  it('says ready first, draws batches that arrive out of order, and reports malformed events', async () => {
    const page = await browser!.context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(`file://${file}`);
    await replay(page);
    const msgs = await posted(page);
    assert.deepStrictEqual(msgs[0], { type: 'ready' });
    const s = await drawnSummary(page);
    assert.strictEqual(s.processes, 2);
    assert.deepStrictEqual(s.laneNames, ['MainThread', 'MainThread']);
    assert.ok(s.processNames[0].startsWith('app.py') && s.processNames[1].startsWith('child'), s.processNames.join());
    assert.strictEqual(s.arrowKinds.message, 1, 'the receive that came first is paired once the send arrives');
    assert.strictEqual(s.states.hold, 1);
    assert.match((await page.textContent('.banner'))!, /1 malformed event/);
    assert.deepStrictEqual(errors, []);
    await page.close();
  });

  it('clicking a slice opens its source and highlights its lock; toolbar buttons send commands', async () => {
    const page = await browser!.context.newPage();
    await page.goto(`file://${file}`);
    await replay(page);
    const box = (await page.locator('.viewport canvas').boundingBox())!;
    const GUTTER = (await drawnSummary(page)).layout.gutter;   // the plot starts right of the lane names
    assert.strictEqual(GUTTER, 200, 'a wide panel keeps the full lane-name column');
    // the process header (20 px) then the main thread's first row; the hold spans most of the run
    await page.mouse.click(box.x + GUTTER + (box.width - GUTTER) / 2, box.y + 20 + 8);
    await page.waitForFunction(() => (window as unknown as { __posted: { type: string }[] }).__posted.some((m) => m.type === 'openSource'));
    const open = (await posted(page)).find((m) => m.type === 'openSource');
    assert.deepStrictEqual(open, { type: 'openSource', file: '/work/x/app.py', line: 12 });
    // The drawn summary is published by the next frame's draw, which may come after the message.
    await page.waitForFunction(() => {
      const json = document.getElementById('app')?.dataset.summary;
      return json !== undefined && JSON.parse(json).selected !== null;
    });
    const s = await drawnSummary(page);
    assert.strictEqual(s.selected, 'interval');
    assert.strictEqual(s.lock, LOCK);
    assert.match((await page.textContent('.details'))!, /hold lock accounts/);
    await page.click('button:has-text("Save trace")');
    await page.click('button:has-text("Stop")');
    const commands = (await posted(page)).filter((m) => m.type === 'command');
    assert.deepStrictEqual(commands, [{ type: 'command', command: 'saveTrace' }, { type: 'command', command: 'stopTrace' }]);
    await screenshot(page, 'vscode-host');
    await page.close();
  });

  it('reveals what the host asks for: lanes at a source line, a lock by name, the deadlock', async () => {
    const page = await browser!.context.newPage();
    await page.goto(`file://${file}`);
    await replay(page);
    await post(page, { type: 'events', events: [
      { k: 'deadlock', ph: 'i', ts: 9_700, pid: P1, tid: P1, a: { reason: 'cycle', threads: [
        { pid: P1, tid: P1, name: 'MainThread', waitingFor: LOCK, holding: [], stack: ['/work/x/app.py:12 in main'] },
      ] } },
    ] });
    await post(page, { type: 'reveal', query: { loc: '/work/x/app.py:12' } });
    await page.waitForFunction(() => JSON.parse(document.getElementById('app')!.dataset.summary!).highlighted.length > 0);
    assert.deepStrictEqual((await drawnSummary(page)).highlighted, [`${P1}/${P1}`]);
    await post(page, { type: 'reveal', query: { names: ['accounts'] } });
    await page.waitForFunction(() => JSON.parse(document.getElementById('app')!.dataset.summary!).lock !== null);
    assert.strictEqual((await drawnSummary(page)).lock, LOCK);
    await post(page, { type: 'reveal', query: { kind: 'deadlock' } });
    await page.waitForFunction(() => JSON.parse(document.getElementById('app')!.dataset.summary!).selected === 'marker');
    const details = (await page.textContent('.details'))!;
    assert.match(details, /Deadlock/);
    assert.match(details, /waits for accounts/);
    assert.match(details, /\/work\/x\/app\.py:12 in main/);
    // a stack line opens its source
    await page.click('.details pre.stack a');
    await page.waitForFunction(() => (window as unknown as { __posted: { type: string; line?: number }[] }).__posted.some((m) => m.type === 'openSource' && m.line === 12));
    await page.close();
  });

  it('zooms with W/S, pans with A/D, and keeps zoom and selection across a reload', async () => {
    const page = await browser!.context.newPage();
    await page.goto(`file://${file}`);
    await replay(page);
    const { window: before, layout: { gutter: GUTTER } } = await drawnSummary(page);
    const box = (await page.locator('.viewport canvas').boundingBox())!;
    await page.mouse.click(box.x + GUTTER + (box.width - GUTTER) / 2, box.y + 20 + 8);
    const windowNow = async () => (await drawnSummary(page)).window;
    const waitWindowChange = (from: [number, number]) => page.waitForFunction((w) => {
      const s = JSON.parse(document.getElementById('app')!.dataset.summary!);
      return s.window[0] !== w[0] || s.window[1] !== w[1];
    }, from);
    await page.keyboard.press('w');
    await waitWindowChange(before);
    const zoomed = await windowNow();
    assert.ok(zoomed[1] - zoomed[0] < (before[1] - before[0]) * 0.85, `zoomed in: ${zoomed} vs ${before}`);
    await page.keyboard.press('d');
    await waitWindowChange(zoomed);
    const panned = await windowNow();
    assert.ok(panned[0] > zoomed[0] && Math.abs((panned[1] - panned[0]) - (zoomed[1] - zoomed[0])) < 1e-6 * (zoomed[1] - zoomed[0]), 'panned right, same span');
    // the wheel zooms too (d3-zoom), around the pointer
    await page.mouse.move(box.x + GUTTER + 100, box.y + 30);
    await page.mouse.wheel(0, -300);
    await waitWindowChange(panned);
    const wheeled = await windowNow();
    assert.ok(wheeled[1] - wheeled[0] < panned[1] - panned[0]);
    await page.waitForFunction((w) => {
      const st = (window as unknown as { __state?: { window?: [number, number]; selected?: unknown } }).__state;
      return !!st?.window && Math.abs(st.window[0] - w[0]) < 1e-6 && !!st.selected;
    }, wheeled);

    await page.reload();
    await replay(page);
    const after = await drawnSummary(page);
    assert.ok(Math.abs(after.window[0] - wheeled[0]) < 1e-6 && Math.abs(after.window[1] - wheeled[1]) < 1e-6, `restored ${after.window} vs ${wheeled}`);
    assert.strictEqual(after.selected, 'interval');
    await page.keyboard.press('0');
    await waitWindowChange(after.window);
    const fitted = await windowNow();
    assert.ok(fitted[1] - fitted[0] > wheeled[1] - wheeled[0], 'fit all shows more again');
    await page.close();
  });

  it('keeps a selected arrow across a reload (saved by both of its ends)', async () => {
    const page = await browser!.context.newPage();
    await page.goto(`file://${file}`);
    await replay(page);
    type Located = { clientX: number; clientY: number };
    const spot = await page.evaluate(() => (window as unknown as { __interleaveTest: { locate(k: string): unknown } }).__interleaveTest.locate('arrow:message')) as Located | undefined;
    assert.ok(spot, 'the message arrow is on screen');
    await page.mouse.click(spot.clientX, spot.clientY);
    await page.waitForFunction(() => JSON.parse(document.getElementById('app')!.dataset.summary!).selected === 'arrow');
    const saved = await page.waitForFunction(() => {
      const st = (window as unknown as { __state?: { selected?: { to?: unknown } } }).__state;
      return st?.selected?.to ? st.selected : undefined;
    });
    assert.deepStrictEqual(await saved.jsonValue(), { lane: `${P1}/${P1}`, ts: 8_000, to: { lane: `${P2}/${P2}`, ts: 9_000 } });
    await page.reload();
    await replay(page);
    await page.waitForFunction(() => JSON.parse(document.getElementById('app')!.dataset.summary!).selected === 'arrow');
    assert.match((await page.textContent('.details'))!, /'job'/);
    await page.close();
  });

  it("bounds its detail at the host's cap (interleave.maxEventsInPanel), carried by the panel's reset", async () => {
    const CAP = 10_000;
    // What TimelinePanel posts for a trace whose store cap is CAP (an opened file's stale cap is replaced).
    const reset = withPanelCap({ type: 'reset', source: { kind: 'file', title: 'big.json' }, metadata: { maxEventsInPanel: 50, exitCode: 0 } }, CAP);
    assert.deepStrictEqual(reset, { type: 'reset', source: { kind: 'file', title: 'big.json' }, metadata: { maxEventsInPanel: CAP, exitCode: 0 } });
    assert.strictEqual(withPanelCap({ type: 'warning', message: 'x' }, CAP).type, 'warning', 'other messages pass unchanged');
    const holds: TraceEvent[] = [{ k: 'process.start', ph: 'i', ts: 0, pid: P1, tid: P1, a: { ppid: 1, name: 'big.py' } }];
    for (let i = 0; i < CAP + 2_000; i++) holds.push({ k: 'lock.hold', ph: 'X', ts: 10 + i * 20, dur: 10, pid: P1, tid: P1, obj: LOCK });
    const load = async (first: ToWebview) => {
      const page = await browser!.context.newPage();
      await page.goto(`file://${file}`);
      await page.waitForFunction(() => (window as unknown as { __posted: unknown[] }).__posted.length > 0);
      await post(page, first);
      await post(page, { type: 'events', events: holds });
      await page.waitForFunction((n) => { const s = document.getElementById('app')?.dataset.summary; return !!s && JSON.parse(s).events === n; }, holds.length);
      return { page, summary: await drawnSummary(page) };
    };
    const capped = await load(reset);
    assert.strictEqual(capped.summary.maxEvents, CAP);
    assert.ok(capped.summary.folded > 0 && capped.summary.folded <= holds.length - CAP + 1, `folded ${capped.summary.folded}`);
    assert.match((await capped.page.textContent('.banner'))!, /More than 10,000 events/);
    await capped.page.close();
    // The same events after a reset without the host's cap: the webview's own default keeps them all.
    const plain = await load({ type: 'reset', source: { kind: 'file', title: 'big.json' } });
    assert.ok(plain.summary.maxEvents > holds.length);
    assert.strictEqual(plain.summary.folded, 0);
    await plain.page.close();
  });

  it('zooms to a range shift+dragged on the plot or dragged on the time axis; Esc cancels a range', async () => {
    const page = await browser!.context.newPage();
    await page.goto(`file://${file}`);
    await replay(page);
    const summary = () => drawnSummary(page);
    const waitWindowChange = (from: [number, number]) => page.waitForFunction((w) => {
      const s = JSON.parse(document.getElementById('app')!.dataset.summary!);
      return s.window[0] !== w[0] || s.window[1] !== w[1];
    }, from);
    const box = (await page.locator('.viewport canvas').boundingBox())!;
    const { window: w0, layout: { gutter } } = await summary();
    const plotW = box.width - gutter;
    const timeAt = (w: [number, number], x: number) => w[0] + ((x - gutter) / plotW) * (w[1] - w[0]);
    const near = (a: number, b: number, w: [number, number]) => Math.abs(a - b) <= 1.5 * (w[1] - w[0]) / plotW;
    const opens = async () => (await posted(page)).filter((m) => m.type === 'openSource').length;
    // Over the lock hold on the main thread: a plain click here would select it and open its source.
    const y = box.y + 20 + 8;
    const xa = gutter + plotW * 0.25, xb = gutter + plotW * 0.55;

    await page.keyboard.down('Shift');
    await page.mouse.move(box.x + xa, y);
    await page.mouse.down();
    await page.mouse.move(box.x + xb, y, { steps: 6 });
    assert.strictEqual(await page.getAttribute('.brush-band', 'display'), null, 'the range is shown while dragging');
    await page.mouse.up();
    await page.keyboard.up('Shift');
    await waitWindowChange(w0);
    const w1 = (await summary()).window;
    assert.ok(near(w1[0], timeAt(w0, xa), w0) && near(w1[1], timeAt(w0, xb), w0), `zoomed to ${w1}, expected ${timeAt(w0, xa)}..${timeAt(w0, xb)}`);
    assert.strictEqual((await summary()).selected, null, 'the drag selected nothing');
    assert.strictEqual(await opens(), 0, 'and opened no source');
    assert.strictEqual(await page.getAttribute('.brush-band', 'display'), 'none');

    // Esc during a shift+drag: no zoom. The next key's zoom starts from the unchanged window.
    await page.keyboard.down('Shift');
    await page.mouse.move(box.x + xa, y);
    await page.mouse.down();
    await page.mouse.move(box.x + xb, y, { steps: 6 });
    await page.keyboard.press('Escape');
    assert.strictEqual(await page.getAttribute('.brush-band', 'display'), 'none', 'Esc removes the range');
    await page.mouse.up();
    await page.keyboard.up('Shift');
    await page.keyboard.press('w');
    await waitWindowChange(w1);
    const w2 = (await summary()).window;
    assert.ok(Math.abs((w2[1] - w2[0]) - 0.8 * (w1[1] - w1[0])) < 1e-6 * (w1[1] - w1[0]), `W zoomed from the window the cancelled range left alone: ${w2} vs ${w1}`);
    assert.strictEqual(await opens(), 0);

    // A plain drag on the time axis brushes a range too.
    const axis = (await page.locator('svg.axis').boundingBox())!;
    await page.mouse.move(axis.x + gutter + plotW * 0.1, axis.y + axis.height / 2);
    await page.mouse.down();
    await page.mouse.move(axis.x + gutter + plotW * 0.3, axis.y + axis.height / 2, { steps: 6 });
    await page.mouse.up();
    await waitWindowChange(w2);
    const w3 = (await summary()).window;
    assert.ok(near(w3[0], timeAt(w2, gutter + plotW * 0.1), w2) && near(w3[1], timeAt(w2, gutter + plotW * 0.3), w2), `axis range ${w3}`);
    await page.close();
  });

  describe('in a half-width editor panel (560 × 700)', () => {
    const LONG = 'a-worker-thread-with-a-name-much-longer-than-the-column';
    const state = (page: Page) => page.evaluate(() => (window as unknown as { __state?: { sidePane?: { open?: boolean; width?: number } } }).__state);
    const sideWidth = async (page: Page) => (await drawnSummary(page)).layout.side;

    async function openNarrow(): Promise<Page> {
      const page = await browser!.context.newPage();
      await page.setViewportSize({ width: 560, height: 700 });
      await page.goto(`file://${file}`);
      await replay(page);
      // a thread whose name cannot fit the narrow lane-name column
      await post(page, { type: 'events', events: [
        { k: 'thread.run', ph: 'b', ts: 200, pid: P1, tid: P1 + 1, a: { name: LONG, daemon: false, kind: 'thread' } },
        { k: 'thread.run', ph: 'e', ts: 9_000, pid: P1, tid: P1 + 1 },
      ] });
      await page.waitForFunction((n) => JSON.parse(document.getElementById('app')!.dataset.summary!).laneNames.includes(n), LONG);
      return page;
    }

    it('collapses the details pane and narrows the lane names so the timeline gets the width; the toolbar wraps', async () => {
      const page = await openNarrow();
      const s = await drawnSummary(page);
      assert.strictEqual(s.layout.panel, 560);
      assert.strictEqual(s.layout.side, 0, 'collapsed by default below 900 px');
      assert.ok(!(await page.isVisible('.side')));
      assert.ok(s.layout.canvas >= 0.95 * s.layout.panel, `canvas ${s.layout.canvas} of ${s.layout.panel} px`);
      assert.ok(s.layout.gutter < 150 && s.layout.gutter >= 96, `lane-name column ${s.layout.gutter} px`);
      assert.ok(s.layout.canvas - s.layout.gutter >= 0.75 * s.layout.panel, 'the plot itself gets most of the panel');
      // Nothing sticks out sideways: every toolbar control is on screen, the page does not scroll horizontally.
      const boxes = await page.locator('.toolbar button, .toolbar input').evaluateAll((els) => els.map((e) => {
        const r = e.getBoundingClientRect();
        return { text: e.textContent || e.getAttribute('aria-label'), left: r.left, right: r.right, w: r.width };
      }));
      assert.ok(boxes.length >= 10, `${boxes.length} toolbar controls`);
      for (const b of boxes) assert.ok(b.left >= 0 && b.right <= 560 && b.w > 0, `${b.text} at ${b.left}..${b.right}`);
      assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth));
      // The long name is cut on the canvas; hovering it shows it whole.
      const box = (await page.locator('.viewport canvas').boundingBox())!;
      const row = await page.evaluate((n) => {
        const app = (window as unknown as { interleave: { layout: { rows: { label: string; y: number }[] } } }).interleave;
        return app.layout.rows.find((r) => r.label === n)?.y;
      }, LONG);
      assert.ok(row !== undefined, 'the long-named lane has a row');
      await page.mouse.move(box.x + 30, box.y + row + 8);
      await page.waitForSelector('.tooltip:not([hidden])');
      assert.match((await page.textContent('.tooltip'))!, new RegExp(LONG));
      await screenshot(page, 'narrow-collapsed');
      await page.close();
    });

    it('opens the pane when an item is selected, closes it again, keeps the choice across a reload, and resizes it', async () => {
      const page = await openNarrow();
      const { layout: { gutter } } = await drawnSummary(page);
      const box = (await page.locator('.viewport canvas').boundingBox())!;
      // the hold on the main thread, in the middle of the plot
      await page.mouse.click(box.x + gutter + (box.width - gutter) / 2, box.y + 20 + 8);
      await page.waitForFunction(() => JSON.parse(document.getElementById('app')!.dataset.summary!).layout.side > 0);
      const opened = await drawnSummary(page);
      assert.strictEqual(opened.selected, 'interval');
      assert.ok(await page.isVisible('.side'));
      assert.match((await page.textContent('.details'))!, /hold lock accounts/);
      assert.strictEqual(await page.getAttribute('.toolbar .pane-toggle', 'aria-pressed'), 'true');
      // the pane takes part of the panel, the timeline keeps a usable part (and redraws at its new width)
      await page.waitForFunction(() => { const l = JSON.parse(document.getElementById('app')!.dataset.summary!).layout; return l.canvas + l.side < l.panel; });
      const l = (await drawnSummary(page)).layout;
      assert.ok(l.side >= 180 && l.side <= 0.5 * l.panel && l.canvas >= 220, JSON.stringify(l));
      await screenshot(page, 'narrow-selected');

      await page.click('.tabs .close');
      await page.waitForFunction(() => JSON.parse(document.getElementById('app')!.dataset.summary!).layout.side === 0);
      assert.ok(!(await page.isVisible('.side')));
      assert.strictEqual((await drawnSummary(page)).selected, 'interval', 'closing the pane keeps the selection');
      await page.waitForFunction(() => (window as unknown as { __state?: { sidePane?: { open?: boolean } } }).__state?.sidePane?.open === false);

      await page.reload();
      await replay(page);
      assert.strictEqual(await sideWidth(page), 0, 'still collapsed after a reload');
      await page.click('.toolbar .pane-toggle');
      await page.waitForFunction(() => JSON.parse(document.getElementById('app')!.dataset.summary!).layout.side > 0);
      const before = await sideWidth(page);
      // drag the splitter 40 px to the left: the pane grows by as much
      const split = (await page.locator('.splitter').boundingBox())!;
      await page.mouse.move(split.x + split.width / 2, split.y + 100);
      await page.mouse.down();
      await page.mouse.move(split.x + split.width / 2 - 40, split.y + 100, { steps: 4 });
      await page.mouse.up();
      await page.waitForFunction((w) => JSON.parse(document.getElementById('app')!.dataset.summary!).layout.side !== w, before);
      const dragged = await sideWidth(page);
      assert.ok(Math.abs(dragged - (before + 40)) <= 1, `${before} + 40 -> ${dragged}`);
      await page.waitForFunction((w) => (window as unknown as { __state?: { sidePane?: { width?: number } } }).__state?.sidePane?.width === w, dragged);
      // the arrow keys on the splitter resize it too, but never so wide that the timeline disappears
      await page.focus('.splitter');
      await page.keyboard.press('ArrowLeft');
      assert.strictEqual(Number(await page.getAttribute('.splitter', 'aria-valuenow')), dragged + 24);
      for (let i = 0; i < 20; i++) await page.keyboard.press('ArrowLeft');
      const widest = Number(await page.getAttribute('.splitter', 'aria-valuenow'));
      await page.keyboard.press('ArrowLeft');
      assert.strictEqual(Number(await page.getAttribute('.splitter', 'aria-valuenow')), widest, 'stops at its widest');
      await page.waitForFunction((w) => JSON.parse(document.getElementById('app')!.dataset.summary!).layout.side === w, widest);
      const timelineW = await page.evaluate(() => document.querySelector('.timeline')!.getBoundingClientRect().width);
      assert.ok(timelineW >= 220 && timelineW < 240, `the timeline keeps ${timelineW} px`);
      assert.deepStrictEqual((await state(page))?.sidePane?.open, true);
      await page.close();
    });
  });
});
