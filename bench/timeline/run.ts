/**
 * Timeline benchmark (not a test): loads a generated trace of 1,000,000 events over 64 lanes with
 * 50,000 arrows into the real webview bundle in headless Chromium and prints
 *   - first complete draw after the data is in the page (goal ≤ 1.5 s),
 *   - per-frame draw time while zooming and panning, p50/p95 (goal p95 ≤ 16 ms),
 *   - JS heap after loading (goal ≤ 400 MB),
 *   - live streaming at 100,000 events/s: arrival → pixels latency (goal ≤ 100 ms).
 * Run: npx tsx bench/timeline/run.ts [--events N] [--arrows N] [--seconds S]
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Browser, chromiumMissing } from '../../test/browser/browser';
import { buildWebview, DIST, ROOT } from '../../test/browser/build';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
}

const EVENTS = arg('events', 1_000_000);
const ARROWS = arg('arrows', 50_000);
const LIVE_SECONDS = arg('seconds', 3);
const LIVE_RATE = arg('rate', 100_000);

interface LoadResult { ingestMs: number; firstDrawMs: number; summary: Record<string, unknown> }

async function main(): Promise<void> {
  const missing = chromiumMissing();
  if (missing) { console.error(`cannot run: ${missing}`); process.exit(2); }
  await buildWebview(); // dist/webview.css
  const dir = path.join(ROOT, '.test-artifacts', 'bench');
  fs.mkdirSync(dir, { recursive: true });
  // Measure the bundle as shipped: a production build (modules concatenated, minified).
  await buildWebview({ mode: 'production', outDir: path.join(dir, 'dist') });
  const page0 = path.join(dir, 'timeline.html');
  fs.writeFileSync(page0, `<!DOCTYPE html><html><head><meta charset="utf-8"><title>bench</title><style>${fs.readFileSync(path.join(DIST, 'webview.css'), 'utf8')}</style></head>
<body><div id="app"></div><script>${fs.readFileSync(path.join(dir, 'dist', 'webview.js'), 'utf8').replace(/<\/script/gi, '<\\/script')}</script></body></html>`);

  const browser = await Browser.launch();
  try {
    const page = await browser.context.newPage();
    await page.setViewportSize({ width: 1600, height: 1000 });
    // tsx (esbuild keepNames) wraps named inner functions in __name(); the page needs a no-op one.
    await page.addInitScript({ content: 'window.__name = (f) => f;' });
    await page.goto(`file://${page0}`);
    await page.waitForFunction(() => (window as unknown as { interleave?: unknown }).interleave !== undefined);
    await page.addScriptTag({ path: path.join(__dirname, 'generate.js') });
    const cdp = await browser.context.newCDPSession(page);
    // threadTicks: task and script durations in main-thread CPU time, which a busy machine inflates
    // far less than wall time (printed next to the wall-clock figures).
    await cdp.send('Performance.enable', { timeDomain: 'threadTicks' });
    const cpuMs = async () => {
      const m = await cdp.send('Performance.getMetrics');
      return (m.metrics.find((x) => x.name === 'TaskDuration')?.value ?? NaN) * 1000;
    };
    const heapMB = async () => {
      await cdp.send('HeapProfiler.collectGarbage');
      const m = await cdp.send('Performance.getMetrics');
      return (m.metrics.find((x) => x.name === 'JSHeapUsedSize')?.value ?? NaN) / 1024 / 1024;
    };

    const genMs = await page.evaluate(({ n, a }) => {
      const t = performance.now();
      const w = window as unknown as { __bench: { generate(n: number, a: number, span: number, t0: number, seed: number): { batches: unknown[][]; count: number } }; __batches: unknown[][] };
      const g = w.__bench.generate(n, a, 60e6, 0, 1);
      w.__batches = g.batches;
      return performance.now() - t;
    }, { n: EVENTS, a: ARROWS });
    const heapData = await heapMB();

    const cpuBefore = await cpuMs();
    const load: LoadResult = await page.evaluate(async () => {
      const w = window as unknown as { interleave: { reset(t: string): void; append(e: unknown[]): void }; __batches: unknown[][] };
      const app = w.interleave;
      const canvas = document.querySelector<HTMLCanvasElement>('.viewport canvas')!;
      const t = performance.now();
      app.reset('bench');
      for (const b of w.__batches) app.append(b);
      const ingested = performance.now();
      // Our frame callback is queued after the app's, so it runs once the app has drawn;
      // reading a pixel back makes the browser finish rasterising.
      await new Promise<void>((r) => requestAnimationFrame(() => r()));
      canvas.getContext('2d')!.getImageData(0, 0, 1, 1);
      const done = performance.now();
      w.__batches = [];
      return { ingestMs: ingested - t, firstDrawMs: done - t, summary: JSON.parse(document.getElementById('app')!.dataset.summary!) };
    });
    const loadCpu = (await cpuMs()) - cpuBefore;
    const heapLoaded = await heapMB();

    const framesCpuBefore = await cpuMs();
    const frames = await page.evaluate(async () => {
      const app = (window as unknown as { interleave: { setWindow(a: number, b: number): void; draw(): void } }).interleave;
      const canvas = document.querySelector<HTMLCanvasElement>('.viewport canvas')!;
      const ctx = canvas.getContext('2d')!;
      const times: number[] = [];
      const span = 60e6;
      // Zoom from the whole minute down to 1 ms around moving centres and back out, then pan.
      const windows: [number, number][] = [];
      for (let i = 0; i <= 60; i++) { const w = span * Math.pow(1e-4 / 6, i / 60); const c = span * (0.3 + 0.4 * i / 60); windows.push([c - w / 2, c + w / 2]); }
      for (let i = 60; i >= 0; i--) { const w = span * Math.pow(1e-4 / 6, i / 60); const c = span * 0.5; windows.push([c - w / 2, c + w / 2]); }
      for (let i = 0; i < 60; i++) { const w = span / 20; const c = span * (0.05 + 0.9 * i / 60); windows.push([c - w / 2, c + w / 2]); }
      // Time the app's own frame: its draw plus finishing the raster (a pixel read-back).
      const original = app.draw.bind(app);
      app.draw = () => {
        const t = performance.now();
        original();
        ctx.getImageData(0, 0, 1, 1);
        times.push(performance.now() - t);
      };
      for (const [a, b] of windows) {
        app.setWindow(a, b);
        await new Promise<void>((r) => requestAnimationFrame(() => requestAnimationFrame(() => r())));
      }
      app.draw = original;
      return times;
    });

    const framesCpu = ((await cpuMs()) - framesCpuBefore) / frames.length;
    // Real input too: wheel zooming through d3-zoom, frame to frame.
    const box = (await page.locator('.viewport canvas').boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.6, box.y + 200);
    await page.evaluate(() => {
      const w = window as unknown as { __frames: number[] };
      w.__frames = [];
      let last = performance.now();
      const tick = () => { const now = performance.now(); w.__frames.push(now - last); last = now; if (w.__frames.length < 400) requestAnimationFrame(tick); };
      requestAnimationFrame(tick);
    });
    for (let i = 0; i < 40; i++) await page.mouse.wheel(0, -120);
    for (let i = 0; i < 40; i++) await page.mouse.wheel(0, 120);
    const wheelFrames = (await page.evaluate(() => (window as unknown as { __frames: number[] }).__frames)).slice(2);

    const live = await page.evaluate(async ({ seconds, rate }) => {
      const w = window as unknown as {
        interleave: { reset(t: string): void; append(e: unknown[]): void };
        __bench: { liveBatch(n: number, a: number, b: number, seq: number): unknown[] };
      };
      const app = w.interleave;
      const canvas = document.querySelector<HTMLCanvasElement>('.viewport canvas')!;
      const ctx = canvas.getContext('2d')!;
      app.reset('live');
      (document.querySelector('button[aria-pressed]') as HTMLButtonElement).click(); // follow live
      const latencies: number[] = [];
      let pending: number[] = [];
      let frameQueued = false;
      const original = app.append.bind(app);
      // Each batch carries its arrival time; once the app has drawn it (our frame callback runs after
      // the app's), every batch appended before that frame is on screen.
      app.append = (events: unknown[]) => {
        original(events);
        pending.push(arrivals.shift() ?? performance.now());
        if (!frameQueued) {
          frameQueued = true;
          requestAnimationFrame(() => {
            ctx.getImageData(0, 0, 1, 1);
            const now = performance.now();
            for (const a of pending) latencies.push(now - a);
            pending = [];
            frameQueued = false;
          });
        }
      };
      // Latency counts from when the batch was posted (as the host would), so queueing is included.
      const arrivals: number[] = [];
      window.addEventListener('message', (e) => {
        const d = e.data as { sentAt?: number };
        if (typeof d.sentAt === 'number') arrivals.push(d.sentAt);
      }, { capture: true });
      const start = performance.now();
      let sent = 0, seq = 0, tsNow = 0;
      const batchSize = 1000;
      await new Promise<void>((resolve) => {
        const tick = () => {
          const elapsed = performance.now() - start;
          const due = Math.min(rate * seconds, Math.floor((rate * elapsed) / 1000));
          while (sent + batchSize <= due) {
            const tsEnd = tsNow + (batchSize / rate) * 1e6;
            const events = w.__bench.liveBatch(batchSize, tsNow, tsEnd, seq);
            tsNow = tsEnd;
            const msg = { type: 'events', events, seq: seq++, sentAt: performance.now() };
            window.postMessage(msg, '*');
            sent += events.length;
          }
          if (elapsed / 1000 >= seconds && sent + batchSize > rate * seconds) resolve();
          else setTimeout(tick, 5);
        };
        tick();
      });
      // Let the last batches reach the screen.
      await new Promise<void>((r) => setTimeout(r, 300));
      await new Promise<void>((r) => requestAnimationFrame(() => requestAnimationFrame(() => r())));
      const took = (performance.now() - start) / 1000;
      return { sent, seconds: took, latencies, summary: JSON.parse(document.getElementById('app')!.dataset.summary!) };
    }, { seconds: LIVE_SECONDS, rate: LIVE_RATE });

    const pct = (a: number[], p: number) => { const s = [...a].sort((x, y) => x - y); return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] : NaN; };
    const s = load.summary as { lanes: number; intervals: number; arrows: number; events: number; drawn: { intervals: number; arrows: number } };
    const f = (n: number) => n.toFixed(1);
    console.log(`timeline benchmark — ${EVENTS.toLocaleString()} events, ${ARROWS.toLocaleString()} arrows, 64 lanes (headless Chromium, software raster, production bundle)`);
    console.log(`  machine: ${os.cpus().length} cores, load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')} (wall times include waiting for a core)`);
    console.log(`  generated in page:            ${f(genMs)} ms (not counted)`);
    console.log(`  model: ${s.events.toLocaleString()} events, ${s.lanes} lanes, ${s.intervals.toLocaleString()} intervals, ${s.arrows.toLocaleString()} arrows`);
    console.log(`  ingest (append all batches):  ${f(load.ingestMs)} ms`);
    console.log(`  first complete draw:          ${f(load.firstDrawMs)} ms   (goal ≤ 1500 ms); main-thread CPU ${f(loadCpu)} ms`);
    console.log(`  draw per frame, zoom/pan:     p50 ${f(pct(frames, 50))} ms, p95 ${f(pct(frames, 95))} ms, max ${f(pct(frames, 100))} ms over ${frames.length} frames   (goal p95 ≤ 16 ms); mean main-thread CPU per frame ${f(framesCpu)} ms`);
    console.log(`  frame interval, wheel zoom:   p50 ${f(pct(wheelFrames, 50))} ms, p95 ${f(pct(wheelFrames, 95))} ms over ${wheelFrames.length} frames`);
    console.log(`  JS heap: data only ${f(heapData)} MB, with the model ${f(heapLoaded)} MB   (goal ≤ 400 MB)`);
    console.log(`  live: ${live.sent.toLocaleString()} events in ${live.seconds.toFixed(2)} s = ${Math.round(live.sent / live.seconds).toLocaleString()} events/s; arrival → pixels p50 ${f(pct(live.latencies, 50))} ms, p95 ${f(pct(live.latencies, 95))} ms, max ${f(pct(live.latencies, 100))} ms   (goal ≤ 100 ms)`);
  } finally {
    await browser.close();
  }
}

main().catch((e) => { console.error(e); process.exit(1); });
