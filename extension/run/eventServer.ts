/**
 * The loopback TCP receiver for one run. Each traced process connects, says hello with the run token,
 * then streams newline-delimited batches (protocol/wire.ts). Connections with a wrong token, an
 * oversized line or a broken hello are closed and nothing from them is kept; a malformed batch line is
 * skipped and reported once per connection, never allowed to stop the run or the editor.
 *
 * A hello with `z: 'deflate'` (the supervisor's relay) means everything after the hello line is one
 * zlib stream, flushed after every batch: it is inflated (Node's zlib, off the main thread's JS) before
 * line splitting. A corrupt stream ends that connection with a warning; what arrived before stays.
 */
import * as net from 'net';
import * as zlib from 'zlib';
import { MAX_LINE_BYTES, ProtocolError, WIRE_Z_DEFLATE, WireDecoder, WireHello } from '../../protocol/wire';
import type { TraceEvent } from '../../protocol';
import { tokenMatches } from './token';

/** The hello is tiny; anything this long before it is not one of ours. */
const MAX_HELLO_BYTES = 64 * 1024;
/** A connection that says nothing for this long after connecting is dropped. */
const HELLO_TIMEOUT_MS = 15_000;
/**
 * Decoding work per event-loop turn before sockets are paused until the next turn. Node runs every
 * ready socket's callback in one poll phase; with many flooding processes that phase could grow long
 * enough to starve the extension host's timers and other extensions. The kernel buffers meanwhile and
 * TCP backpressure slows the producers.
 */
const YIELD_AFTER_MS = 15;

export interface EventServerHooks {
  onEvents(events: TraceEvent[], from: WireHello): void;
  onHello?(hello: WireHello): void;
  /** A problem worth one line in the log (and maybe a banner). */
  onWarning?(message: string): void;
  onConnectionClosed?(hello: WireHello | undefined, stats: { malformed: number; lostBatches: number }): void;
}

export interface EventServerOptions {
  token: string;
  maxLineBytes?: number;
  host?: string;
}

export class EventServer {
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private readonly maxLine: number;
  private turnWorkMs = 0;
  private turnResetScheduled = false;
  private readonly paused = new Set<net.Socket>();
  /** Called when a connection is fully done (socket closed and, if deflated, its inflater drained). */
  private readonly doneWaiters = new Set<() => void>();
  /** Connections that passed the token check. */
  accepted = 0;
  /** Times a socket was paused to let the event loop breathe (for the benchmark). */
  yields = 0;
  rejected = 0;

  private constructor(private readonly opts: EventServerOptions, private readonly hooks: EventServerHooks) {
    this.maxLine = opts.maxLineBytes ?? MAX_LINE_BYTES;
    this.server = net.createServer((s) => this.onConnection(s));
  }

  static async listen(opts: EventServerOptions, hooks: EventServerHooks): Promise<EventServer> {
    const s = new EventServer(opts, hooks);
    await new Promise<void>((resolve, reject) => {
      s.server.once('error', reject);
      s.server.listen(0, opts.host ?? '127.0.0.1', () => {
        s.server.off('error', reject);
        resolve();
      });
    });
    return s;
  }

  get address(): { host: string; port: number } {
    const a = this.server.address() as net.AddressInfo;
    return { host: a.address, port: a.port };
  }

  get openConnections(): number {
    return this.sockets.size;
  }

  /** Resolves when every connection has closed, or after `timeoutMs` (then they are destroyed). */
  async drain(timeoutMs: number): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (this.sockets.size && Date.now() < end) {
      await new Promise<void>((resolve) => {
        const check = (): void => {
          clearTimeout(t);
          this.doneWaiters.delete(check);
          resolve();
        };
        const t = setTimeout(check, Math.max(1, end - Date.now()));
        this.doneWaiters.add(check);
      });
    }
  }

  close(): void {
    this.server.close();
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  /** Adds decoding time to this turn's budget; past it, pauses the sockets until the next turn. */
  private account(ms: number): void {
    this.turnWorkMs += ms;
    if (!this.turnResetScheduled) {
      this.turnResetScheduled = true;
      // setImmediate runs after this poll phase; timers get their turn before sockets are read again.
      setImmediate(() => {
        this.turnWorkMs = 0;
        this.turnResetScheduled = false;
        for (const s of this.paused) s.resume();
        this.paused.clear();
      });
    }
    if (this.turnWorkMs > YIELD_AFTER_MS && !this.paused.size) {
      // Pause every connection, not just this one: the others' callbacks are in the same poll phase.
      for (const s of this.sockets) {
        if (s.destroyed) continue;
        s.pause();
        this.paused.add(s);
      }
      this.yields++;
    }
  }

  private onConnection(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.setNoDelay(true);
    const decoder = new WireDecoder();
    let buffered: Buffer[] = [];
    let bufferedBytes = 0;
    let ok = false; // hello with the right token seen
    let warned = false;
    let closed = false;
    /** Set once a hello announced deflate: the bytes after the hello go through it. */
    let inflater: zlib.Inflate | undefined;
    let finished = false;
    const helloTimer = setTimeout(() => reject('no hello within the time limit'), HELLO_TIMEOUT_MS);

    const warnOnce = (msg: string): void => {
      if (warned) return;
      warned = true;
      this.hooks.onWarning?.(msg);
    };
    const reject = (why: string): void => {
      if (closed) return;
      if (!ok) this.rejected++;
      this.hooks.onWarning?.(`event stream connection rejected: ${why}`);
      closed = true;
      socket.destroy();
    };
    const handleLine = (line: string): void => {
      if (!ok) {
        let msg: unknown;
        try {
          msg = JSON.parse(line);
        } catch {
          return reject('the first line is not JSON');
        }
        if (typeof msg !== 'object' || msg === null || (msg as { t?: unknown }).t !== 'hello') return reject('the first line is not a hello');
        if (!tokenMatches(this.opts.token, (msg as { token?: unknown }).token)) return reject('wrong token');
        try {
          decoder.decodeLine(line);
        } catch (err) {
          return reject(err instanceof Error ? err.message : String(err));
        }
        ok = true;
        clearTimeout(helloTimer);
        this.accepted++;
        if ((msg as { z?: unknown }).z === WIRE_Z_DEFLATE) inflater = startInflater();
        this.hooks.onHello?.(decoder.hello!);
        return;
      }
      try {
        const before = decoder.malformed;
        const events = decoder.decodeLine(line);
        if (decoder.malformed > before) warnOnce(`process ${decoder.hello!.pid}: ${decoder.malformed - before} malformed event(s) skipped`);
        if (events.length) this.hooks.onEvents(events, decoder.hello!);
      } catch (err) {
        if (err instanceof ProtocolError) warnOnce(`process ${decoder.hello!.pid}: malformed line skipped (${err.message})`);
        else warnOnce(`process ${decoder.hello!.pid}: ${String(err)}`);
      }
    };

    const timed = (chunk: Buffer): void => {
      if (closed) return;
      const t0 = performance.now();
      try {
        onChunk(chunk);
      } finally {
        this.account(performance.now() - t0);
      }
    };
    const startInflater = (): zlib.Inflate => {
      // finishFlush: a stream cut off at a batch boundary (a supervisor that was killed) is not an error.
      const z = zlib.createInflate({ finishFlush: zlib.constants.Z_SYNC_FLUSH });
      z.on('data', timed);
      z.on('error', (err: Error) => {
        if (!closed) warnOnce(`process ${decoder.hello!.pid}: corrupt compressed stream (${err.message}); connection closed`);
        closed = true;
        socket.destroy();
        finish();
      });
      z.on('end', finish);
      return z;
    };
    socket.on('data', (chunk: Buffer) => {
      if (closed) return;
      if (inflater) inflater.write(chunk);
      else timed(chunk);
    });
    const onChunk = (chunk: Buffer): void => {
      let start = 0;
      for (;;) {
        const nl = chunk.indexOf(10, start);
        if (nl < 0) break;
        const piece = chunk.subarray(start, nl);
        const line = bufferedBytes ? Buffer.concat([...buffered, piece]).toString('utf8') : piece.toString('utf8');
        buffered = [];
        bufferedBytes = 0;
        start = nl + 1;
        const wasOk = ok;
        if (line.length) handleLine(line);
        if (closed) return;
        if (!wasOk && ok && inflater) {
          // The hello came in clear; the rest of this chunk already belongs to the compressed stream.
          if (start < chunk.length) inflater.write(chunk.subarray(start));
          return;
        }
      }
      if (start < chunk.length) {
        const rest = chunk.subarray(start);
        buffered.push(rest);
        bufferedBytes += rest.length;
        const limit = ok ? this.maxLine : MAX_HELLO_BYTES;
        if (bufferedBytes > limit) {
          if (ok) warnOnce(`process ${decoder.hello!.pid}: a line longer than ${limit} bytes; connection closed`);
          reject(`a line longer than ${limit} bytes`);
        }
      }
    };
    socket.on('error', () => { /* a peer that died mid-write; 'close' follows */ });
    const finish = (): void => {
      if (finished) return;
      finished = true;
      closed = true;
      this.sockets.delete(socket);
      this.paused.delete(socket);
      if (ok) this.hooks.onConnectionClosed?.(decoder.hello, { malformed: decoder.malformed, lostBatches: decoder.lostBatches });
      for (const w of [...this.doneWaiters]) w();
    };
    socket.on('close', () => {
      clearTimeout(helloTimer);
      this.paused.delete(socket);
      // Compressed: the inflater may still hold the last batches; the connection is done once it has
      // given them out ('end', or 'error' for a corrupt stream).
      if (inflater && !finished && !closed) inflater.end();
      else finish();
    });
  }
}
