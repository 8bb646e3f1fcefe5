/**
 * One traced run: a loopback event server with a fresh token, the program in a VS Code terminal
 * (`python script.py` launched with the runtime's options, see run/launch.ts, so it reads stdin and prints
 * as usual), and a watch on the supervisor process (the launched one; the program is its child). The run ends when the supervisor has exited and its processes' connections have
 * closed (bounded wait), or when Stop ends the whole process tree.
 */
import * as path from 'path';
import * as vscode from 'vscode';
import { ENV_LAUNCH, ENV_TOKEN } from '../protocol/wire';
import type { TraceEvent } from '../protocol';
import { EventServer } from './run/eventServer';
import { launchCommand } from './run/launch';
import { isAlive, killRunTree } from './run/procTree';
import { newRunToken } from './run/token';
import { Trace } from './run/trace';

export interface RunOptions {
  file: string;
  python: string;
  args: string[];
  cwd: string;
  runtimeDir: string;
  mode: string;
  deadlockTimeout: number;
  cpuInterval: number;
  log: vscode.LogOutputChannel;
  trace: Trace;
  onDeadlock(ev: TraceEvent): void;
}

/** How long connections may stay open after the supervisor exited (children still flushing). */
const DRAIN_MS = 3000;
/** Supervisor liveness poll: there is no exit event for a process that is not our child. */
const POLL_MS = 200;

export class TracedRun implements vscode.Disposable {
  readonly token = newRunToken();
  terminal: vscode.Terminal | undefined;
  supervisorPid: number | undefined;
  /** Every pid that connected or appeared in events (for Stop and the tests). */
  readonly pids = new Set<number>();
  private server: EventServer | undefined;
  private finished = false;
  private finishing: Promise<void> | undefined;
  private stopping = false;
  /** The last process.exit each process reported about another (the supervisor's is the program's). */
  private readonly exitReports = new Map<number, { code: number | null; signal: string | null }>();
  private readonly disposables: vscode.Disposable[] = [];
  private pollTimer: NodeJS.Timeout | undefined;
  private statusTimer: NodeJS.Timeout | undefined;
  private deadlockSeen = false;
  private resolveDone!: () => void;
  readonly done = new Promise<void>((r) => (this.resolveDone = r));

  constructor(readonly o: RunOptions) {}

  get running(): boolean {
    return !this.finished;
  }

  async start(): Promise<void> {
    const { log, trace } = this.o;
    this.server = await EventServer.listen({ token: this.token }, {
      onHello: (h) => {
        this.pids.add(h.pid);
        if (!trace.processNames.has(h.pid)) trace.processNames.set(h.pid, h.name);
        log.debug(`process ${h.pid} (${h.name}, parent ${h.ppid}) connected`);
      },
      onEvents: (events, from) => {
        for (const ev of events) {
          this.pids.add(ev.pid);
          // The supervisor reports how the program ended (process.exit for another pid). Kept by sender:
          // a short program's report can arrive before the terminal has told us the supervisor's pid.
          if (ev.k === 'process.exit' && ev.pid !== from.pid) {
            const code = typeof ev.a?.code === 'number' ? ev.a.code : null;
            const signal = typeof ev.a?.signal === 'string' ? ev.a.signal : null;
            this.exitReports.set(from.pid, { code, signal });
          }
          if (ev.k === 'deadlock' && !this.deadlockSeen) {
            this.deadlockSeen = true;
            this.o.onDeadlock(ev);
          }
        }
        trace.addEvents(events);
      },
      onWarning: (m) => log.warn(m),
      onConnectionClosed: (h, s) => {
        if (s.lostBatches) {
          trace.stats.addLost(s.lostBatches);
          trace.warn(`process ${h?.pid}: ${s.lostBatches} batch(es) of events were lost on the way`);
        }
        if (s.malformed) log.warn(`process ${h?.pid}: ${s.malformed} malformed event(s) skipped in total`);
      },
    });
    const { host, port } = this.server.address;
    // The program's own interpreter is launched (`python script.py args`); it forks its supervisor while
    // it starts (run/launch.ts), so the program does not wait for a second interpreter to start.
    const runOptions = ['--stream', `${host}:${port}`, '--mode', this.o.mode,
      '--deadlock-timeout', String(this.o.deadlockTimeout), '--cpu-interval', String(this.o.cpuInterval)];
    const launch = launchCommand(this.o.runtimeDir, runOptions, [this.o.file, ...this.o.args], process.env.PYTHONPATH);
    const args = launch.args;
    log.info(`running ${this.o.python} ${args.join(' ')} (cwd ${this.o.cwd}; events on ${host}:${port}; ${ENV_LAUNCH}=${runOptions.join(' ')})`);
    this.terminal = vscode.window.createTerminal({
      name: `Interleave: ${path.basename(this.o.file)}`,
      shellPath: this.o.python,
      shellArgs: args,
      cwd: this.o.cwd,
      // The stream address goes on the command line; the token only in the environment (not visible in ps).
      env: { ...launch.env, [ENV_TOKEN]: this.token },
      isTransient: true,
      iconPath: new vscode.ThemeIcon('pulse'),
    });
    this.terminal.show(true);
    this.disposables.push(vscode.window.onDidCloseTerminal((t) => {
      if (t === this.terminal) void this.finish('terminal closed');
    }));
    this.statusTimer = setInterval(() => trace.postStatus(), 500);
    const pid = await Promise.race([
      this.terminal.processId,
      new Promise<undefined>((r) => setTimeout(() => r(undefined), 15_000)),
    ]);
    if (pid === undefined) {
      trace.warn('The terminal did not report a process id; Stop can only close the terminal.');
      return;
    }
    this.supervisorPid = pid;
    this.pids.add(pid);
    this.pollTimer = setInterval(() => {
      if (!isAlive(pid)) void this.finish('supervisor exited');
    }, POLL_MS);
  }

  /** Ends the whole process tree (SIGTERM, then SIGKILL after a grace period) and keeps the trace. */
  async stop(): Promise<void> {
    if (this.finished || this.stopping) return this.finishing ?? this.done;
    this.stopping = true;
    this.o.trace.stopped = true;
    const r = await killRunTree(this.supervisorPid, this.token, 2000);
    this.o.log.info(`stop: SIGTERM to ${r.signalled.length} process(es), SIGKILL to ${r.killed.length}${r.survivors.length ? `, still alive: ${r.survivors.join(', ')}` : ''}`);
    if (r.survivors.length) this.o.trace.warn(`Stop could not end process(es) ${r.survivors.join(', ')}.`);
    if (!this.supervisorPid) this.terminal?.dispose();
    await this.finish('stopped');
  }

  private finish(why: string): Promise<void> {
    if (this.finishing) return this.finishing;
    this.finishing = (async () => {
      if (this.pollTimer) clearInterval(this.pollTimer);
      // Children may still be flushing their last batches; wait for their connections, bounded.
      await this.server?.drain(this.stopping ? 500 : DRAIN_MS);
      this.server?.close();
      if (this.statusTimer) clearInterval(this.statusTimer);
      this.finished = true;
      const reported = this.supervisorPid !== undefined ? this.exitReports.get(this.supervisorPid) : undefined;
      const exit = reported ?? { code: this.terminal?.exitStatus?.code ?? null, signal: this.stopping ? 'SIGTERM' : null };
      this.o.log.info(`run of ${path.basename(this.o.file)} ended (${why}): exit ${exit.code ?? '-'}${exit.signal ? `, signal ${exit.signal}` : ''}, ${this.o.trace.stats.eventCount} events`);
      if (this.o.trace.stats.eventCount === 0) {
        // Nothing arrived: the runtime did not start (an import error, an interpreter without it) or
        // the program ended before the first flush. The terminal shows what Python said.
        this.o.trace.warn('No trace events arrived from this run. The terminal shows what the program and Python printed.');
      }
      this.o.trace.finish(exit.code, exit.signal);
      this.resolveDone();
    })();
    return this.finishing;
  }

  dispose(): void {
    void this.stop();
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}
