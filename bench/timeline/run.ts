/**
 * Timeline benchmark (not a test): loads a generated trace of 1,000,000 events over 64 lanes with
 * 50,000 arrows into the real webview bundle in headless Chromium and prints
 *   - first complete draw after the data is in the page (goal ≤ 1.5 s),
 *   - per-frame draw time while zooming and panning, p50/p95 (goal p95 ≤ 16 ms), and each frame's
 *     main-thread CPU time (threadTicks), which a machine shared with other work inflates far less,
 *   - JS heap after loading (goal ≤ 400 MB),
 *   - live streaming at 100,000 events/s: the rate actually offered, and arrival → pixels latency
 *     (goal ≤ 100 ms).
 * Run: npx tsx bench/timeline/run.ts [--events N] [--arrows N] [--seconds S] [--rate R]
 *   --frames: also list the slowest frames; --profile / --profile-live: CPU profile (unminified
 *   bundle) of the zoom/pan frames / of the live phase, top functions by self and inclusive time.
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
/** --profile: a CPU profile of the zoom/pan frames (unminified bundle), top functions by self time. */
const PROFILE = process.argv.includes('--profile');
/** --profile-live: the same for the live phase. */
const PROFILE_LIVE = process.argv.includes('--profile-live');
/** --frames: the slowest zoom/pan frames with their window and what they drew. */
const FRAMES = PROFILE || process.argv.includes('--frames');

interface LoadResult { ingestMs: number; firstDrawMs: number; summary: Record<string, unknown> }

async function main(): Promise<void> {
  const missing = chromiumMissing();
  if (missing) { console.error(`cannot run: ${missing}`); process.exit(2); }
  await buildWebview(); // dist/webview.css
  const dir = path.join(ROOT, '.test-artifacts', 'bench');
  fs.mkdirSync(dir, { recursive: true });
  // Measure the bundle as shipped: a production build (modules concatenated, minified).
  await buildWebview({ mode: PROFILE || PROFILE_LIVE ? 'development' : 'production', outDir: path.join(dir, 'dist') });
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
    if (PROFILE) { await cdp.send('Profiler.enable'); await cdp.send('Profiler.setSamplingInterval', { interval: 200 }); await cdp.send('Profiler.start'); }
    // Zoom from the whole minute down to 1 ms around moving centres and back out, then pan.
    const span = 60e6;
    const windows: [number, number][] = [];
    for (let i = 0; i <= 60; i++) { const w = span * Math.pow(1e-4 / 6, i / 60); const c = span * (0.3 + 0.4 * i / 60); windows.push([c - w / 2, c + w / 2]); }
    for (let i = 60; i >= 0; i--) { const w = span * Math.pow(1e-4 / 6, i / 60); const c = span * 0.5; windows.push([c - w / 2, c + w / 2]); }
    for (let i = 0; i < 60; i++) { const w = span / 20; const c = span * (0.05 + 0.9 * i / 60); windows.push([c - w / 2, c + w / 2]); }
    const frames = await page.evaluate(async (windows) => {
      const app = (window as unknown as { interleave: { setWindow(a: number, b: number): void; draw(): void; drawn?: { rects: number; arrows: number; intervals: number } } }).interleave;
      const canvas = document.querySelector<HTMLCanvasElement>('.viewport canvas')!;
      const ctx = canvas.getContext('2d')!;
      const times: number[] = [];
      const detail: { span: number; ms: number; rects: number; arrows: number }[] = [];
      // Time the app's own frame: its draw plus finishing the raster (a pixel read-back).
      const original = app.draw.bind(app);
      app.draw = () => {
        const t = performance.now();
        original();
        ctx.getImageData(0, 0, 1, 1);
        times.push(performance.now() - t);
        const d = app.drawn;
        detail.push({ span: (current[1] - current[0]) / 1e3, ms: performance.now() - t, rects: d?.rects ?? NaN, arrows: d?.arrows ?? NaN });
      };
      let current: [number, number] = [0, 1];
      for (const [a, b] of windows) {
        current = [a, b];
        app.setWindow(a, b);
        await new Promise<void>((r) => requestAnimationFrame(() => requestAnimationFrame(() => r())));
      }
      app.draw = original;
      return { times, detail };
    }, windows);
    if (FRAMES) {
      console.log('  slowest frames (window ms, frame ms, rects, arrows):');
      for (const d of [...frames.detail].sort((a, b) => b.ms - a.ms).slice(0, 15)) console.log(`    ${d.span.toFixed(3).padStart(10)}  ${d.ms.toFixed(1).padStart(6)}  ${String(d.rects).padStart(6)}  ${d.arrows}`);
    }

    const framesCpu = ((await cpuMs()) - framesCpuBefore) / frames.times.length;
    // The same windows again, each frame's main-thread CPU time (threadTicks) read between frames:
    // on a shared machine wall times include waiting for a core, CPU times much less so.
    const frameCpu: number[] = [];
    // What a frame costs the page with nothing to draw (the round trip, the frame itself), for reference.
    const idleCpu: number[] = [];
    for (let i = 0; i < 20; i++) {
      const before = await cpuMs();
      await page.evaluate(async () => {
        await new Promise<void>((r) => requestAnimationFrame(() => r()));
        document.querySelector<HTMLCanvasElement>('.viewport canvas')!.getContext('2d')!.getImageData(0, 0, 1, 1);
      });
      idleCpu.push((await cpuMs()) - before);
    }
    for (const [a, b] of windows) {
      const before = await cpuMs();
      await page.evaluate(async ([a, b]) => {
        (window as unknown as { interleave: { setWindow(a: number, b: number): void } }).interleave.setWindow(a, b);
        await new Promise<void>((r) => requestAnimationFrame(() => r()));
        document.querySelector<HTMLCanvasElement>('.viewport canvas')!.getContext('2d')!.getImageData(0, 0, 1, 1);
      }, [a, b]);
      frameCpu.push((await cpuMs()) - before);
    }
    if (PROFILE) printProfile((await cdp.send('Profiler.stop')).profile, 'zoom/pan frames');
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

    // Live: a fresh trace streamed at LIVE_RATE. The host's side is not timed: every batch is made
    // before the clock starts and only posted on schedule (in VS Code the extension host builds them,
    // in another process), and the previous model's garbage is collected first.
    const BATCH = 1000;
    await page.evaluate(async ({ seconds, rate, batchSize }) => {
      const w = window as unknown as {
        interleave: { reset(t: string): void };
        __bench: { liveBatch(n: number, a: number, b: number, seq: number): unknown[] };
        __live: unknown[][];
      };
      w.interleave.reset('live');
      (document.querySelector('button[aria-pressed]') as HTMLButtonElement).click(); // follow live
      w.__live = [];
      for (let seq = 0, tsNow = 0; seq < Math.ceil((rate * seconds) / batchSize); seq++) {
        const tsEnd = tsNow + (batchSize / rate) * 1e6;
        w.__live.push(w.__bench.liveBatch(batchSize, tsNow, tsEnd, seq));
        tsNow = tsEnd;
      }
      await new Promise<void>((r) => requestAnimationFrame(() => r()));
    }, { seconds: LIVE_SECONDS, rate: LIVE_RATE, batchSize: BATCH });
    await cdp.send('HeapProfiler.collectGarbage');
    const liveCpuBefore = await cpuMs();
    if (PROFILE_LIVE) { await cdp.send('Profiler.enable'); await cdp.send('Profiler.setSamplingInterval', { interval: 200 }); await cdp.send('Profiler.start'); }
    const live = await page.evaluate(async ({ rate, batchSize }) => {
      const w = window as unknown as { interleave: { append(e: unknown[]): void }; __live: unknown[][] };
      const app = w.interleave;
      const canvas = document.querySelector<HTMLCanvasElement>('.viewport canvas')!;
      const ctx = canvas.getContext('2d')!;
      const batches = w.__live;
      w.__live = [];
      const latencies: number[] = [];
      let pending: number[] = [];
      let frameQueued = false;
      let appended = 0, appendMs = 0;
      const original = app.append.bind(app);
      // Each batch carries its arrival time; once the app has drawn it (our frame callback runs after
      // the app's), every batch appended before that frame is on screen.
      app.append = (events: unknown[]) => {
        const t = performance.now();
        original(events);
        appendMs += performance.now() - t;
        appended += events.length;
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
      let sent = 0, next = 0, lastPost = start, lag = 0;
      await new Promise<void>((resolve) => {
        const tick = () => {
          const now = performance.now();
          // Post every batch whose time has come (the schedule, not the timer, sets the rate).
          while (next < batches.length && (next * batchSize * 1000) / rate <= now - start) {
            lag = Math.max(lag, now - start - (next * batchSize * 1000) / rate);
            const events = batches[next];
            window.postMessage({ type: 'events', events, seq: next++, sentAt: performance.now() }, '*');
            sent += events.length;
            lastPost = performance.now();
          }
          if (next >= batches.length) resolve();
          else setTimeout(tick, 4);
        };
        tick();
      });
      // Offered rate: events over the time the schedule took (the last batch is due one batch before its end).
      const feedSeconds = (lastPost - start) / 1000 + batchSize / rate;
      // Wait until everything posted was appended and drawn.
      const deadline = performance.now() + 5000;
      while ((appended < sent || pending.length) && performance.now() < deadline) await new Promise<void>((r) => requestAnimationFrame(() => r()));
      const drainedSeconds = (performance.now() - start) / 1000;
      return { sent, appended, appendMs, feedSeconds, drainedSeconds, lag, latencies, summary: JSON.parse(document.getElementById('app')!.dataset.summary!) };
    }, { rate: LIVE_RATE, batchSize: BATCH });
    const liveCpu = (await cpuMs()) - liveCpuBefore;
    if (PROFILE_LIVE) printProfile((await cdp.send('Profiler.stop')).profile, 'live phase');

    const pct = (a: number[], p: number) => { const s = [...a].sort((x, y) => x - y); return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] : NaN; };
    const s = load.summary as { lanes: number; intervals: number; arrows: number; events: number; drawn: { intervals: number; arrows: number } };
    const f = (n: number) => n.toFixed(1);
    console.log(`timeline benchmark — ${EVENTS.toLocaleString()} events, ${ARROWS.toLocaleString()} arrows, 64 lanes (headless Chromium, software raster, production bundle)`);
    console.log(`  machine: ${os.cpus().length} cores, load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')} (wall times include waiting for a core)`);
    console.log(`  generated in page:            ${f(genMs)} ms (not counted)`);
    console.log(`  model: ${s.events.toLocaleString()} events, ${s.lanes} lanes, ${s.intervals.toLocaleString()} intervals, ${s.arrows.toLocaleString()} arrows`);
    console.log(`  ingest (append all batches):  ${f(load.ingestMs)} ms`);
    console.log(`  first complete draw:          ${f(load.firstDrawMs)} ms   (goal ≤ 1500 ms); main-thread CPU ${f(loadCpu)} ms`);
    console.log(`  draw per frame, zoom/pan:     p50 ${f(pct(frames.times, 50))} ms, p95 ${f(pct(frames.times, 95))} ms, max ${f(pct(frames.times, 100))} ms over ${frames.times.length} frames   (goal p95 ≤ 16 ms); mean main-thread CPU per frame ${f(framesCpu)} ms`);
    console.log(`  main-thread CPU per frame:    p50 ${f(pct(frameCpu, 50))} ms, p95 ${f(pct(frameCpu, 95))} ms, max ${f(pct(frameCpu, 100))} ms (threadTicks, the same windows one frame each, including the page's own work for the frame; ${f(pct(idleCpu, 50))} ms for a frame with nothing to draw)`);
    console.log(`  frame interval, wheel zoom:   p50 ${f(pct(wheelFrames, 50))} ms, p95 ${f(pct(wheelFrames, 95))} ms over ${wheelFrames.length} frames`);
    console.log(`  JS heap: data only ${f(heapData)} MB, with the model ${f(heapLoaded)} MB   (goal ≤ 400 MB)`);
    console.log(`  live: ${live.sent.toLocaleString()} events posted over ${live.feedSeconds.toFixed(2)} s = ${Math.round(live.sent / live.feedSeconds).toLocaleString()} events/s offered (feeder at most ${f(live.lag)} ms behind schedule); ` +
      `${live.appended.toLocaleString()} appended, the last on screen ${f((live.drainedSeconds - live.feedSeconds) * 1000)} ms after the feed ended`);
    console.log(`        arrival → pixels p50 ${f(pct(live.latencies, 50))} ms, p95 ${f(pct(live.latencies, 95))} ms, max ${f(pct(live.latencies, 100))} ms   (goal ≤ 100 ms); ` +
      `append ${f((live.appendMs / live.appended) * 1000)} ms per 1,000 events, main-thread CPU ${f((liveCpu / live.drainedSeconds) / 10)} % of the run`);
  } finally {
    await browser.close();
  }
}

interface ProfileNode { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }

/** Self time per function (ms) from a CDP CPU profile, the 25 largest, plus inclusive time of a few. */
function printProfile(p: { nodes: ProfileNode[]; samples?: number[]; timeDeltas?: number[] }, what: string): void {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  const samples = p.samples ?? [], deltas = p.timeDeltas ?? [];
  for (let i = 0; i < samples.length; i++) self.set(samples[i], (self.get(samples[i]) ?? 0) + (deltas[i] ?? 0) / 1000);
  const name = (n: ProfileNode) => `${n.callFrame.functionName || '(anonymous)'} ${path.basename(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;
  const selfByName = new Map<string, number>();
  for (const [id, ms] of self) { const k = name(byId.get(id)!); selfByName.set(k, (selfByName.get(k) ?? 0) + ms); }
  // Inclusive time: self of the node and all descendants, summed per name (recursion counted once per path).
  const incl = new Map<string, number>();
  const walk = (id: number, open: Set<string>): number => {
    const n = byId.get(id)!;
    let t = self.get(id) ?? 0;
    const k = name(n);
    const fresh = !open.has(k);
    if (fresh) open.add(k);
    for (const c of n.children ?? []) t += walk(c, open);
    if (fresh) { open.delete(k); incl.set(k, (incl.get(k) ?? 0) + t); }
    return t;
  };
  walk(p.nodes[0].id, new Set());
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  console.log(`  profile of the ${what}: ${total.toFixed(0)} ms sampled`);
  console.log('    self ms  incl ms  function');
  for (const [k, ms] of [...selfByName].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(`    ${ms.toFixed(1).padStart(7)}  ${(incl.get(k) ?? 0).toFixed(1).padStart(7)}  ${k}`);
  console.log('    top inclusive:');
  for (const [k, ms] of [...incl].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(`    ${ms.toFixed(1).padStart(7)}  ${k}`);
}

main().catch((e) => { console.error(e); process.exit(1); });
