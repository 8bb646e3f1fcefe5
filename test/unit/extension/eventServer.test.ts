import * as assert from 'assert';
import * as net from 'net';
import * as zlib from 'zlib';
import { EventServer } from '../../../extension/run/eventServer';
import { newRunToken } from '../../../extension/run/token';
import type { TraceEvent, WireHello } from '../../../protocol';

interface Collected {
  events: TraceEvent[];
  hellos: WireHello[];
  warnings: string[];
  closed: number;
}

async function withServer(fn: (s: EventServer, c: Collected, token: string) => Promise<void>, maxLineBytes?: number): Promise<void> {
  const token = newRunToken();
  const c: Collected = { events: [], hellos: [], warnings: [], closed: 0 };
  const s = await EventServer.listen({ token, maxLineBytes }, {
    onEvents: (evs) => c.events.push(...evs),
    onHello: (h) => c.hellos.push(h),
    onWarning: (w) => c.warnings.push(w),
    onConnectionClosed: () => c.closed++,
  });
  try {
    await fn(s, c, token);
  } finally {
    s.close();
  }
}

function connect(s: EventServer): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(s.address.port, '127.0.0.1', () => resolve(sock));
    sock.on('error', reject);
  });
}

const closed = (sock: net.Socket): Promise<void> => new Promise((r) => sock.once('close', () => r()));
const hello = (token: string, pid = 4242) => JSON.stringify({ t: 'hello', v: 1, token, pid, ppid: 1, name: 'prog' }) + '\n';

describe('extension/run/eventServer', () => {
  it('listens on loopback only', async () => {
    await withServer(async (s) => {
      assert.strictEqual(s.address.host, '127.0.0.1');
      assert.ok(s.address.port > 0);
    });
  });

  it('decodes batches split across TCP chunks, with interned locations and per-event pids', async () => {
    await withServer(async (s, c, token) => {
      const sock = await connect(s);
      const batch = JSON.stringify({ t: 'batch', seq: 0, str: { 1: '/w/bank.py:12' }, ev: [[21, 'b', 100, 7, 5, 0, 1], [4, 'i', 200, 7, 0, 0, 0, 0, { code: 0 }, 999]] }) + '\n';
      const all = hello(token) + batch;
      // one byte at a time for the first part, to exercise line reassembly
      for (let i = 0; i < 40; i++) sock.write(all[i]);
      sock.end(all.slice(40));
      await closed(sock);
      await s.drain(1000);
      assert.strictEqual(c.hellos.length, 1);
      assert.deepStrictEqual(c.events, [
        { k: 'lock.wait', ph: 'b', ts: 100, pid: 4242, tid: 7, obj: 5, loc: '/w/bank.py:12' },
        { k: 'process.exit', ph: 'i', ts: 200, pid: 999, tid: 7, a: { code: 0 } },
      ]);
      assert.strictEqual(s.accepted, 1);
    });
  });

  it('rejects a wrong token and keeps nothing from that connection', async () => {
    await withServer(async (s, c, token) => {
      const sock = await connect(s);
      const wrong = token.replace(/^./, (ch) => (ch === 'a' ? 'b' : 'a'));
      sock.write(hello(wrong) + JSON.stringify({ t: 'batch', seq: 0, ev: [[21, 'b', 1, 1]] }) + '\n');
      await closed(sock);
      assert.deepStrictEqual(c.events, []);
      assert.strictEqual(s.rejected, 1);
      assert.ok(c.warnings.some((w) => /wrong token/.test(w)));
    });
  });

  it('rejects a connection that sends no newline-terminated hello within the size limit', async () => {
    await withServer(async (s, c) => {
      const sock = await connect(s);
      sock.write('x'.repeat(70 * 1024));
      await closed(sock);
      assert.strictEqual(s.rejected, 1);
      assert.ok(c.warnings.some((w) => /longer than/.test(w)));
    });
  });

  it('skips malformed lines and events, warns once, and keeps the valid events', async () => {
    await withServer(async (s, c, token) => {
      const sock = await connect(s);
      sock.write(hello(token));
      sock.write('{not json\n');
      sock.write(JSON.stringify({ t: 'batch', seq: 0, ev: [[21, 'b', 1, 1], ['bad'], [9999, 'i', 1, 1]] }) + '\n');
      sock.write('[1,2,3]\n');
      sock.end(JSON.stringify({ t: 'batch', seq: 1, ev: [[21, 'e', 2, 1, 0, 0, 0, 0, { ok: true }]] }) + '\n');
      await closed(sock);
      await s.drain(1000);
      assert.deepStrictEqual(c.events.map((e) => `${e.k}/${e.ph}`), ['lock.wait/b', 'lock.wait/e']);
      assert.strictEqual(c.warnings.length, 1, `one warning per connection, got ${JSON.stringify(c.warnings)}`);
    });
  });

  it('closes a connection whose line exceeds the limit, keeping what came before', async () => {
    await withServer(async (s, c, token) => {
      const sock = await connect(s);
      sock.write(hello(token) + JSON.stringify({ t: 'batch', seq: 0, ev: [[21, 'b', 1, 1]] }) + '\n');
      sock.write('{"t":"batch","seq":1,"ev":[' + '[21,"b",1,1],'.repeat(1000));
      await closed(sock);
      assert.strictEqual(c.events.length, 1);
      assert.ok(c.warnings.some((w) => /longer than 4096 bytes/.test(w)));
    }, 4096);
  });

  describe('deflated connections (hello z: "deflate")', () => {
    const zhello = (token: string, pid = 4242) => JSON.stringify({ t: 'hello', v: 1, token, pid, ppid: 1, name: 'prog', z: 'deflate' }) + '\n';
    const batches = [
      { t: 'batch', seq: 0, str: { 1: '/w/bank.py:12' }, ev: [[21, 'b', 100, 7, 5, 0, 1], [22, 'X', 101, 7, 5, 0, 1, 3]] },
      { t: 'batch', seq: 1, ev: [[31, 'i', 150, 8, 9, 77, 0, 0, { preview: "'x'", size: 3 }], [4, 'i', 200, 7, 0, 0, 0, 0, { code: 0 }, 999]] },
    ];
    /** As the supervisor's relay writes: one zlib stream, a sync flush after every batch line. */
    const deflated = (lines: string[]): Buffer[] => {
      // Each line deflated on its own and sync-flushed; spliced as one stream: the first keeps the zlib
      // header, the others drop theirs (a piece never refers back to an earlier one, so this is a valid
      // stream, as the relay's is).
      const parts = lines.map((l) => zlib.deflateSync(Buffer.from(l), { level: 1, finishFlush: zlib.constants.Z_SYNC_FLUSH }));
      return parts.map((p, i) => (i === 0 ? p : p.subarray(2)));
    };
    const until = async (cond: () => boolean): Promise<void> => {
      const end = Date.now() + 5000;
      while (!cond() && Date.now() < end) await new Promise((r) => setImmediate(r));
    };

    async function expectedPlain(): Promise<TraceEvent[]> {
      let events: TraceEvent[] = [];
      await withServer(async (s, c, tok) => {
        const sock = await connect(s);
        sock.end(hello(tok) + batches.map((b) => JSON.stringify(b) + '\n').join(''));
        await closed(sock);
        await s.drain(1000);
        events = c.events;
      });
      return events;
    }

    it('inflates before line splitting and decodes the same events as a plain v1 connection', async () => {
      const plain = await expectedPlain();
      assert.strictEqual(plain.length, 4);
      await withServer(async (s, c, token) => {
        const sock = await connect(s);
        const [first, ...rest] = deflated(batches.map((b) => JSON.stringify(b) + '\n'));
        // The hello and the start of the compressed stream in one TCP chunk, the rest byte by byte.
        sock.write(Buffer.concat([Buffer.from(zhello(token)), first.subarray(0, 5)]));
        const tail = Buffer.concat([first.subarray(5), ...rest]);
        for (let i = 0; i < tail.length; i++) sock.write(tail.subarray(i, i + 1));
        sock.end();
        await closed(sock);
        await s.drain(2000);
        assert.deepStrictEqual(c.events, plain);
        assert.strictEqual(c.hellos[0].z, 'deflate');
        assert.strictEqual(c.closed, 1);
        assert.deepStrictEqual(c.warnings, []);
      });
    });

    it('delivers each batch as soon as its flushed block arrives, before the connection ends', async () => {
      await withServer(async (s, c, token) => {
        const sock = await connect(s);
        const [first, second] = deflated(batches.map((b) => JSON.stringify(b) + '\n'));
        sock.write(zhello(token));
        sock.write(first);
        await until(() => c.events.length >= 2);
        assert.strictEqual(c.events.length, 2, 'the first batch arrived while the connection is open');
        assert.strictEqual(c.closed, 0);
        sock.end(second);
        await closed(sock);
        await s.drain(2000);
        assert.strictEqual(c.events.length, 4);
      });
    });

    it('ends a connection whose compressed stream is corrupt, with a clear warning, keeping what arrived', async () => {
      await withServer(async (s, c, token) => {
        const sock = await connect(s);
        const [first] = deflated(batches.map((b) => JSON.stringify(b) + '\n'));
        sock.write(zhello(token));
        sock.write(first);
        await until(() => c.events.length >= 2); // what arrived before the corruption was decoded
        sock.end(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x00, 0x13, 0x37, 0xde, 0xad]));
        await s.drain(2000);
        assert.deepStrictEqual(c.events.map((e) => `${e.k}/${e.ph}`), ['lock.wait/b', 'lock.hold/X']);
        assert.ok(c.warnings.some((w) => /process 4242: corrupt compressed stream/.test(w)), JSON.stringify(c.warnings));
        assert.strictEqual(c.closed, 1);
        assert.strictEqual(s.openConnections, 0);
      });
    });

    it('rejects a hello announcing a compression it does not know', async () => {
      await withServer(async (s, c, token) => {
        const sock = await connect(s);
        sock.write(JSON.stringify({ t: 'hello', v: 1, token, pid: 5, ppid: 1, name: 'p', z: 'brotli' }) + '\n');
        await closed(sock);
        assert.strictEqual(s.rejected, 1);
        assert.ok(c.warnings.some((w) => /unsupported compression brotli/.test(w)));
      });
    });
  });

  it('drain waits for open connections and returns when they close', async () => {
    await withServer(async (s, _c, token) => {
      const sock = await connect(s);
      sock.write(hello(token));
      const t0 = Date.now();
      setTimeout(() => sock.end(), 100);
      await s.drain(5000);
      assert.strictEqual(s.openConnections, 0);
      assert.ok(Date.now() - t0 < 4000);
    });
  });
});
