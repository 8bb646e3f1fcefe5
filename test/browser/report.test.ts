/**
 * The standalone report in headless Chromium: real traces of the samples (recorded at test time by
 * the Python runtime), another tool's Chrome trace, a truncated file and a hostile one. Each test
 * asserts what the page says it drew (data-state / data-summary) and keeps a screenshot under
 * .test-artifacts/browser/.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { laneKey, readChromeText } from '../../protocol';
import { fmtDuration } from '../../webview/model';
import { Browser, chromiumMissing, openReport, screenshot, writeReport, drawnSummary } from './browser';
import { buildWebview, ROOT } from './build';
import { traceSample } from './samples';

const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'traces');

describe('timeline report in Chromium', function () {
  this.timeout(180_000);
  let browser: Browser | undefined;

  before(async function () {
    const missing = chromiumMissing();
    if (missing) {
      console.log(`    skipped: ${missing}`);
      this.skip();
    }
    await buildWebview();
    browser = await Browser.launch();
  });
  after(async () => { await browser?.close(); });

  async function show(name: string, json: string) {
    const file = await writeReport(name, json);
    const opened = await openReport(browser!, file);
    await screenshot(opened.page, name);
    assert.deepStrictEqual(opened.errors, [], 'no page errors');
    assert.deepStrictEqual(opened.requests, [], 'no network requests');
    return opened;
  }

  it('bank_lock: two worker lanes taking turns on one lock (holds and hatched waits)', async () => {
    // Full mode: default mode counts uncontended acquisitions past a per-object budget instead of drawing each.
    const { json } = traceSample('bank_lock', ['--mode', 'full']);
    const { summary, page } = await show('bank_lock', json);
    assert.ok(summary.laneNames.includes('deposit') && summary.laneNames.includes('withdraw'), summary.laneNames.join());
    assert.strictEqual(summary.processes, 1);
    // 50 rounds per thread, each round one hold of the lock
    assert.ok(summary.states.hold >= 100, `holds: ${summary.states.hold}`);
    assert.ok(summary.states.wait > 0, 'the two threads contended, so some waits were recorded');
    // each wait that ended with the lock is linked from the other worker's release that let it in
    const wakes = summary.arrowKinds.wake ?? 0;
    assert.ok(wakes > 0 && wakes <= summary.states.wait, `wake arrows ${wakes} for ${summary.states.wait} waits`);
    assert.strictEqual(summary.drawn.intervals, summary.intervals, 'fit-all draws every interval');
    await page.close();
  });

  it('filters lanes, summarises the lock, and follows the light/dark preference', async () => {
    const { json } = traceSample('bank_lock', ['--mode', 'full']);
    const { summary, page } = await show('bank_lock-panels', json);
    await page.click('button:has-text("Filter")');
    await page.locator('.popover label', { hasText: 'withdraw' }).locator('input').uncheck();
    await page.waitForFunction(() => !JSON.parse(document.getElementById('app')!.dataset.summary!).laneNames.includes('withdraw'));
    const filtered = await drawnSummary(page);
    assert.strictEqual(filtered.lanes, summary.lanes - 1);
    await page.click('.tabs button:has-text("Summary")');
    const lockRow = (await page.locator('.summary table.grid').first().locator('tr').nth(1).locator('td').allTextContents());
    assert.strictEqual(Number(lockRow[1]), summary.states.hold, `acquisitions in ${lockRow.join(' | ')}`);
    assert.ok(lockRow[6].includes('deposit') && lockRow[6].includes('withdraw'), 'both threads own the lock at times');
    // each waiting worker was let in by the other's release: hand-offs with their median wake-up time
    assert.match(lockRow[7], /^[1-9]\d* \(\d/, `hand-offs in ${lockRow.join(' | ')}`);
    const pixel = () => page.evaluate(() => Array.from(document.querySelector<HTMLCanvasElement>('.viewport canvas')!.getContext('2d')!.getImageData(3, 3, 1, 1).data.slice(0, 3)));
    await page.emulateMedia({ colorScheme: 'light' });
    await page.waitForFunction(() => true);
    const light = await pixel();
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.waitForFunction(() => {
      const d = document.querySelector<HTMLCanvasElement>('.viewport canvas')!.getContext('2d')!.getImageData(3, 3, 1, 1).data;
      return d[0] < 80;
    });
    const dark = await pixel();
    assert.ok(light.every((c) => c > 200) && dark.every((c) => c < 80), `light ${light} dark ${dark}`);
    await screenshot(page, 'bank_lock-dark');
    await page.close();
  });

  it('producer_consumer: put → get arrows between producer and consumer lanes', async () => {
    const { json } = traceSample('producer_consumer');
    const sends = readChromeText(json).events.filter((e) => e.k === 'msg.send').length;
    const { summary, page } = await show('producer_consumer', json);
    for (const n of ['producer-1', 'producer-2', 'consumer-1', 'consumer-2']) assert.ok(summary.laneNames.includes(n), `lane ${n}`);
    assert.ok(sends > 0);
    assert.ok(summary.arrowKinds.message > 0 && summary.arrowKinds.message <= sends, `message arrows ${summary.arrowKinds.message} of ${sends} sends`);
    assert.ok(summary.drawn.arrows > 0);
    await page.close();
  });

  it('producer_consumer: an arrow is hovered and clicked; the tooltip and details show both ends', async () => {
    const { json } = traceSample('producer_consumer');
    const events = readChromeText(json).events;
    const { page } = await show('producer_consumer-arrow', json);
    type Located = { clientX: number; clientY: number; lane: string; loc?: string };
    const spot = await page.evaluate(() => (window as unknown as { __interleaveTest: { locate(k: string): unknown } }).__interleaveTest.locate('arrow:message')) as Located | undefined;
    assert.ok(spot, 'a message arrow is on screen where a click picks it');
    await page.mouse.move(spot.clientX, spot.clientY);
    await page.waitForSelector('.tooltip:not([hidden])');
    const tip = (await page.locator('.tooltip strong').textContent())!;
    const m = /^message (\S+ (?:ns|µs|ms|s)): (.+) \((\d+) B\)$/.exec(tip);
    assert.ok(m, `tooltip caption: ${tip}`);
    await page.mouse.click(spot.clientX, spot.clientY);
    await page.waitForFunction(() => JSON.parse(document.getElementById('app')!.dataset.summary!).selected === 'arrow');
    // The summary fields come first; the raw events' own fields (a second `size`, ...) follow them.
    const fields: Record<string, string> = {};
    for (const [k, v] of await page.locator('.details table.fields tr').evaluateAll((rows) => rows
      .map((r) => [r.querySelector('th')?.textContent ?? '', r.querySelector('td')?.textContent ?? '']))) if (!(k in fields)) fields[k] = v;
    assert.match(await page.textContent('.details h3') ?? '', /^message arrow: send → receive$/);
    assert.strictEqual(fields.latency, m[1], 'the tooltip and the details agree on the latency');
    assert.strictEqual(fields.payload, m[2]);
    assert.strictEqual(fields.size, `${m[3]} B`);
    // Both ends, on their lanes: a producer's put and a consumer's get of the same item.
    assert.match(fields.from, /^send on producer-\d \(/);
    assert.match(fields.to, /^receive on consumer-\d \(/);
    // The pair really is a send and the receive with its correlation id, with that latency and payload.
    const send = events.find((e) => e.k === 'msg.send' && e.a?.preview === m[2] && fields.from.includes(`${e.pid}/${e.tid})`));
    assert.ok(send, `a send of ${m[2]} on the from lane`);
    const recv = events.find((e) => e.k === 'msg.recv' && e.corr === send.corr);
    assert.ok(recv && fields.to.includes(`${recv.pid}/${recv.tid})`), 'the receive of that send on the to lane');
    assert.strictEqual(send.a?.size, Number(m[3]));
    assert.strictEqual(fields.latency, fmtDuration(recv.ts - send.ts));
    // Both raw events are listed, and the payload is shown as text.
    assert.deepStrictEqual(await page.locator('.details tr.sep th').allTextContents(), ['from event', 'to event']);
    assert.strictEqual(await page.locator('.details pre.preview').first().textContent(), m[2]);
    await screenshot(page, 'producer_consumer-arrow');
    await page.close();
  });

  it('mp_queue: a process tree with queue arrows across processes', async () => {
    const { json } = traceSample('mp_queue');
    const { summary, page } = await show('mp_queue', json);
    assert.ok(summary.processes >= 3, `processes: ${summary.processes}`);
    assert.ok((summary.arrowKinds.message ?? 0) > 0, JSON.stringify(summary.arrowKinds));
    // the reader is terminated: its process header says how it ended
    assert.ok(summary.processNames.some((p) => /exit -15|SIGTERM|killed/.test(p)), summary.processNames.join(' | '));
    await page.close();
  });

  it('deadlock (--on-deadlock exit): the cycle is marked across both lanes with red arrows', async () => {
    const { json, exitCode } = traceSample('deadlock', ['--on-deadlock', 'exit']);
    assert.notStrictEqual(exitCode, 0);
    const { summary, page } = await show('deadlock', json);
    assert.strictEqual(summary.deadlocks, 1);
    assert.ok(summary.laneNames.includes('A') && summary.laneNames.includes('B'));
    assert.strictEqual(summary.arrowKinds.deadlock, 2, 'A waits for B and B waits for A');
    assert.strictEqual(summary.drawn.markers, 1);
    await page.close();
  });

  it('mp_join_deadlock (--on-deadlock exit): both processes report the hang, with what each waits in and why', async () => {
    const { json, exitCode } = traceSample('mp_join_deadlock', ['--on-deadlock', 'exit', '--deadlock-timeout', '0.5']);
    assert.strictEqual(exitCode, 86);
    const reports = readChromeText(json).events.filter((e) => e.k === 'deadlock');
    assert.strictEqual(reports.length, 2, 'the parent and the producer each report their part');
    const { summary, page } = await show('mp_join_deadlock', json);
    assert.strictEqual(summary.deadlocks, 2);
    assert.strictEqual(summary.drawn.markers, 2);
    // the first report in the trace, selected as the host's "reveal deadlock" does
    await page.evaluate((m) => window.postMessage(m, '*'), { type: 'reveal', query: { kind: 'deadlock' } });
    await page.waitForFunction(() => JSON.parse(document.getElementById('app')!.dataset.summary!).selected === 'marker');
    const details = (await page.textContent('.details'))!;
    assert.match(details, /Deadlock: every thread of every process is blocked/);
    const first = reports.reduce((a, b) => (b.ts < a.ts ? b : a));
    if (first.a!.hint) {
      assert.match(details, /Joining processes that use queues/);
      assert.match(details, /QueueFeederThread \(pid \d+, tid \d+\) waits in pipe write/);
    } else {
      assert.match(details, /MainThread \(pid \d+, tid \d+\) waits in Process\.join of pid \d+/);
    }
    await page.close();
  });

  it('mp_lock_holder_died (--on-deadlock exit): the report names the process that ended holding the lock', async () => {
    const { json, exitCode } = traceSample('mp_lock_holder_died', ['--on-deadlock', 'exit', '--deadlock-timeout', '0.5']);
    assert.strictEqual(exitCode, 86);
    const [report] = readChromeText(json).events.filter((e) => e.k === 'deadlock');
    const writer = readChromeText(json).events.find((e) => e.k === 'process.start' && e.a?.name === 'writer');
    assert.ok(report && writer, 'a deadlock report, and the writer process');
    const { summary, page } = await show('mp_lock_holder_died', json);
    assert.strictEqual(summary.deadlocks, 1);
    await page.evaluate((m) => window.postMessage(m, '*'), { type: 'reveal', query: { kind: 'deadlock' } });
    await page.waitForFunction(() => JSON.parse(document.getElementById('app')!.dataset.summary!).selected === 'marker');
    const details = (await page.textContent('.details'))!;
    assert.match(details, /MainThread \(pid \d+, tid \d+\) waits for .*, held by writer \(ended\)/);
    assert.match(details, new RegExp(`process "writer" \\(pid ${writer!.pid}\\) ended while holding the multiprocessing lock`));
    await page.close();
  });

  it('subprocess_pipe_deadlock (--on-deadlock exit): both sides of the pipe deadlock, and why', async () => {
    const { json, exitCode } = traceSample('subprocess_pipe_deadlock', ['--on-deadlock', 'exit', '--deadlock-timeout', '0.5']);
    assert.strictEqual(exitCode, 86);
    const events = readChromeText(json).events;
    const [report] = events.filter((e) => e.k === 'deadlock');
    const spawn = events.find((e) => e.k === 'process.spawn' && e.a?.method === 'subprocess');
    assert.ok(report && spawn, 'a deadlock report, and the child it names');
    const child = spawn!.a!.child as number;
    const { summary, page } = await show('subprocess_pipe_deadlock', json);
    assert.strictEqual(summary.deadlocks, 1);
    await page.evaluate((m) => window.postMessage(m, '*'), { type: 'reveal', query: { kind: 'deadlock' } });
    await page.waitForFunction(() => JSON.parse(document.getElementById('app')!.dataset.summary!).selected === 'marker');
    const details = (await page.textContent('.details'))!;
    assert.match(details, new RegExp(`MainThread \\(pid ${report!.pid}, tid \\d+\\) waits in subprocess of pid ${child}`));
    assert.match(details, new RegExp(`\\(pid ${child}, tid ${child}\\) waits in pipe write \\(stdout\\) of pid ${report!.pid}`));
    assert.match(details, /blocked writing to its stdout: the pipe is full and nothing reads it/);
    // The cycle drawn: the parent's thread -> the child's lane, and back.
    assert.strictEqual(summary.arrowKinds.deadlock, 2, JSON.stringify(summary.arrowKinds));
    await page.close();
  });

  it('asyncio_demo: one lane per task inside its thread, queue arrows from the producer task to the consumers', async () => {
    const { json } = traceSample('asyncio_demo');
    const events = readChromeText(json).events;
    const tasks = new Set(events.filter((e) => e.k === 'async.task').map((e) => `${e.pid}/${e.tid}/${e.obj}`));
    // every event the runtime put on a task (by obj or a.task) is on one of those lanes
    const onTasks = new Set(events.map((e) => laneKey(e)).filter((k) => k.split('/').length === 3));
    assert.deepStrictEqual([...onTasks].filter((k) => !tasks.has(k)), []);
    const sends = events.filter((e) => e.k === 'msg.send');
    assert.strictEqual(sends.length, 6);
    const { summary, page } = await show('asyncio_demo', json);
    assert.strictEqual(summary.taskLanes, tasks.size);
    assert.ok(summary.lanes >= 1 + tasks.size);
    // all six jobs travel between two lanes of the one thread: producer task -> consumer task
    assert.strictEqual(summary.arrowKinds.message, sends.length, JSON.stringify(summary.arrowKinds));
    assert.ok(summary.arrows > 0 && summary.drawn.arrows > 0);
    // and main() creating its tasks shows as spawn arrows from main's lane
    assert.ok((summary.arrowKinds.spawn ?? 0) >= tasks.size - 1, JSON.stringify(summary.arrowKinds));
    await page.close();
  });

  it("another tool's Chrome trace: slices, counters and a flow as generic lanes", async () => {
    const { summary, page } = await show('generic-viztracer', fs.readFileSync(path.join(FIXTURES, 'generic-viztracer.json'), 'utf8'));
    assert.deepStrictEqual(summary.laneNames.slice(0, 2), ['main', 'io']);
    assert.strictEqual(summary.states.generic, 5); // frame, layout, paint (B/E), read, gc
    assert.strictEqual(summary.arrowKinds.flow, 1);
    assert.strictEqual(summary.counters, 2); // heap.used and heap.total
    assert.strictEqual(summary.warnings, 1, 'the unsupported sample event is reported, not silently lost');
    assert.match((await page.textContent('.banner'))!, /skipped/);
    await page.close();
  });

  it('a truncated trace shows the banner and still draws what is complete', async () => {
    const full = fs.readFileSync(path.join(FIXTURES, 'generic-viztracer.json'), 'utf8');
    const cut = full.slice(0, full.indexOf('"name": "read"') + 5);
    const { summary, page } = await show('truncated', cut);
    assert.ok(await page.isVisible('.banner'));
    assert.match((await page.textContent('.banner'))!, /truncated/);
    assert.strictEqual(summary.states.generic, 3, 'frame, layout and paint; the slice cut mid-object is dropped');
    await page.close();
  });

  it('hostile names and payloads stay inert text', async () => {
    const file = await writeReport('hostile', fs.readFileSync(path.join(FIXTURES, 'hostile.json'), 'utf8'));
    const page = await browser!.context.newPage();
    const dialogs: string[] = [];
    page.on('dialog', (d) => { dialogs.push(d.message()); void d.dismiss(); });
    await page.goto(`file://${file}`);
    await page.waitForSelector('#app[data-state="ready"]');
    const summary = await drawnSummary(page);
    assert.ok(summary.laneNames.some((n) => n.startsWith('<img src=x onerror=')), 'the name is shown literally');
    assert.ok(summary.processNames.some((n) => n.startsWith('</script><script>alert(2)')));
    // Find the message by its payload text and open it in the details pane.
    await page.fill('input[type="search"]', 'onerror');
    await page.press('input[type="search"]', 'Enter');
    await page.waitForFunction(() => document.querySelector('.details pre.preview') !== null);
    const preview = await page.textContent('.details pre.preview');
    assert.strictEqual(preview, `'<img src=x onerror="alert(1);document.title='pwned'">'`);
    await page.click('button:has-text("Summary")');
    const lockRow = await page.textContent('.summary table.grid');
    assert.match(lockRow!, /<svg onload=alert\(5\)>/);
    await screenshot(page, 'hostile');
    const injected = await page.evaluate(() => ({
      // our own SVGs: the time axis and the range-selection layer
      img: document.querySelectorAll('img, svg:not(.axis):not(.brush-layer), iframe').length,
      scripts: [...document.querySelectorAll('script')].filter((s) => s.type !== 'application/json').length,
      title: document.title,
    }));
    assert.deepStrictEqual(injected, { img: 0, scripts: 1, title: 'Interleave — hostile' });
    assert.deepStrictEqual(dialogs, []);
    await page.close();
  });
});
