/**
 * Extension-host ingest benchmark (not a test): how fast the host takes a flood of events from many
 * traced processes, and whether it stays responsive while doing so.
 *
 * 16 processes (TCP connections with the run token) each stream 125 batches of 1,000 wire events
 * (2,000,000 events) as fast as the socket takes them, into the real path: EventServer (framing,
 * token check, WireDecoder) → Trace (bounded store, stats) → MessageCoalescer (posts to a fake webview
 * that takes 5 ms per message). Prints:
 *   - ingest throughput (goal ≥ 500k events/s on 2 cores),
 *   - posts to the webview (goal: a few per second, not one per socket read),
 *   - event-loop delay while ingesting, p99 (goal ≤ 100 ms: the extension host stays responsive) and
 *     the worst lag of a 10 ms timer (GC pauses and a busy machine show up here),
 *   - events kept vs folded with interleave.maxEventsInPanel = 1,000,000.
 *
 *   npx tsx bench/extension/ingest.ts
 */
import { monitorEventLoopDelay } from 'perf_hooks';
import { Worker } from 'worker_threads';
import { MessageCoalescer } from '../../extension/run/batcher';
import { EventServer } from '../../extension/run/eventServer';
import { newRunToken } from '../../extension/run/token';
import { Trace } from '../../extension/run/trace';

const PROCS = 16;
const BATCHES = 125;
const PER_BATCH = 1000;
const CAP = 1_000_000;

/**
 * The traced processes, in a worker thread so that producing and sending 80 MB of JSON does not count
 * against the host's event loop we measure. Plain JS: wire tuples are `[code, ph, ts, tid, obj, corr,
 * loc, dur, a]` (lock.hold = 22, msg.send = 31; see protocol/events.ts).
 */
const WORKER = `
const net = require('net');
const { workerData, parentPort } = require('worker_threads');
const { port, token, procs, batches, perBatch } = workerData;
function lines(pid) {
  const out = [];
  let ts = 0;
  for (let b = 0; b < batches; b++) {
    const ev = [];
    for (let i = 0; i < perBatch; i++) {
      const tid = pid * 10 + (i % 4);
      ev.push(i % 2 === 0
        ? [22, 'X', (ts += 3), tid, pid * 4194304 + 1, 0, 1 + (i % 5), 2]
        : [31, 'i', (ts += 3), tid, pid * 4194304 + 2, pid * 4194304 + b * perBatch + i, 0, 0, { preview: "'item'", size: 40 }]);
    }
    const str = b === 0 ? { 1: '/w/bank.py:30', 2: '/w/bank.py:31', 3: '/w/bank.py:32', 4: '/w/bank.py:33', 5: '/w/bank.py:34' } : undefined;
    out.push(JSON.stringify({ t: 'batch', seq: b, ...(str ? { str } : {}), ev }) + '\\n');
  }
  return out;
}
const payloads = Array.from({ length: procs }, (_, i) => lines(1000 + i));
parentPort.postMessage('ready');
parentPort.once('message', () => {
  let open = procs;
  payloads.forEach((ls, i) => {
    const sock = net.connect(port, '127.0.0.1', () => {
      sock.write(JSON.stringify({ t: 'hello', v: 1, token, pid: 1000 + i, ppid: 1, name: 'p' + i }) + '\\n');
      for (const l of ls) sock.write(l);
      sock.end(() => { if (--open === 0) parentPort.postMessage('sent'); });
    });
  });
});
`;

async function main(): Promise<void> {
  const token = newRunToken();
  const trace = new Trace({ kind: 'live', title: 'bench' }, CAP, { running: true });
  let posts = 0;
  const outbox = new MessageCoalescer(() => {
    posts++;
    return new Promise((r) => setTimeout(r, 5)); // a webview taking its time
  });
  trace.onMessage((m) => outbox.push(m));
  const total = PROCS * BATCHES * PER_BATCH;
  let received = 0;
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  const server = await EventServer.listen({ token }, {
    onEvents: (events) => {
      trace.addEvents(events);
      received += events.length;
      if (received >= total) resolveDone();
    },
  });
  const worker = new Worker(WORKER, { eval: true, workerData: { port: server.address.port, token, procs: PROCS, batches: BATCHES, perBatch: PER_BATCH } });
  await new Promise((r) => worker.once('message', r)); // payloads generated

  // Event-loop lag: how late a 10 ms timer fires while the flood is processed.
  let worstLag = 0;
  let last = performance.now();
  const lagTimer = setInterval(() => {
    const now = performance.now();
    worstLag = Math.max(worstLag, now - last - 10);
    last = now;
  }, 10);

  const delay = monitorEventLoopDelay({ resolution: 5 });
  delay.enable();
  const t0 = performance.now();
  worker.postMessage('go');
  await done;
  const ingestMs = performance.now() - t0;
  trace.finish(0, null);
  outbox.pump();
  clearInterval(lagTimer);
  delay.disable();
  server.close();
  await worker.terminate();

  const s = trace.statsNow();
  console.log(`events:              ${total.toLocaleString('en-US')} from ${PROCS} connections`);
  console.log(`ingest:              ${ingestMs.toFixed(0)} ms = ${Math.round(total / (ingestMs / 1000)).toLocaleString('en-US')} events/s (goal >= 500,000)`);
  console.log(`webview posts:       ${posts} (${(posts / (ingestMs / 1000)).toFixed(1)}/s; goal: a few per second)`);
  console.log(`event-loop delay:    p50 ${(delay.percentile(50) / 1e6).toFixed(0)} ms, p99 ${(delay.percentile(99) / 1e6).toFixed(0)} ms (goal p99 <= 100 ms), worst timer lag ${worstLag.toFixed(0)} ms`);
  console.log(`kept / folded:       ${trace.store.size.toLocaleString('en-US')} / ${(trace.store.aggregation?.folded ?? 0).toLocaleString('en-US')} (cap ${CAP.toLocaleString('en-US')})`);
  console.log(`stats:               ${s.processes} processes, ${s.threads} threads`);
  console.log(`socket pauses:       ${server.yields} (decoding yielded to the event loop)`);
  process.exit(0);
}

void main();
