import * as assert from 'assert';
import { encodeEvent, WireDecoder, WIRE_VERSION, WIRE_Z_DEFLATE, TraceEvent, KINDS, KIND_NAMES } from '../../protocol';

describe('protocol: live wire', () => {
  const hello = JSON.stringify({ t: 'hello', v: WIRE_VERSION, token: 'x', pid: 42, ppid: 1, name: 'main' });

  it('round-trips events through the compact tuple encoding', () => {
    const strings = new Map<string, number>();
    const intern = (s: string) => { let id = strings.get(s); if (!id) strings.set(s, (id = strings.size + 1)); return id; };
    const events: TraceEvent[] = [
      { k: 'lock.wait', ph: 'b', ts: 10, pid: 42, tid: 43, obj: 7, loc: '/tmp/a.py:3' },
      { k: 'lock.wait', ph: 'e', ts: 15, pid: 42, tid: 43, obj: 7, a: { ok: true } },
      { k: 'msg.send', ph: 'i', ts: 20, pid: 42, tid: 42, obj: 9, corr: 100, a: { preview: "'<b>'", size: 5 } },
      { k: 'async.slow', ph: 'X', ts: 30, dur: 12, pid: 42, tid: 42, a: { callback: 'cb' } },
    ];
    const ev = events.map((e) => encodeEvent(e, intern));
    const str = Object.fromEntries([...strings].map(([s, id]) => [String(id), s]));
    const d = new WireDecoder();
    assert.deepStrictEqual(d.decodeLine(hello), []);
    const back = d.decodeLine(JSON.stringify({ t: 'batch', seq: 0, str, ev }));
    assert.deepStrictEqual(back, events);
    // trailing absent fields are omitted on the wire
    assert.strictEqual(ev[0].length, 7);
  });

  it('skips malformed events but keeps the rest of the batch, and counts lost batches', () => {
    const d = new WireDecoder();
    d.decodeLine(hello);
    const out = d.decodeLine(JSON.stringify({ t: 'batch', seq: 2, ev: [[9999, 'i', 1, 1], [KINDS['thread.name'].code, 'i', 1, 1, 0, 0, 0, 0, { name: 'x' }], 'junk', [KINDS['lock.hold'].code, 'i', 1, 1]] }));
    assert.strictEqual(out.length, 1);
    assert.strictEqual(out[0].k, 'thread.name');
    assert.strictEqual(d.malformed, 3);
    assert.strictEqual(d.lostBatches, 2);
  });

  it('rejects batches before hello, wrong versions and non-JSON', () => {
    const d = new WireDecoder();
    assert.throws(() => d.decodeLine(JSON.stringify({ t: 'batch', seq: 0, ev: [] })), /before hello/);
    assert.throws(() => d.decodeLine(JSON.stringify({ t: 'hello', v: 99, token: 'x', pid: 1, ppid: 0 })), /version/);
    assert.throws(() => d.decodeLine('{oops'), /not JSON/);
  });

  it('keeps the deflate announcement of a hello and rejects compressions it does not know', () => {
    const d = new WireDecoder();
    d.decodeLine(JSON.stringify({ t: 'hello', v: WIRE_VERSION, token: 'x', pid: 7, ppid: 1, name: 'p', z: WIRE_Z_DEFLATE }));
    assert.strictEqual(d.hello?.z, 'deflate');
    const plain = new WireDecoder();
    plain.decodeLine(hello);
    assert.strictEqual(plain.hello?.z, undefined);
    assert.ok(!('z' in plain.hello!));
    assert.throws(() => new WireDecoder().decodeLine(JSON.stringify({ t: 'hello', v: WIRE_VERSION, token: 'x', pid: 7, ppid: 1, z: 'gzip' })),
      /unsupported compression gzip/);
  });

  it('has unique wire codes', () => {
    const codes = KIND_NAMES.map((k) => KINDS[k].code);
    assert.strictEqual(new Set(codes).size, codes.length);
  });
});

describe('protocol: events about another process', () => {
  it('carries a pid override for external children and keeps the connection pid otherwise', () => {
    const d = new WireDecoder();
    d.decodeLine(JSON.stringify({ t: 'hello', v: WIRE_VERSION, token: 'x', pid: 42, ppid: 1, name: 'main' }));
    const own: TraceEvent = { k: 'process.spawn', ph: 'i', ts: 1, pid: 42, tid: 42, corr: 5, a: { child: 77, method: 'subprocess' } };
    const ext: TraceEvent = { k: 'process.start', ph: 'i', ts: 2, pid: 77, tid: 77, corr: 5, a: { ppid: 42, name: 'ls', method: 'subprocess', external: true } };
    const ev = [own, ext].map((e) => encodeEvent(e, () => 1, 42));
    assert.strictEqual(ev[0].length, 9);
    assert.strictEqual(ev[1][9], 77);
    assert.deepStrictEqual(d.decodeLine(JSON.stringify({ t: 'batch', seq: 0, ev })), [own, ext]);
  });
});
