// Synthetic trace for the timeline benchmark, run inside the page (plain browser JS, no imports).
// 64 lanes = 8 processes x 8 threads; per lane a sequence of lock holds / waits / sleeps / channel
// waits (X slices) over `spanUs`; messages between lanes (one send + one receive per arrow); CPU
// samples. Events come out in batches per process, time-ordered within a process, the way the
// runtime streams them.
(function () {
  'use strict';
  const PROCS = 8, THREADS = 8;
  const KINDS = ['lock.hold', 'lock.wait', 'thread.sleep', 'msg.wait', 'lock.hold', 'pool.task'];

  function rng(seed) {
    let s = seed >>> 0;
    return () => { s = (s * 1664525 + 1013904223) >>> 0; return s / 4294967296; };
  }

  /**
   * Returns batches (arrays of TraceEvent) totalling `total` events with `arrows` message pairs.
   * `t0` offsets every timestamp (for live streaming).
   */
  function generate(total, arrows, spanUs, t0, seed) {
    const rand = rng(seed || 1);
    const lanes = [];
    for (let p = 0; p < PROCS; p++) for (let t = 0; t < THREADS; t++) lanes.push({ pid: 1000 + p, tid: t === 0 ? 1000 + p : 20000 + p * 100 + t });
    const perProc = [];
    for (let p = 0; p < PROCS; p++) perProc.push([]);
    let count = 0;
    const push = (pi, ev) => { perProc[pi].push(ev); count++; };
    // lifetimes, names, locks
    for (let i = 0; i < lanes.length; i++) {
      const l = lanes[i];
      push(Math.floor(i / THREADS), { k: 'thread.run', ph: 'b', ts: t0, pid: l.pid, tid: l.tid, a: { name: 'worker-' + i, daemon: false, kind: 'thread' } });
    }
    const locks = [];
    for (let p = 0; p < PROCS; p++) for (let j = 0; j < 6; j++) {
      const obj = (1000 + p) * 4194304 + 1 + j;
      locks.push(obj);
      push(p, { k: 'lock.create', ph: 'i', ts: t0, pid: 1000 + p, tid: 1000 + p, obj, a: { type: 'Lock', name: 'lock-' + p + '-' + j } });
    }
    const cpuPerLane = Math.floor(total * 0.03 / lanes.length);
    for (let i = 0; i < lanes.length; i++) {
      const l = lanes[i];
      for (let c = 0; c < cpuPerLane; c++) push(Math.floor(i / THREADS), { k: 'cpu.thread', ph: 'C', ts: t0 + (c * spanUs) / cpuPerLane, pid: l.pid, tid: l.tid, a: { pct: Math.round(rand() * 100) } });
    }
    // messages: send on lane a, receive on lane b a little later
    for (let m = 0; m < arrows; m++) {
      const a = Math.floor(rand() * lanes.length);
      let b = Math.floor(rand() * lanes.length);
      if (b === a) b = (b + 1) % lanes.length;
      const ts = t0 + rand() * spanUs * 0.98;
      const corr = 5000 * 4194304 + m + 1;
      const chan = (lanes[a].pid) * 4194304 + 100;
      push(Math.floor(a / THREADS), { k: 'msg.send', ph: 'i', ts, pid: lanes[a].pid, tid: lanes[a].tid, obj: chan, corr, a: { preview: "'job " + m + "'", size: 40 } });
      push(Math.floor(b / THREADS), { k: 'msg.recv', ph: 'i', ts: ts + 50 + rand() * 2000, pid: lanes[b].pid, tid: lanes[b].tid, obj: chan, corr });
    }
    // intervals fill the rest, sequential per lane
    const rest = total - count - lanes.length; // keep room for the thread ends
    const perLane = Math.floor(rest / lanes.length);
    const step = spanUs / perLane;
    for (let i = 0; i < lanes.length; i++) {
      const l = lanes[i];
      const pi = Math.floor(i / THREADS);
      let ts = t0;
      for (let n = 0; n < perLane; n++) {
        const k = KINDS[Math.floor(rand() * KINDS.length)];
        const dur = step * (0.2 + rand() * 0.7);
        const ev = { k, ph: 'X', ts, dur, pid: l.pid, tid: l.tid };
        if (k === 'lock.hold' || k === 'lock.wait') ev.obj = locks[pi * 6 + Math.floor(rand() * 6)];
        if (k === 'msg.wait') ev.obj = l.pid * 4194304 + 100;
        push(pi, ev);
        ts += step;
      }
    }
    for (let i = 0; i < lanes.length; i++) {
      const l = lanes[i];
      push(Math.floor(i / THREADS), { k: 'thread.run', ph: 'e', ts: t0 + spanUs, pid: l.pid, tid: l.tid });
    }
    // Per process: time order; then cut into batches of 10k and interleave processes (arrival order).
    const batches = [];
    const cut = perProc.map((evs) => {
      evs.sort((x, y) => x.ts - y.ts);
      const out = [];
      for (let i = 0; i < evs.length; i += 10000) out.push(evs.slice(i, i + 10000));
      return out;
    });
    for (let r = 0; cut.some((c) => r < c.length); r++) for (const c of cut) if (r < c.length) batches.push(c[r]);
    return { batches, count };
  }

  /**
   * One live tick of exactly `n` events over [tsStart, tsEnd), in time order: lock holds spread over every lane, plus
   * per process one message from its second thread to the next process's main thread (whose lane
   * gives up one hold for the receive, so the count stays `n`).
   */
  function liveBatch(n, tsStart, tsEnd, seq) {
    const evs = [];
    const lanes = PROCS * THREADS;
    for (let p = 0; p < PROCS; p++) for (let t = 0; t < THREADS; t++) {
      const pid = 1000 + p, tid = t === 0 ? pid : 20000 + p * 100 + t;
      const lane = p * THREADS + t;
      let count = Math.floor(n / lanes) + (lane < n % lanes ? 1 : 0);
      if (t === 0 && PROCS > 1) count--; // this lane's share includes the receive sent from the previous process
      const step = (tsEnd - tsStart) / Math.max(1, count);
      for (let i = 0; i < count; i++) {
        const ts = tsStart + i * step;
        if (i === 0 && t === 1 && PROCS > 1) {
          const corr = 9000 * 4194304 + seq * 64 + p;
          const q = (p + 1) % PROCS;
          evs.push({ k: 'msg.send', ph: 'i', ts, pid, tid, obj: pid * 4194304 + 100, corr, a: { preview: "'x'", size: 10 } });
          evs.push({ k: 'msg.recv', ph: 'i', ts: ts + step / 2, pid: 1000 + q, tid: 1000 + q, obj: pid * 4194304 + 100, corr });
          continue; // the send takes this slot; the receive is counted on the receiving lane
        }
        evs.push({ k: 'lock.hold', ph: 'X', ts, dur: step * 0.6, pid, tid, obj: pid * 4194304 + 1 + (i % 6) });
      }
    }
    // In time order, as the runtime streams them (each thread records as it goes).
    return evs.sort((x, y) => x.ts - y.ts);
  }

  window.__bench = { generate, liveBatch };
})();
