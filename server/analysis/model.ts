/**
 * The module model the rules query: every function's facts merged, names resolved, concurrent entry
 * points found (threads, timers, pools, executors, processes, tasks, greenlets) and followed through the
 * call graph, and shared-state keys computed for every access.
 */
import type { Range } from '../../protocol/lsp';
import { Access, Arg, Binding, Call, ClassFacts, Fn, Unit, newFn } from './facts';

export type EntryKind = 'thread' | 'process' | 'task' | 'greenlet';

export interface Entry {
  kind: EntryKind;
  targets: Fn[];
  /** Where it is started (the Thread(...)/submit(...) call, or the class for Thread subclasses). */
  site: Range;
  /** Several instances may run at once (started in a loop, from a pool, or from several sites). */
  multi: boolean;
  /** `Thread subclass run()`: each instance has its own `self`. */
  perInstanceSelf: boolean;
  label: string;
  /** `args=(…)` element texts mapped onto the target's parameters. */
  argMap?: Map<string, string>;
  /** Set when the entry is started in another file (which imports this one). */
  file?: string;
  /** Reached through a call from another file's threaded code: that call (the start site is `file`/`site`). */
  via?: { file: string; range: Range };
  /** A `via` call made with a lock held (or from a helper only called under one). */
  held?: boolean;
  /** Files crossed from the start site to here (bounded by MAX_IMPORT_DEPTH). */
  depth?: number;
  /**
   * A pseudo entry for the main thread while `running` runs (between its start() and join(), see
   * mainthread.ts): its writes race only with the writes of `running`.
   */
  main?: { running: Entry; join?: Range };
}

/** How many files a thread's calls are followed across (import chains, cycles). */
export const MAX_IMPORT_DEPTH = 4;

/** A thread/process started in one file on a function another file defines (found through imports). */
export interface ImportedEntry {
  kind: EntryKind;
  /** Dotted module as written in the starting file (`pkg.worker`, `.worker`), and the function's name there. */
  module: string;
  /** `work` or `Class.method`. */
  name: string;
  site: Range;
  multi: boolean;
  label: string;
  /**
   * Set for calls from threaded code into the module (not thread starts): the file where the thread is
   * started when that is not the calling file (an entry that itself came from another file).
   */
  originFile?: string;
  /** The call, in the calling file, that leads into the module. */
  via?: Range;
  held?: boolean;
  depth?: number;
}

/** An entry point started in another file, targeting a function of this one (see ImportedEntry). */
export interface ExternalEntry {
  kind: EntryKind;
  name: string;
  /** Where the thread is started; '' when that is the analysed file itself (an import cycle back home). */
  file: string;
  site: Range;
  multi: boolean;
  label: string;
  via?: { file: string; range: Range };
  held?: boolean;
  depth?: number;
}

const LOCK_CTORS = /(^|\.)(Lock|RLock|Condition|Semaphore|BoundedSemaphore)$/;
const SAFE_CTORS = /(^|\.)(Queue|SimpleQueue|LifoQueue|PriorityQueue|JoinableQueue|local|Event|Barrier|Lock|RLock|Condition|Semaphore|BoundedSemaphore|Value|Array|RawValue|RawArray|Manager|Pool|ThreadPool|ThreadPoolExecutor|ProcessPoolExecutor|Thread|Process|Timer|Pipe|count)$/;

export type BindingKind = 'lock' | 'queue' | 'asyncqueue' | 'local' | 'event' | 'value' | 'array' | 'pool' | 'threadpool'
  | 'procexec' | 'threadexec' | 'process' | 'thread' | 'mutable' | 'processlist' | 'other';

export class ModuleModel {
  readonly module: Fn;
  readonly fns: Fn[];
  readonly classes: ClassFacts[];
  readonly entries: Entry[] = [];
  /**
   * Thread and process starts whose target is a call (`Thread(target=work())`: IL014) or whose args is an
   * expression in parentheses rather than a tuple (`args=(i)`: IL015).
   */
  readonly startArgs: { fn: Fn; call: Call; kind: EntryKind; target?: Arg; args?: Arg }[] = [];
  /** Function → the entries it runs under (thread/process/task contexts), via the call graph. */
  readonly contexts = new Map<Fn, Entry[]>();
  /** Functions only ever called with a lock held. */
  readonly lockedHelpers = new Set<Fn>();
  /** Functions that (transitively) create a process or process pool. */
  readonly createsProcess = new Set<Fn>();
  readonly calleesOf = new Map<Fn, Fn[]>();
  readonly callSites = new Map<Fn, { call: Call; caller: Fn }[]>();
  readonly imports = new Map<string, string>();
  private readonly moduleBindings = new Map<string, Binding>();
  private readonly byName = new Map<string, Fn[]>();
  private readonly methodsByName = new Map<string, Fn[]>();
  private readonly classNames = new Set<string>();

  /** Entry points whose target is imported from another module (for the workspace index). */
  readonly outgoing: ImportedEntry[] = [];
  /** Functions of this file that other files start or call from threaded code (ExternalEntry by target). */
  private readonly externalSites = new Map<Fn, ExternalEntry[]>();

  constructor(units: Unit[], readonly text: string, private readonly external: ExternalEntry[] = []) {
    const parts = units.map((u) => u.module);
    this.module = mergeModule(parts);
    this.fns = [this.module, ...units.flatMap((u) => u.fns)];
    this.classes = units.flatMap((u) => u.classes);
    for (const [k, v] of this.module.imports) this.imports.set(k, v);
    for (const c of this.classes) this.classNames.add(c.name);
    for (const b of this.module.bindings) if (!b.iterates) this.moduleBindings.set(b.name, b);
    for (const fn of this.fns) {
      if (fn.isModule || fn.isLambda) continue;
      const list = fn.cls ? this.methodsByName : this.byName;
      const l = list.get(fn.name) ?? [];
      l.push(fn);
      list.set(fn.name, l);
    }
    this.buildCallGraph();
    this.findEntries();
    this.propagateContexts();
    this.findLockedHelpers();
    this.findProcessCreators();
    this.findOutgoingCalls();
  }

  isModuleScope(fn: Fn | undefined): boolean {
    return !fn || fn.isModule;
  }

  /** The dotted origin of a callee: `Pool` imported from multiprocessing.dummy → `multiprocessing.dummy.Pool`. */
  resolveCallee(callee: string): string {
    let r = this.calleeCache.get(callee);
    if (r === undefined) { r = this.resolveCalleeUncached(callee); this.calleeCache.set(callee, r); }
    return r;
  }

  private readonly calleeCache = new Map<string, string>();
  private readonly mayResolve = new Map<string, boolean>();

  private resolveCalleeUncached(callee: string): string {
    const first = callee.split('.')[0];
    const origin = this.imports.get(first);
    return origin ? origin + callee.slice(first.length) : callee;
  }

  // ---- names and bindings ------------------------------------------------------------------------

  /** The function a name refers to from `from`: nested defs of enclosing scopes first, then module level. */
  resolveFunctionName(name: string, from: Fn): Fn[] {
    for (let scope: Fn | undefined = from; scope; scope = scope.parent) {
      if (scope.isModule) break;
      const nested = scope.children.filter((c) => c.name === name && !c.isLambda);
      if (nested.length) return nested;
    }
    const top = (this.byName.get(name) ?? []).filter((f) => this.isModuleScope(f.parent));
    if (top.length) return top;
    // A class: calling it runs __init__.
    const cls = this.classes.find((c) => c.name === name);
    if (cls) return this.methodsOf(cls.name, '__init__');
    return [];
  }

  methodsOf(className: string, method: string, seen = new Set<string>()): Fn[] {
    if (seen.has(className)) return [];
    seen.add(className);
    const own = (this.methodsByName.get(method) ?? []).filter((f) => f.cls?.name === className);
    if (own.length) return own;
    const cls = this.classes.find((c) => c.name === className);
    for (const base of cls?.bases ?? []) {
      const found = this.methodsOf(base.split('.').pop()!, method, seen);
      if (found.length) return found;
    }
    return [];
  }

  /** A target expression (`worker`, `self.run_loop`, `obj.m`, `partial(f, …)`) → functions. */
  resolveTarget(text: string, from: Fn): Fn[] {
    // Most calls are to builtins and library functions: reject names this file defines nowhere, cheaply
    // (remembered per text: the same callees recur all over a file).
    let known = this.mayResolve.get(text);
    if (known === undefined) {
      const t0 = text.trim();
      const last = /(\w+)\s*$/.exec(t0)?.[1];
      known = !(last && !t0.includes('partial') && !this.byName.has(last) && !this.methodsByName.has(last) && !this.classNames.has(last));
      this.mayResolve.set(text, known);
    }
    if (!known) return [];
    const t = text.trim();
    const partial = /^(?:functools\.)?partial\(\s*([\w.]+)/.exec(t);
    if (partial) return this.resolveTarget(partial[1], from);
    if (/^\w+$/.test(t)) return this.resolveFunctionName(t, from);
    const m = /^([\w.]+)\.(\w+)$/.exec(t);
    if (!m) return [];
    const [, obj, method] = m;
    const selfName = from.cls ? from.params[0] ?? from.parent?.params[0] : undefined;
    const cls = obj === 'self' || obj === selfName ? this.enclosingClass(from) : this.classOfName(obj, from);
    if (cls) return this.methodsOf(cls, method);
    // Unknown receiver (not an imported module): a method name defined once in this file is taken to be that one.
    if (this.imports.has(obj.split('.')[0])) return [];
    const candidates = this.methodsByName.get(method) ?? [];
    return candidates.length === 1 && !COMMON_METHODS.has(method) ? candidates : [];
  }

  enclosingClass(fn: Fn): string | undefined {
    for (let f: Fn | undefined = fn; f; f = f.parent) if (f.cls) return f.cls.name;
    return undefined;
  }

  /** `acct = Account()` → Account, looked up in the function then the module. */
  private classOfName(name: string, from: Fn): string | undefined {
    const b = this.bindingOf(name, from);
    const ctor = b?.ctor.split('.').pop();
    return ctor && this.classes.some((c) => c.name === ctor) ? ctor : undefined;
  }

  /** The latest binding of a name visible from `from` (its own function, enclosing ones, the module). */
  bindingOf(name: string, from: Fn | undefined, at?: Range): Binding | undefined {
    for (let scope = from; scope && !scope.isModule; scope = scope.parent) {
      let own = scope.bindings.filter((b) => b.name === name && !b.selfAttr);
      // The binding in force at a position: the last one before it (a name can be rebound).
      if (at && scope === from) {
        const earlier = own.filter((b) => b.range.start.line < at.start.line || (b.range.start.line === at.start.line && b.range.start.character <= at.start.character));
        if (earlier.length) own = earlier;
      }
      if (own.length) return own[own.length - 1];
      if (scope.locals.has(name) && !scope.globals.has(name)) return undefined;
    }
    return this.moduleBindings.get(name);
  }

  /** `self.x` bindings anywhere in the class (usually `__init__`), and class-level attributes. */
  selfBinding(cls: string | undefined, attr: string): Binding | undefined {
    if (!cls) return undefined;
    for (const fn of this.fns) {
      if (fn.cls?.name !== cls) continue;
      const b = fn.bindings.find((x) => x.selfAttr && x.name === attr);
      if (b) return b;
    }
    return undefined;
  }

  kindOfCtor(ctor: string): BindingKind {
    if (!ctor) return 'other';
    if (ctor === '[]' || ctor === '{}' || ctor === 'set()') return 'mutable';
    if (/^\[.*(Process)\]$/.test(ctor)) return 'processlist';
    const full = this.resolveCallee(ctor.replace(/^\[|\]$/g, ''));
    const last = full.split('.').pop()!;
    if (/^asyncio\./.test(full) && /Queue$/.test(last)) return 'asyncqueue';
    if (/^asyncio\./.test(full) && LOCK_CTORS.test(last)) return 'other';
    if (LOCK_CTORS.test(full)) return 'lock';
    if (/Queue$/.test(last)) return 'queue';
    if (last === 'local') return 'local';
    if (last === 'Event') return 'event';
    if (last === 'Value' || last === 'RawValue') return 'value';
    if (last === 'Array' || last === 'RawArray') return 'array';
    if (last === 'ThreadPool' || /multiprocessing\.dummy\.Pool$/.test(full)) return 'threadpool';
    if (last === 'Pool') return 'pool';
    if (last === 'ProcessPoolExecutor') return 'procexec';
    if (last === 'ThreadPoolExecutor') return 'threadexec';
    if (last === 'Process' || this.isProcessClass(last)) return 'process';
    if (last === 'Thread' || last === 'Timer' || this.isThreadClass(last)) return 'thread';
    if (['list', 'dict', 'set', 'defaultdict', 'deque', 'Counter', 'OrderedDict', 'bytearray'].includes(last)) return 'mutable';
    return 'other';
  }

  isThreadSafeCtor(ctor: string): boolean {
    const full = this.resolveCallee(ctor);
    return SAFE_CTORS.test(full) || this.isThreadClass(full.split('.').pop()!) || this.isProcessClass(full.split('.').pop()!);
  }

  isThreadClass(name: string, seen = new Set<string>()): boolean {
    return this.classExtends(name, /(^|\.)Thread$/, seen);
  }

  isProcessClass(name: string, seen = new Set<string>()): boolean {
    return this.classExtends(name, /(^|\.)Process$/, seen);
  }

  private classExtends(name: string, base: RegExp, seen: Set<string>): boolean {
    if (seen.has(name)) return false;
    seen.add(name);
    const cls = this.classes.find((c) => c.name === name);
    if (!cls) return false;
    return cls.bases.some((b) => base.test(this.resolveCallee(b)) || this.classExtends(b.split('.').pop()!, base, seen));
  }

  kindOf(name: string, from: Fn): BindingKind {
    const selfName = from.cls ? from.params[0] : undefined;
    const m = /^(\w+)\.(\w+)$/.exec(name);
    if (m && (m[1] === 'self' || m[1] === selfName)) {
      const b = this.selfBinding(this.enclosingClass(from), m[2]);
      return b ? this.kindOfCtor(b.ctor) : 'other';
    }
    if (!/^\w+$/.test(name)) return 'other';
    const b = this.bindingOf(name, from);
    if (!b) return 'other';
    if (b.iterates) {
      const it = this.bindingOf(b.iterates, from);
      if (it && this.kindOfCtor(it.ctor) === 'processlist') return 'process';
      return 'other';
    }
    return this.kindOfCtor(b.ctor);
  }

  // ---- call graph and entry points ---------------------------------------------------------------

  private buildCallGraph(): void {
    for (const fn of this.fns) {
      const callees: Fn[] = [];
      for (const call of fn.calls) {
        const targets = this.resolveTarget(call.callee, fn);
        for (const t of targets) {
          callees.push(t);
          const sites = this.callSites.get(t) ?? [];
          sites.push({ call, caller: fn });
          this.callSites.set(t, sites);
        }
      }
      this.calleesOf.set(fn, callees);
    }
  }

  private findEntries(): void {
    for (const fn of this.fns) for (const call of fn.calls) this.entryOf(call, fn);
    // Thread/Process subclasses: their run() is the entry; instances are created by calling the class.
    for (const cls of this.classes) {
      const thread = this.isThreadClass(cls.name);
      const proc = !thread && this.isProcessClass(cls.name);
      if (!thread && !proc) continue;
      const run = this.methodsOf(cls.name, 'run');
      if (!run.length) continue;
      const creations = this.fns.flatMap((f) => f.calls.filter((c) => c.callee === cls.name || c.callee.endsWith(`.${cls.name}`)));
      this.entries.push({
        kind: thread ? 'thread' : 'process', targets: run, site: creations[0]?.range ?? cls.range,
        multi: creations.length > 1 || creations.some((c) => c.inLoop), perInstanceSelf: true,
        label: `${cls.name}.run`,
      });
    }
    // Started in other files of the workspace (imports followed by the workspace index).
    // One thread reaching this file along several call paths (or back home through an import cycle) is
    // still one thread: merge by start site, so it neither counts as several nor as a second writer.
    const localCount = this.entries.length;
    const sameStart = (e: Entry, x: ExternalEntry) => e.kind === x.kind && (e.file ?? '') === x.file
      && e.site.start.line === x.site.start.line && e.site.start.character === x.site.start.character;
    for (const x of this.external) {
      const [first, second] = x.name.split('.');
      const targets = second ? this.methodsOf(first, second) : (this.byName.get(first) ?? []).filter((f) => this.isModuleScope(f.parent));
      if (!targets.length) continue;
      for (const t of targets) {
        const list = this.externalSites.get(t) ?? [];
        list.push(x);
        this.externalSites.set(t, list);
      }
      const same = this.entries.find((e, i) => (x.file === '' ? i < localCount : i >= localCount) && sameStart(e, x));
      if (same) {
        for (const t of targets) if (!same.targets.includes(t)) same.targets.push(t);
        if (same.via && !x.via) same.via = undefined;
        continue;
      }
      this.entries.push({
        kind: x.kind, targets, site: x.site, multi: x.multi, perInstanceSelf: false, label: x.label,
        file: x.file || undefined, via: x.via, held: x.held, depth: x.depth,
      });
    }
    // The same target started from several places runs concurrently with itself.
    const count = new Map<Fn, number>();
    for (const e of this.entries) for (const t of e.targets) count.set(t, (count.get(t) ?? 0) + 1);
    for (const e of this.entries) if (e.targets.some((t) => (count.get(t) ?? 0) > 1)) e.multi = true;
  }

  private entryOf(call: Call, fn: Fn): void {
    if (!ENTRY_CALL.test(call.method)) return; // most calls: nothing to do (and no closures to build)
    const full = this.resolveCallee(call.callee);
    const method = call.method;
    const kw = (k: string) => call.args.find((a) => a.keyword === k);
    const pos = (i: number) => call.args.filter((a) => !a.keyword)[i];
    const add = (kind: EntryKind, arg: typeof call.args[number] | undefined, multi: boolean, label: string, argsArg?: typeof call.args[number]) => {
      if (!arg) return;
      if (kind === 'thread' || kind === 'process') {
        const calledTarget = arg.kind === 'call' && arg.callee && !/(^|\.)partial$/.test(arg.callee) ? arg : undefined;
        const parenArgs = argsArg?.parenthesized ? argsArg : undefined;
        if (calledTarget || parenArgs) this.startArgs.push({ fn, call, kind, target: calledTarget, args: parenArgs });
      }
      let targets: Fn[] = [];
      if (arg.kind === 'lambda' && arg.lambda) targets = [arg.lambda];
      else if (arg.kind === 'call' && arg.callee && /(^|\.)partial$/.test(arg.callee) && arg.elements?.length) targets = this.resolveTarget(arg.elements[0], fn);
      else if (arg.kind === 'call' && arg.callee && (kind === 'task' || kind === 'greenlet')) targets = this.resolveTarget(arg.callee, fn);
      else targets = this.resolveTarget(arg.text, fn);
      if (!targets.length) {
        this.recordImported(kind, arg.kind === 'call' && arg.callee && /(^|\.)partial$/.test(arg.callee) ? arg.elements?.[0] : arg.kind === 'call' ? arg.callee : arg.text, multi || call.inLoop, label, call.range, fn);
        return;
      }
      let argMap: Map<string, string> | undefined;
      const elements = argsArg?.kind === 'tuple' ? argsArg.elements : undefined;
      if (elements && targets.length === 1) {
        argMap = new Map();
        const params = targets[0].cls ? targets[0].params.slice(1) : targets[0].params;
        elements.forEach((el, i) => { if (params[i]) argMap!.set(params[i], el); });
      }
      this.entries.push({ kind, targets, site: call.range, multi: multi || call.inLoop, perInstanceSelf: false, label, argMap });
    };
    const receiverKind = call.receiver ? this.kindOf(call.receiver, fn) : 'other';
    const receiverLooksLikePool = call.receiver !== undefined && /pool|executor|(^|[._])ex$|tpe/i.test(call.receiver);
    if (/(^|\.)Thread$/.test(full) && (full === 'Thread' || /threading\.Thread$/.test(full))) {
      add('thread', kw('target') ?? pos(1), false, `thread ${targetLabel(kw('target') ?? pos(1))}`, kw('args') ?? pos(3));
    } else if (/(^|\.)Timer$/.test(full) && /^(threading\.)?Timer$/.test(full)) {
      add('thread', kw('function') ?? pos(1), false, `timer ${targetLabel(kw('function') ?? pos(1))}`, kw('args') ?? pos(2));
    } else if (/(^|\.)(start_new_thread|start_new)$/.test(full)) {
      add('thread', pos(0), false, `thread ${targetLabel(pos(0))}`, pos(1));
    } else if (/(^|\.)Process$/.test(full) && !/subprocess/.test(full)) {
      add('process', kw('target') ?? pos(1), false, `process ${targetLabel(kw('target') ?? pos(1))}`, kw('args') ?? pos(3));
    } else if (method === 'submit' && call.receiver && (['pool', 'threadpool', 'procexec', 'threadexec'].includes(receiverKind) || receiverLooksLikePool)) {
      const kind: EntryKind = receiverKind === 'procexec' || receiverKind === 'pool' ? 'process' : 'thread';
      add(kind, pos(0), true, `${kind === 'process' ? 'process pool' : 'thread pool'} task ${targetLabel(pos(0))}`);
    } else if (/^(map|imap|imap_unordered|starmap|map_async|starmap_async|apply_async|apply)$/.test(method) && call.receiver
      && (['pool', 'threadpool', 'procexec', 'threadexec'].includes(receiverKind) || (receiverKind === 'other' && /pool|executor/i.test(call.receiver)))) {
      const kind: EntryKind = receiverKind === 'procexec' || receiverKind === 'pool' ? 'process' : 'thread';
      add(kind, kw('func') ?? kw('fn') ?? pos(0), true, `${kind === 'process' ? 'process pool' : 'thread pool'} task ${targetLabel(kw('func') ?? pos(0))}`);
    } else if (method === 'run_in_executor') {
      add('thread', pos(1), true, `executor task ${targetLabel(pos(1))}`);
    } else if (/(^|\.)to_thread$/.test(full)) {
      add('thread', pos(0), true, `thread ${targetLabel(pos(0))}`);
    } else if (/^(create_task|ensure_future)$/.test(method) || /asyncio\.gather$/.test(full)) {
      for (const a of call.args.filter((x) => !x.keyword)) add('task', a, call.inLoop, `task ${a.callee ?? a.text}`);
    } else if (/^gevent\.(spawn|spawn_later)$/.test(full) || (/^(spawn|spawn_later)$/.test(full) && this.imports.get(full)?.startsWith('gevent'))) {
      add('greenlet', method === 'spawn_later' ? pos(1) : pos(0), false, `greenlet ${targetLabel(pos(0))}`);
    }
  }

  /** A target that is an imported name (`from worker import run` … `Thread(target=run)`): remember it. */
  private recordImported(kind: EntryKind, text: string | undefined, multi: boolean, label: string, site: Range, fn: Fn,
    extra: Pick<ImportedEntry, 'originFile' | 'via' | 'held' | 'depth'> = {}): void {
    const m = text ? /^(\w+)((?:\.\w+)*)$/.exec(text.trim()) : null;
    if (!m) return;
    let origin: string | undefined;
    for (let scope: Fn | undefined = fn; scope; scope = scope.parent) {
      origin = scope.imports.get(m[1]);
      if (origin) break;
    }
    origin ??= this.imports.get(m[1]);
    if (!origin) return;
    const full = origin + m[2];
    // `from pkg.mod import f` → module pkg.mod, name f; `import pkg.mod` … `pkg.mod.Cls.meth` → tried both ways later.
    const dots = /^\.*/.exec(full)![0];
    const parts = full.slice(dots.length).split('.');
    for (let cut = parts.length - 1; cut >= Math.max(1, parts.length - 2); cut--) {
      this.outgoing.push({ kind, module: dots + parts.slice(0, cut).join('.'), name: parts.slice(cut).join('.'), site, multi, label, ...extra });
    }
  }

  private propagateContexts(): void {
    for (const entry of this.entries) {
      const seen = new Set<Fn>();
      const stack = [...entry.targets];
      while (stack.length) {
        const f = stack.pop()!;
        if (seen.has(f)) continue;
        seen.add(f);
        const list = this.contexts.get(f) ?? [];
        list.push(entry);
        this.contexts.set(f, list);
        for (const c of this.calleesOf.get(f) ?? []) stack.push(c);
      }
    }
  }

  private findLockedHelpers(): void {
    // Calls from other files count as call sites; a thread started on a function from another file is
    // not a call under a lock.
    const externalHeld = (fn: Fn) => (this.externalSites.get(fn) ?? []).every((x) => x.via !== undefined && x.held === true);
    const candidates = new Set<Fn>([...this.callSites.keys(), ...this.externalSites.keys()]);
    let changed = true;
    for (let round = 0; changed && round < 5; round++) {
      changed = false;
      for (const fn of candidates) {
        const sites = this.callSites.get(fn) ?? [];
        if (this.lockedHelpers.has(fn) || fn.isModule || (!sites.length && !this.externalSites.has(fn))) continue;
        if (sites.every((s) => s.call.held.length > 0 || this.lockedHelpers.has(s.caller)) && externalHeld(fn)) {
          this.lockedHelpers.add(fn);
          changed = true;
        }
      }
    }
  }

  /**
   * Calls that threaded code makes into other modules (`helpers.bump()`, `from m import f` … `f()`):
   * recorded like thread starts, so the workspace index hands the thread to the called file too.
   */
  private findOutgoingCalls(): void {
    for (const [fn, ctxs] of this.contexts) {
      // Threads only: a child process keeping its own copy of another module's state (a cache, say) is
      // normal, so process entries are not followed into other files (IL005 would misread them).
      const open = ctxs.filter((e) => e.kind === 'thread' && !e.main && (e.depth ?? 0) < MAX_IMPORT_DEPTH);
      if (!open.length) continue;
      for (const call of fn.calls) {
        const first = /^\w+/.exec(call.callee)?.[0];
        if (!first || !this.importedName(first, fn) || this.resolveTarget(call.callee, fn).length) continue;
        const held = call.held.length > 0 || this.lockedHelpers.has(fn);
        for (const e of new Set(open)) {
          this.recordImported(e.kind, call.callee, e.multi, e.label, e.site, fn, { originFile: e.file, via: call.nameRange, held, depth: (e.depth ?? 0) + 1 });
        }
      }
    }
  }

  private importedName(name: string, fn: Fn): boolean {
    for (let scope: Fn | undefined = fn; scope; scope = scope.parent) if (scope.imports.has(name)) return true;
    return this.imports.has(name);
  }

  isProcessCtor(call: Call): boolean {
    if (!/^(Process|ProcessPoolExecutor|Pool)$/.test(call.method) && !this.classNames.has(call.method)) return false;
    const full = this.resolveCallee(call.callee);
    if (/subprocess|ThreadPool|multiprocessing\.dummy/.test(full)) return false;
    if (/(^|\.)(Process|ProcessPoolExecutor)$/.test(full)) return true;
    if (/(^|\.)Pool$/.test(full)) return /multiprocessing|mp\.|get_context|ctx\.|^Pool$/.test(full) || full === 'Pool';
    return this.isProcessClass(full.split('.').pop()!);
  }

  private findProcessCreators(): void {
    for (const fn of this.fns) if (!fn.isModule && fn.calls.some((c) => this.isProcessCtor(c))) this.createsProcess.add(fn);
    if (!this.createsProcess.size) return;
    let changed = true;
    for (let round = 0; changed && round < 5; round++) {
      changed = false;
      for (const fn of this.fns) {
        if (fn.isModule || this.createsProcess.has(fn)) continue;
        if ((this.calleesOf.get(fn) ?? []).some((c) => this.createsProcess.has(c))) { this.createsProcess.add(fn); changed = true; }
      }
    }
  }

  // ---- shared state ------------------------------------------------------------------------------

  /**
   * The shared-state key of an access, or undefined for local state: `g:name` (module globals and
   * module-level objects), `c:<scope>:name` (closure variables), `a:Class.attr` (attributes of self).
   */
  keyOf(a: Access, fn: Fn): string | undefined {
    const selfName = fn.cls && !fn.isLambda ? fn.params[0] : methodSelf(fn);
    if (selfName && a.name === selfName) {
      if (!a.attr) return undefined;
      return `a:${fn.cls?.name ?? this.enclosingClass(fn)}.${a.attr}`;
    }
    const write = a.kind === 'assign' || a.kind === 'aug';
    if (fn.globals.has(a.name)) return `g:${a.name}`;
    if (fn.nonlocals.has(a.name)) return this.closureKey(a.name, fn);
    if (fn.isModule) return `g:${a.name}`;
    if (write) return undefined; // a plain assignment binds a local
    if (fn.locals.has(a.name)) return undefined;
    // A free name: a closure variable of an enclosing function, or a module global.
    const ck = this.closureKey(a.name, fn);
    if (ck) return ck;
    if (this.module.locals.has(a.name) && !this.imports.has(a.name)) return `g:${a.name}`;
    return undefined;
  }

  private closureKey(name: string, fn: Fn): string | undefined {
    for (let scope = fn.parent; scope && !scope.isModule; scope = scope.parent) {
      if (scope.globals.has(name)) return `g:${name}`;
      if (scope.locals.has(name) && !scope.nonlocals.has(name)) return `c:${scope.qualname}@${scope.range.start.line}:${name}`;
    }
    return undefined;
  }

  /** The binding that says what a key holds (to skip locks, queues, thread-locals…). */
  bindingOfKey(key: string, fn: Fn): Binding | undefined {
    if (key.startsWith('a:')) {
      const [cls, attr] = key.slice(2).split('.');
      return this.selfBinding(cls, attr);
    }
    const name = key.split(':').pop()!;
    return this.bindingOf(name, fn.isModule ? undefined : fn.parent ?? fn) ?? this.moduleBindings.get(name);
  }

  threadContexts(fn: Fn): Entry[] {
    return (this.contexts.get(fn) ?? []).filter((e) => e.kind === 'thread');
  }
}

function methodSelf(fn: Fn): string | undefined {
  for (let f = fn.parent; f; f = f.parent) if (f.cls && !f.isLambda) return f.params[0];
  return undefined;
}

function targetLabel(arg: { text: string } | undefined): string {
  const t = arg?.text ?? '?';
  return t.length > 40 ? `${t.slice(0, 37)}…` : t;
}

/** Last segments of calls that can start concurrent code (entryOf looks closer). */
const ENTRY_CALL = /^(Thread|Timer|start_new_thread|start_new|Process|submit|map|imap|imap_unordered|starmap|map_async|starmap_async|apply_async|apply|run_in_executor|to_thread|create_task|ensure_future|gather|spawn|spawn_later)$/;

/** Method names too common to guess the receiver's class from. */
const COMMON_METHODS = new Set(['get', 'put', 'run', 'start', 'join', 'close', 'send', 'recv', 'read', 'write', 'append',
  'update', 'add', 'pop', 'clear', 'copy', 'items', 'keys', 'values', 'wait', 'set', 'acquire', 'release', 'result',
  'submit', 'map', 'format', 'split', 'strip', 'encode', 'decode', 'flush', 'open', 'stop', 'cancel', 'notify', 'reset']);

function mergeModule(parts: Fn[]): Fn {
  const first = parts[0];
  const m = newFn('<module>', '<module>', first?.range ?? emptyRange(), first?.nameRange ?? emptyRange(), { isModule: true });
  // Runs on every keystroke over every top-level statement (most of them a def or class whose module
  // part is empty), so empty parts are skipped cheaply.
  const append = <T>(to: T[], from: T[]) => { for (let i = 0; i < from.length; i++) to.push(from[i]); };
  for (const p of parts) {
    if (p.globals.size) for (const g of p.globals) m.globals.add(g);
    if (p.locals.size) for (const l of p.locals) m.locals.add(l);
    if (p.imports.size) for (const [k, v] of p.imports) m.imports.set(k, v);
    append(m.accesses, p.accesses);
    append(m.calls, p.calls);
    append(m.bindings, p.bindings);
    append(m.locks, p.locks);
    append(m.ifs, p.ifs);
    append(m.unreleased, p.unreleased);
    if (p.returned.size) for (const r of p.returned) m.returned.add(r);
    for (let i = 0; i < p.children.length; i++) { m.children.push(p.children[i]); p.children[i].parent = m; }
  }
  return m;
}

function emptyRange(): Range {
  return { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } };
}
