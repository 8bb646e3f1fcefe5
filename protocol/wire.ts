/**
 * The live wire: how each traced process streams events to the extension host.
 *
 * Transport: one TCP connection per process to a loopback port chosen by the host. Framing: UTF-8,
 * one JSON value per line (`\n`-terminated; JSON escapes newlines inside strings). The first line is a
 * `WireHello` carrying the per-run token; the host drops connections whose token is wrong. Every
 * following line is a `WireBatch`. Events are compact tuples (see `WireEvent`) whose strings (`loc`)
 * are interned per connection, so a typical event costs 20–40 bytes.
 *
 * Compression (optional, additive to v1): a hello with `z: 'deflate'` means every byte after the hello
 * line is one zlib (RFC 1950) stream carrying the same lines, flushed (Z_SYNC_FLUSH) after each batch
 * so that every batch can be inflated as soon as it arrives. The runtime's supervisor relays this way
 * (about 5x fewer bytes); receivers inflate before splitting lines.
 */
import { Args, isKind, Kind, KINDS, kindFromCode, Phase, PHASES, TraceEvent } from './events';

export const WIRE_VERSION = 1;
/** `WireHello.z` value: the rest of the connection is deflated (zlib format). */
export const WIRE_Z_DEFLATE = 'deflate';
/** Environment variables the host sets for the runtime. */
export const ENV_STREAM = 'INTERLEAVE_STREAM'; // "host:port"
export const ENV_TOKEN = 'INTERLEAVE_TOKEN';
/**
 * Launch by fork (the fast start): the host runs `python script.py args` itself with PYTHONPATH starting
 * at `runtime/interleave/_boot` and this variable holding the `run` options (`--stream HOST:PORT`,
 * `--mode`, ...) joined by LAUNCH_SEPARATOR. The runtime's sitecustomize forks there: the launched
 * process becomes the supervisor (same exit status and signals as a plain run), its child goes on
 * to be the program, without a second interpreter start. See runtime/interleave/launch.py.
 */
export const ENV_LAUNCH = 'INTERLEAVE_LAUNCH';
export const LAUNCH_SEPARATOR = '\x1f';
/** Where the fork launch's sitecustomize lives, relative to the runtime folder. */
export const LAUNCH_BOOT_DIR = ['interleave', '_boot'];
/** A line longer than this is a protocol error (protects the host from a runaway producer). */
export const MAX_LINE_BYTES = 16 * 1024 * 1024;

export interface WireHello {
  t: 'hello';
  v: number;
  token: string;
  pid: number;
  ppid: number;
  /** Process display name (script name, `Process-1`, `ls`, ...). */
  name: string;
  /** Present when everything after the hello line is a zlib stream (see the header comment). */
  z?: typeof WIRE_Z_DEFLATE;
}

/**
 * `[code, ph, ts, tid, obj, corr, loc, dur, a, pid]` — trailing fields may be omitted; `0` means absent
 * for obj/corr/loc/dur/pid, `null` for a. `code` is `KINDS[k].code`; `loc` is an id from `str`.
 * `pid` overrides the connection's pid: a process reporting on another (an external child such as `ls`,
 * or the supervisor reporting how the program exited) sets it.
 */
export type WireEvent = [number, Phase, number, number, number?, number?, number?, number?, (Args | null)?, number?];

export interface WireBatch {
  t: 'batch';
  /** Batch sequence number per connection, from 0; a gap means lost batches. */
  seq: number;
  /** New interned strings: id → text. Ids are per connection and start at 1. */
  str?: Record<string, string>;
  ev: WireEvent[];
}

export type WireMessage = WireHello | WireBatch;

/** `connectionPid`: the pid of the hello; events of other processes carry their own. */
export function encodeEvent(ev: TraceEvent, intern: (s: string) => number, connectionPid = ev.pid): WireEvent {
  const t: WireEvent = [
    KINDS[ev.k].code, ev.ph, ev.ts, ev.tid,
    ev.obj ?? 0, ev.corr ?? 0, ev.loc ? intern(ev.loc) : 0, ev.dur ?? 0, ev.a ?? null, ev.pid === connectionPid ? 0 : ev.pid,
  ];
  while (t.length > 4 && (t[t.length - 1] === 0 || t[t.length - 1] === null)) t.pop();
  return t;
}

/** Thrown for input that does not follow the protocol; the message says what was wrong. */
export class ProtocolError extends Error {}

/**
 * Decodes one connection's lines. Keeps the string table and checks sequence numbers; a malformed
 * event is skipped and counted, never allowed to poison the rest of the batch.
 */
export class WireDecoder {
  readonly strings = new Map<number, string>();
  hello: WireHello | undefined;
  nextSeq = 0;
  malformed = 0;
  lostBatches = 0;

  /** Returns the decoded events of a batch line, or [] for the hello. Throws ProtocolError. */
  decodeLine(line: string): TraceEvent[] {
    let msg: unknown;
    try {
      msg = JSON.parse(line);
    } catch {
      throw new ProtocolError('line is not JSON');
    }
    if (!isObject(msg)) throw new ProtocolError('message is not an object');
    if (msg.t === 'hello') {
      if (this.hello) throw new ProtocolError('second hello on one connection');
      this.hello = checkHello(msg);
      return [];
    }
    if (msg.t !== 'batch') throw new ProtocolError(`unknown message type ${String(msg.t)}`);
    if (!this.hello) throw new ProtocolError('batch before hello');
    if (!Number.isInteger(msg.seq) || !Array.isArray(msg.ev)) throw new ProtocolError('batch without seq or ev');
    const seq = msg.seq as number;
    if (seq > this.nextSeq) this.lostBatches += seq - this.nextSeq;
    this.nextSeq = Math.max(this.nextSeq, seq + 1);
    if (msg.str !== undefined) {
      if (!isObject(msg.str)) throw new ProtocolError('str is not an object');
      for (const [id, text] of Object.entries(msg.str)) {
        if (typeof text === 'string' && /^[1-9][0-9]*$/.test(id)) this.strings.set(Number(id), text);
      }
    }
    const pid = this.hello.pid;
    const out: TraceEvent[] = [];
    for (const raw of msg.ev as unknown[]) {
      const ev = decodeWireEvent(raw, pid, this.strings);
      if (ev) out.push(ev);
      else this.malformed++;
    }
    return out;
  }
}

function checkHello(m: Record<string, unknown>): WireHello {
  if (m.v !== WIRE_VERSION) throw new ProtocolError(`unsupported wire version ${String(m.v)} (expected ${WIRE_VERSION})`);
  if (typeof m.token !== 'string' || !isPid(m.pid) || !isPid(m.ppid, true)) throw new ProtocolError('malformed hello');
  if (m.z !== undefined && m.z !== WIRE_Z_DEFLATE) throw new ProtocolError(`unsupported compression ${String(m.z)}`);
  const hello: WireHello = { t: 'hello', v: WIRE_VERSION, token: m.token, pid: m.pid as number, ppid: m.ppid as number, name: typeof m.name === 'string' ? m.name : String(m.pid) };
  if (m.z === WIRE_Z_DEFLATE) hello.z = WIRE_Z_DEFLATE;
  return hello;
}

export function decodeWireEvent(raw: unknown, pid: number, strings: ReadonlyMap<number, string>): TraceEvent | undefined {
  if (!Array.isArray(raw) || raw.length < 4 || raw.length > 10) return undefined;
  const [code, ph, ts, tid, obj = 0, corr = 0, loc = 0, dur = 0, a = null, evPid = 0] = raw as unknown[];
  const k: Kind | undefined = typeof code === 'number' ? kindFromCode(code) : undefined;
  if (!k || !isPhaseOf(k, ph) || !isFiniteNum(ts) || !isPid(tid, true)) return undefined;
  if (!isFiniteNum(obj) || !isFiniteNum(corr) || !isFiniteNum(dur) || dur < 0 || !Number.isInteger(loc)) return undefined;
  if (a !== null && !isObject(a)) return undefined;
  if (!isPid(evPid, true)) return undefined;
  const ev: TraceEvent = { k, ph, ts, pid: (evPid as number) || pid, tid: tid as number };
  if (obj) ev.obj = obj;
  if (corr) ev.corr = corr;
  if (loc) {
    const s = strings.get(loc as number);
    if (s !== undefined) ev.loc = s;
  }
  if (ph === 'X') ev.dur = dur;
  if (a) ev.a = a as Args;
  return ev;
}

export function isPhaseOf(k: Kind, ph: unknown): ph is Phase {
  return typeof ph === 'string' && (KINDS[k].phases as readonly string[]).includes(ph);
}
export function isPhase(ph: unknown): ph is Phase {
  return typeof ph === 'string' && (PHASES as readonly string[]).includes(ph);
}
export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
function isFiniteNum(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}
function isPid(v: unknown, allowZero = false): boolean {
  return Number.isInteger(v) && ((v as number) > 0 || (allowZero && v === 0));
}

/** Validates an event that arrived as an object (from a webview message or a saved file). */
export function isTraceEvent(v: unknown): v is TraceEvent {
  if (!isObject(v) || !isKind(v.k) || !isPhaseOf(v.k, v.ph)) return false;
  if (!isFiniteNum(v.ts) || !isPid(v.pid, true) || !isPid(v.tid, true)) return false;
  if (v.dur !== undefined && !(isFiniteNum(v.dur) && v.dur >= 0)) return false;
  if (v.obj !== undefined && !isFiniteNum(v.obj)) return false;
  if (v.corr !== undefined && !isFiniteNum(v.corr)) return false;
  if (v.loc !== undefined && typeof v.loc !== 'string') return false;
  if (v.a !== undefined && !isObject(v.a)) return false;
  return true;
}
