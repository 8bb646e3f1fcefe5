/**
 * The fifteen rules (IL001…IL015, see protocol/lsp.ts and server/RULES.md). Each reads the ModuleModel and
 * returns issues: findings plus what the quick fixes and hover need.
 */
import type { Finding, Position, Range, RelatedLocation, RuleCode, Severity } from '../../protocol/lsp';
import { RULES } from '../../protocol/lsp';
import type { Access, Call, Fn } from './facts';
import { Entry, ModuleModel } from './model';
import { mainWindows, writesInWindow } from './mainthread';
import { offsetAt } from './position';

/** How a quick fix can repair an issue (all ranges in the analysed text). */
export type FixHint =
  | { kind: 'wrap'; range: Range; lock: string; newLock?: { name: string } }
  | { kind: 'guard'; range: Range }
  | { kind: 'closeBeforeJoin'; receiver: string; joinStmt: Range }
  | { kind: 'acquireToWith'; lock: string; acquireStmt: Range; releaseStmt: Range }
  | { kind: 'replace'; title: string; range: Range; newText: string };

export interface Issue extends Finding {
  fix?: FixHint;
  /** Severity when the settings do not set one for the rule (lower for less certain cases). */
  baseSeverity?: Severity;
  /** The shared state involved (see ModuleModel.keyOf); hover explains who touches it (hoverText). */
  sharedKey?: string;
}

const LOCKISH = /lock|mutex|cond|sem(aphore)?$|^cv$|_cv$/i;
const SAFE_KINDS = new Set(['lock', 'queue', 'asyncqueue', 'local', 'event', 'value', 'array', 'pool', 'threadpool', 'procexec', 'threadexec', 'process', 'thread']);

function copy(r: Range): Range {
  return { start: { ...r.start }, end: { ...r.end } };
}

function issue(code: RuleCode, message: string, range: Range, related: RelatedLocation[], names: string[], extra: Partial<Issue> = {}): Issue {
  const fix = extra.fix ? JSON.parse(JSON.stringify(extra.fix)) as FixHint : undefined;
  return { code, message, range: copy(range), severity: 'warning', related: related.map((r) => ({ ...r, range: copy(r.range) })), names, ...extra, fix };
}

function rel(range: Range, message: string, file = ''): RelatedLocation {
  return { file, range, message };
}

/** Where an entry point is started, as related information (possibly in another file). */
function started(e: Entry): RelatedLocation {
  if (e.main) return rel(e.site, `${e.main.running.label} started here; the main thread keeps running`);
  return rel(e.site, `${e.label} started here`, e.file ?? '');
}

/** The start site and, for a thread that reaches this file through a call from another file, that call. */
function startedVia(e: Entry): RelatedLocation[] {
  const out = [started(e)];
  if (e.via) out.push(rel(e.via.range, `${e.label} calls into this module here`, e.via.file));
  return out;
}

const line = (r: Range) => r.start.line + 1;
const samePos = (a: Position, b: Position) => a.line === b.line && a.character === b.character;
const le = (a: Position, b: Position) => a.line < b.line || (a.line === b.line && a.character <= b.character);
const before = (a: Range, b: Range) => le(a.start, b.start);
const inside = (inner: Range, outer: Range) => le(outer.start, inner.start) && le(inner.end, outer.end);

interface Write { a: Access; fn: Fn; key: string; ctxs: Entry[]; protectedBy: boolean }

export function runRules(m: ModuleModel, topStatements: { range: Range; definition: boolean; guard: boolean }[]): Issue[] {
  const out: Issue[] = [];
  const covered = new Set<Access>();
  const writes = collectWrites(m);
  addMainThreadWrites(m, writes);
  out.push(...checkThenAct(m, writes, covered));
  out.push(...queueCheckThenAct(m));
  out.push(...unsyncWrites(m, writes, covered));
  out.push(...unreleased(m));
  out.push(...lockOrder(m));
  out.push(...processGlobals(m));
  out.push(...mainGuard(m, topStatements));
  out.push(...poolJoin(m));
  out.push(...neverJoined(m));
  out.push(...joinBeforeGet(m));
  out.push(...forkWithThreads(m));
  out.push(...waitOnUnreadPipe(m));
  out.push(...calledTarget(m));
  out.push(...argsNotATuple(m));
  out.push(...sharedMemory(m));
  out.push(...blockingInAsync(m));
  return out;
}

// ---- shared state (IL001, IL002) -------------------------------------------------------------------

function collectWrites(m: ModuleModel): Map<string, Write[]> {
  const byKey = new Map<string, Write[]>();
  for (const fn of m.fns) {
    const ctxs = m.threadContexts(fn);
    if (!ctxs.length) continue;
    for (const a of fn.accesses) {
      if (a.kind === 'read') continue;
      const key = m.keyOf(a, fn);
      if (!key) continue;
      if (key.startsWith('a:') && /^(__init__|__new__|__post_init__|setUp)$/.test(fn.name)) continue;
      // A method reached only through calls from another file's threads: whether those threads share
      // one object or each has its own is not known here, so its `self` attributes are not counted.
      if (key.startsWith('a:') && ctxs.every((e) => e.via)) continue;
      const b = m.bindingOfKey(key, fn);
      if (b && SAFE_KINDS.has(m.kindOfCtor(b.ctor))) continue;
      if (a.kind === 'attr' && a.attr === 'value' && !key.startsWith('a:')) continue; // IL009's business
      const list = byKey.get(key) ?? [];
      list.push({ a, fn, key, ctxs, protectedBy: a.held.length > 0 || m.lockedHelpers.has(fn) });
      byKey.set(key, list);
    }
  }
  return byKey;
}

/** Main-thread writes while a thread runs (mainthread.ts), added to the groups threads already write. */
function addMainThreadWrites(m: ModuleModel, byKey: Map<string, Write[]>): void {
  for (const w of mainWindows(m)) {
    let pseudo: Entry | undefined;
    for (const a of writesInWindow(w)) {
      const key = m.keyOf(a, w.fn);
      if (!key || key.startsWith('a:')) continue;
      const group = byKey.get(key);
      if (!group?.some((o) => o.ctxs.includes(w.entry))) continue;
      pseudo ??= {
        kind: 'thread', targets: [w.fn], site: w.start.range, multi: false, perInstanceSelf: false,
        label: 'the main thread', main: { running: w.entry, join: w.join?.range },
      };
      group.push({ a, fn: w.fn, key, ctxs: [pseudo], protectedBy: a.held.length > 0 || m.lockedHelpers.has(w.fn) });
    }
  }
}

/** The thread entries a main-thread write overlaps with (none for thread writes). */
const mainRunning = (w: Write): Entry[] => w.ctxs.flatMap((e) => (e.main ? [e.main.running] : []));

/** Another thread can write the same state at the same time as `w`. */
function concurrentWith(w: Write, group: Write[]): boolean {
  const running = mainRunning(w);
  if (running.length) return group.some((o) => o.ctxs.some((e) => running.includes(e)));
  if (group.some((o) => mainRunning(o).some((e) => w.ctxs.includes(e)))) return true;
  const selfKey = w.key.startsWith('a:');
  if (w.ctxs.some((e) => e.multi && !(selfKey && e.perInstanceSelf))) return true;
  return group.some((o) => o.ctxs.some((e) => !e.main && !w.ctxs.includes(e) && !(selfKey && e.perInstanceSelf && w.ctxs.every((x) => x.perInstanceSelf))));
}

function displayName(key: string): string {
  if (key.startsWith('a:')) return `self.${key.slice(2).split('.')[1]}`;
  return key.split(':').pop()!;
}

function describeKey(key: string): string {
  if (key.startsWith('a:')) return `attribute ${displayName(key)} of ${key.slice(2).split('.')[0]} objects`;
  if (key.startsWith('c:')) return `closure variable ${displayName(key)}`;
  return `global ${displayName(key)}`;
}

function entrySummary(ctxs: Entry[]): string {
  const byLabel = new Map<string, Entry[]>();
  const mains: string[] = [];
  for (const e of ctxs) {
    if (e.main) {
      const r = e.main.running;
      mains.push(`the main thread (while ${r.label}, started at line ${line(e.site)}, runs${e.main.join ? `, before its join() at line ${line(e.main.join)}` : ' and is not joined in this function'})`);
    } else byLabel.set(e.label, [...(byLabel.get(e.label) ?? []), e]);
  }
  if (mains.length) return mains.join(' and ');
  const parts = [...byLabel].map(([label, es]) => {
    const lines = [...new Set(es.map((e) => line(e.site)))];
    const several = es.length > 1 || es.some((e) => e.multi);
    return `${label} (started at line${lines.length > 1 ? 's' : ''} ${lines.join(', ')}${es[0].file ? ` of ${es[0].file.split(/[\\/]/).pop()}` : ''}${several ? ', several running at once' : ''})`;
  });
  return parts.slice(0, 3).join(' and ') + (parts.length > 3 ? ', …' : '');
}

/** Markdown for hovering shared state: every function that touches it, in which threads, with or without a lock. */
export function hoverText(m: ModuleModel, key: string): { hover: string; ranges: Range[] } {
  const ranges: Range[] = [];
  const perFn = new Map<Fn, { reads: number[]; writes: number[]; locked: boolean[] }>();
  for (const fn of m.fns) {
    for (const a of fn.accesses) {
      if (a.name !== key.split(':').pop() && !(key.startsWith('a:') && a.attr === key.split('.').pop())) continue;
      if (m.keyOf(a, fn) !== key) continue;
      ranges.push(a.range);
      const e = perFn.get(fn) ?? { reads: [], writes: [], locked: [] };
      (a.kind === 'read' ? e.reads : e.writes).push(line(a.range));
      e.locked.push(a.held.length > 0);
      perFn.set(fn, e);
    }
  }
  const lines = [`**${displayName(key)}** — ${describeKey(key)}, shared between threads`, ''];
  for (const [fn, e] of perFn) {
    const ctxs = m.threadContexts(fn);
    const who = ctxs.length ? entrySummary(ctxs) : fn.isModule ? 'module-level code (main thread)' : 'the main thread';
    const parts = [];
    if (e.writes.length) parts.push(`writes at line${e.writes.length > 1 ? 's' : ''} ${[...new Set(e.writes)].join(', ')}`);
    if (e.reads.length) parts.push(`reads at line${e.reads.length > 1 ? 's' : ''} ${[...new Set(e.reads)].join(', ')}`);
    const lock = e.locked.every(Boolean) ? ' (with a lock held)' : e.locked.some(Boolean) ? ' (partly under a lock)' : ' (no lock)';
    lines.push(`- ${fn.isModule ? '' : `\`${fn.qualname}\` in `}${who}: ${parts.join('; ')}${lock}`);
  }
  return { hover: lines.join('\n'), ranges };
}

/** The lock to wrap a write in: one already used for this state, a lock in scope, or a new module-level one. */
function lockFor(m: ModuleModel, key: string, fn: Fn, group: Write[]): { lock: string; newLock?: { name: string } } {
  const usedForKey = group.map((w) => w.a.held[w.a.held.length - 1]).find((h) => h && h.startsWith('self.') === key.startsWith('a:'));
  if (usedForKey) return { lock: usedForKey };
  if (fn.cls) {
    for (const f of m.fns) {
      if (f.cls?.name !== fn.cls.name) continue;
      const b = f.bindings.find((x) => x.selfAttr && m.kindOfCtor(x.ctor) === 'lock');
      if (b) return { lock: `${fn.params[0] ?? 'self'}.${b.name}` };
    }
  }
  const name = displayName(key).replace(/^self\./, '');
  const locks = m.module.bindings.filter((b) => !b.selfAttr && m.kindOfCtor(b.ctor) === 'lock');
  const best = locks.find((b) => b.name.includes(name)) ?? locks[0];
  if (best) return { lock: best.name };
  const fresh = `${name.replace(/^_+/, '')}_lock`.replace(/^_/, '');
  return { lock: fresh, newLock: { name: fresh } };
}

/** The statements to wrap: from the first unlocked read of the key in the same block through the write. */
function wrapRange(m: ModuleModel, w: Write): Range {
  let start = w.a.stmt.range;
  for (const r of w.fn.accesses) {
    if (r.kind !== 'read' || r.held.length || r.stmt.block !== w.a.stmt.block) continue;
    if (!before(r.stmt.range, start)) continue;
    if (m.keyOf(r, w.fn) !== w.key) continue;
    start = r.stmt.range;
  }
  return { start: { ...start.start }, end: { ...w.a.stmt.range.end } };
}

function unsyncWrites(m: ModuleModel, writes: Map<string, Write[]>, covered: Set<Access>): Issue[] {
  const out: Issue[] = [];
  for (const [key, group] of writes) {
    for (const w of group) {
      if (w.protectedBy || covered.has(w.a) || !concurrentWith(w, group)) continue;
      const name = displayName(key);
      // A read of the same state earlier in the function (not the written container itself: `d[k] = v` reads d).
      const writeStarts = w.fn.accesses.filter((x) => x.kind !== 'read').map((x) => x.range.start);
      const readFirst = w.a.aug ? w.a : mainRunning(w).length ? undefined : w.fn.accesses.find((r) => r.kind === 'read' && !r.held.length && before(r.range, w.a.range)
        && !writeStarts.some((p) => samePos(p, r.range.start)) && inside(r.range, w.fn.range) && m.keyOf(r, w.fn) === key);
      const starts = [...new Set(w.ctxs)];
      let message: string;
      if (w.a.aug) {
        message = `Read-modify-write of shared ${describeKey(key)} without a lock: \`${name}\` is updated by ${entrySummary(starts)}; two threads can read the same old value and one update is lost.`;
      } else if (readFirst) {
        message = `Read-modify-write of shared ${describeKey(key)} without a lock: \`${name}\` is read (line ${line(readFirst.range)}) and written here by ${entrySummary(starts)}; another thread can write in between and its update is lost.`;
      } else if (w.a.kind === 'item' || w.a.kind === 'mutcall') {
        // One container operation: atomic under CPython's GIL, so reported with less weight.
        message = `Unsynchronised change to shared ${describeKey(key)}: \`${name}\` is modified by ${entrySummary(starts)} without a lock. A single ${w.a.kind === 'item' ? 'item assignment' : 'method call'} is atomic in CPython, but any code that reads, iterates or checks \`${name}\` meanwhile sees it change under it.`;
      } else {
        message = `Unsynchronised write to shared ${describeKey(key)}: \`${name}\` is written by ${entrySummary(starts)} without holding a lock, while another thread may write it too.`;
      }
      // A single store or container operation is atomic in CPython: reported, but with less weight than a
      // read-modify-write, which loses updates.
      const atomicOnly = !w.a.aug && !readFirst;
      const related = [
        ...starts.slice(0, 3).flatMap(startedVia),
        ...group.filter((o) => o !== w).slice(0, 3).map((o) => rel(o.a.range, `${name} also written here${o.protectedBy ? ' (under a lock)' : ''}`)),
      ];
      if (readFirst && readFirst !== w.a) related.push(rel(readFirst.range, `${name} read here`));
      const lf = lockFor(m, key, w.fn, group);
      out.push(issue('IL001', message, w.a.range, related, [name.replace(/^self\./, '')], {
        fix: { kind: 'wrap', range: wrapRange(m, w), lock: lf.lock, newLock: lf.newLock },
        sharedKey: key, baseSeverity: atomicOnly ? 'information' : undefined,
      }));
    }
  }
  return out;
}

function checkThenAct(m: ModuleModel, writes: Map<string, Write[]>, covered: Set<Access>): Issue[] {
  const out: Issue[] = [];
  for (const fn of m.fns) {
    if (!m.threadContexts(fn).length || m.lockedHelpers.has(fn)) continue;
    for (const f of fn.ifs) {
      if (f.held.length) continue;
      const readKeys = new Set(f.condReads.map((r) => m.keyOf(r, fn)).filter((k): k is string => !!k));
      for (const wa of f.bodyWrites) {
        if (wa.held.length > f.held.length) continue; // double-checked: the write takes a lock
        const key = m.keyOf(wa, fn);
        if (!key || !readKeys.has(key)) continue;
        const group = writes.get(key) ?? [];
        const w = group.find((x) => x.a === wa);
        if (!w || !concurrentWith(w, group)) continue;
        if (out.some((o) => o.range.start.line === f.condRange.start.line && o.names.includes(displayName(key)))) { covered.add(wa); continue; }
        const name = displayName(key);
        out.push(issue('IL002',
          `Check-then-act on shared ${describeKey(key)} without a lock: another thread (${entrySummary(w.ctxs)}) can change \`${name}\` between this test and the write at line ${line(wa.range)}, so both threads may act (e.g. create the value twice).`,
          f.condRange,
          [rel(wa.range, `${name} written here`), ...w.ctxs.slice(0, 3).flatMap(startedVia)],
          [name.replace(/^self\./, '')],
          { fix: { kind: 'wrap', range: copy(f.stmt.range), ...lockFor(m, key, fn, group) }, sharedKey: key },
        ));
        covered.add(wa);
      }
    }
  }
  return out;
}

/**
 * IL002 on a queue: `if not q.empty(): q.get()` (or `while`, or `qsize()`/`full()` before `put()`) in code that
 * two or more threads run. The queue's own methods are thread-safe, but the test and the call are two steps:
 * another consumer can take the last item between them, and this get() then blocks for good (the queue
 * docs: "if empty() returns False it doesn't guarantee that a subsequent call to get() will not block").
 * A non-blocking get()/put() (block=False, a timeout, get_nowait) is what the docs recommend instead.
 */
function queueCheckThenAct(m: ModuleModel): Issue[] {
  const out: Issue[] = [];
  if (!/\.(empty|qsize|full)\(/.test(m.text)) return out;
  for (const fn of m.fns) {
    const ctxs = m.threadContexts(fn);
    if (!(ctxs.some((e) => e.multi) || ctxs.length > 1)) continue;
    for (const t of fn.tests) {
      for (const test of fn.calls) {
        if (!test.receiver || !['empty', 'qsize', 'full'].includes(test.method) || !inside(test.range, t.cond)) continue;
        if (m.kindOf(test.receiver, fn) !== 'queue') continue;
        const want = test.method === 'full' ? 'put' : 'get';
        const act = fn.calls.find((c) => c.receiver === test.receiver && c.method === want && inside(c.range, t.body)
          && !c.args.some((a) => a.keyword === 'timeout' || /^(block(ing)?=)?False$/.test(a.text.replace(/\s/g, '')))
          && !(want === 'get' && c.args.filter((a) => !a.keyword).length >= 2)
          && !(want === 'put' && c.args.filter((a) => !a.keyword).length >= 3));
        if (!act) continue;
        const q = test.receiver;
        const verb = want === 'get' ? 'take the last item' : 'fill the last slot';
        out.push(issue('IL002',
          `Check-then-act on queue \`${q}\`: another thread (${entrySummary(ctxs)}) can ${verb} between \`${q}.${test.method}()\` and \`${q}.${want}()\` at line ${line(act.range)}, which then blocks for good (the queue docs: ${test.method}() "doesn't guarantee" that a subsequent ${want}() will not block). Use \`${q}.${want}_nowait()\` and catch \`queue.${want === 'get' ? 'Empty' : 'Full'}\`, or give ${want}() a timeout.`,
          test.range, [rel(act.range, `${q}.${want}() here can block for good`), ...ctxs.slice(0, 2).flatMap(startedVia)], [q]));
      }
    }
  }
  return out;
}

// ---- locks (IL003, IL004) ---------------------------------------------------------------------------

function unreleased(m: ModuleModel): Issue[] {
  const out: Issue[] = [];
  for (const fn of m.fns) {
    for (const u of fn.unreleased) {
      if (u.reason !== 'exception' && releasedElsewhere(m, fn, u.lock)) continue;
      const msg = u.reason === 'never'
        ? `\`${u.lock}.acquire()\` is never released in \`${fn.qualname}\`: use \`with ${u.lock}:\` or release it in a \`finally\` block, or every other thread waiting for it blocks forever.`
        : u.reason === 'exit'
          ? `\`${u.lock}\` is acquired but not released on every path: an early return, break or raise leaves it held. Use \`with ${u.lock}:\` or \`try/finally\`.`
          : `\`${u.lock}\` is released without \`try/finally\`: if the code between \`acquire()\` and \`release()\` raises, the lock stays held and other threads block forever. Use \`with ${u.lock}:\`.`;
      const related = u.related ? [rel(u.related, u.reason === 'exception' ? 'released here only if nothing raised' : 'exits here with the lock held')] : [];
      const fix: FixHint | undefined = u.acquireStmt && u.releaseStmt ? { kind: 'acquireToWith', lock: u.lock, acquireStmt: copy(u.acquireStmt), releaseStmt: copy(u.releaseStmt) } : undefined;
      out.push(issue('IL003', msg, u.range, related, [lockDisplay(u.lock)], { fix, baseSeverity: u.reason === 'exception' ? 'information' : undefined }));
    }
  }
  return out;
}

/**
 * A lock used as a signal or split across methods: another function only releases it (a worker thread
 * signalling, `__exit__` after `__enter__`), so the acquire here is meant to outlive this function.
 */
function releasedElsewhere(m: ModuleModel, fn: Fn, lock: string): boolean {
  const passed = fn.calls.some((c) => c.args.some((a) => a.text === lock || a.elements?.includes(lock)));
  const attr = lock.split('.').pop()!;
  const same = (f: Fn, receiver: string | undefined) => receiver !== undefined
    && (receiver === lock || receiver.split('.').pop() === attr || (passed && f.params.includes(receiver)));
  return m.fns.some((f) => f !== fn
    && f.calls.some((c) => c.method === 'release' && same(f, c.receiver))
    && !f.calls.some((c) => c.method === 'acquire' && same(f, c.receiver)));
}

function lockDisplay(lock: string): string {
  return lock.replace(/^self\./, '').replace(/\.get_lock\(\)$/, '');
}

interface Edge { from: string; to: string; range: Range; fn: Fn; via?: Range }

function lockOrder(m: ModuleModel): Issue[] {
  const norm = (lock: string, fn: Fn, subst?: Map<string, string>): string => {
    let t = lock.replace(/\s+/g, '');
    const root = t.split('.')[0];
    if (subst?.has(root)) t = subst.get(root)! + t.slice(root.length);
    const selfName = fn.cls ? fn.params[0] : undefined;
    const mm = /^(\w+)\.(\w+)$/.exec(t);
    if (mm && selfName && mm[1] === selfName) {
      const b = m.selfBinding(fn.cls!.name, mm[2]);
      if (b && /Condition$/.test(b.ctor) && b.args[0]) return norm(b.args[0], fn);
      return `${fn.cls!.name}.${mm[2]}`;
    }
    if (/^\w+$/.test(t)) {
      const b = m.bindingOf(t, fn);
      if (b && /Condition$/.test(b.ctor) && b.args[0] && b.args[0] !== t) return norm(b.args[0], fn);
    }
    return t;
  };
  const edges: Edge[] = [];
  // Parameter substitutions from the places a function is started or called: `take(lock_a, lock_b)`.
  type Subst = { map: Map<string, string>; site: Range } | undefined;
  const substs = (fn: Fn): Subst[] => {
    const list: Subst[] = [];
    for (const e of m.entries) if (e.argMap && e.targets.includes(fn)) list.push({ map: e.argMap, site: e.site });
    for (const s of m.callSites.get(fn) ?? []) {
      const params = fn.cls ? fn.params.slice(1) : fn.params;
      const map = new Map<string, string>();
      s.call.args.forEach((a, i) => {
        const p = a.keyword ?? params[i];
        if (p && params.includes(p) && /^[\w.]+$/.test(a.text)) map.set(p, a.text);
      });
      if (map.size) list.push({ map, site: s.call.range });
    }
    return list.length ? list : [undefined];
  };
  const acquiredBy = new Map<Fn, { lock: string; fn: Fn }[]>();
  const acquired = (fn: Fn, depth: number): { lock: string; fn: Fn }[] => {
    if (acquiredBy.has(fn)) return acquiredBy.get(fn)!;
    if (depth > 3) return [];
    acquiredBy.set(fn, []);
    const list = fn.locks.map((l) => ({ lock: l.lock, fn }));
    for (const c of m.calleesOf.get(fn) ?? []) list.push(...acquired(c, depth + 1));
    acquiredBy.set(fn, list);
    return list;
  };
  for (const fn of m.fns) {
    const usesParams = fn.locks.some((l) => fn.params.includes(l.lock.split('.')[0]));
    for (const subst of usesParams ? substs(fn) : [undefined]) {
      for (const l of fn.locks) {
        for (const h of l.held) edges.push({ from: norm(h, fn, subst?.map), to: norm(l.lock, fn, subst?.map), range: l.range, fn, via: subst?.site });
      }
      for (const c of fn.calls) {
        if (!c.held.length) continue;
        for (const callee of m.resolveTarget(c.callee, fn)) {
          for (const inner of acquired(callee, 0)) {
            for (const h of c.held) edges.push({ from: norm(h, fn, subst?.map), to: norm(inner.lock, inner.fn), range: c.range, fn, via: subst?.site });
          }
        }
      }
    }
  }
  const out: Issue[] = [];
  const seen = new Set<string>();
  const lockish = (t: string) => {
    if (/\.get_lock\(\)$/.test(t) || LOCKISH.test(t.split('.').pop() ?? '')) return true;
    if (/^\w+$/.test(t)) { const b = m.bindingOf(t, m.module); return !!b && m.kindOfCtor(b.ctor) === 'lock'; }
    const mm = /^(\w+)\.(\w+)$/.exec(t);
    if (mm) { const b = m.selfBinding(mm[1], mm[2]); return !!b && m.kindOfCtor(b.ctor) === 'lock'; }
    return false;
  };
  for (const e of edges) {
    if (e.from === e.to || !lockish(e.from) || !lockish(e.to)) continue;
    const other = edges.find((o) => o.from === e.to && o.to === e.from);
    if (!other) continue;
    const id = `${e.range.start.line}:${e.range.start.character}:${[e.from, e.to].sort().join('|')}`;
    if (seen.has(id)) continue;
    seen.add(id);
    const where = e.via ? ` (as called from line ${line(e.via)})` : '';
    const otherWhere = other.via ? `line ${line(other.via)} runs it with` : `line ${line(other.range)} takes`;
    const related = [rel(other.range, `${other.to} taken while holding ${other.from}`)];
    if (e.via) related.push(rel(e.via, `${e.from} then ${e.to}`));
    if (other.via) related.push(rel(other.via, `${other.from} then ${other.to}`));
    out.push(issue('IL004',
      `Lock-order inversion: \`${e.to}\` is taken while holding \`${e.from}\` here${where}, but ${otherWhere} them in the opposite order; two threads doing both can deadlock, each holding the lock the other waits for.`,
      e.range, related, [lockDisplay(e.from), lockDisplay(e.to)]));
  }
  return out;
}

// ---- processes (IL005…IL009) -------------------------------------------------------------------------

function processGlobals(m: ModuleModel): Issue[] {
  const out: Issue[] = [];
  for (const fn of m.fns) {
    const procs = (m.contexts.get(fn) ?? []).filter((e) => e.kind === 'process');
    if (!procs.length) continue;
    for (const a of fn.accesses) {
      if ((a.kind !== 'assign' && a.kind !== 'aug' && a.kind !== 'item' && a.kind !== 'mutcall') || !fn.globals.has(a.name) && a.kind !== 'item' && a.kind !== 'mutcall') continue;
      const key = m.keyOf(a, fn);
      if (!key?.startsWith('g:')) continue;
      const b = m.bindingOfKey(key, fn);
      if (b && SAFE_KINDS.has(m.kindOfCtor(b.ctor))) continue;
      if ((a.kind === 'item' || a.kind === 'mutcall') && !(b && m.kindOfCtor(b.ctor) === 'mutable')) continue;
      // Does the parent read it? (any function not running in a process, or module-level code after the def)
      let parentRead: Access | undefined;
      for (const other of m.fns) {
        if ((m.contexts.get(other) ?? []).some((e) => e.kind === 'process')) continue;
        parentRead = other.accesses.find((r) => r.kind === 'read' && r.name === a.name && m.keyOf(r, other) === key);
        if (parentRead) break;
      }
      if (!parentRead) continue;
      out.push(issue('IL005',
        `\`${a.name}\` is changed in a child process (${entrySummary(procs)}), but each process has its own copy of module globals: the parent (line ${line(parentRead.range)}) never sees this change. Send results back with a return value, a Queue/Pipe, multiprocessing.Value/Array or a Manager.`,
        a.range, [...procs.slice(0, 2).map(started), rel(parentRead.range, `parent reads ${a.name} here`)], [a.name]));
    }
  }
  return out;
}

function mainGuard(m: ModuleModel, tops: { range: Range; definition: boolean; guard: boolean }[]): Issue[] {
  const out: Issue[] = [];
  for (const c of m.module.calls) {
    if (c.guarded) continue;
    const direct = m.isProcessCtor(c);
    const indirect = !direct && m.resolveTarget(c.callee, m.module).some((f) => m.createsProcess.has(f));
    if (!direct && !indirect) continue;
    // Wrap the statement and the module-level statements after it, up to the next definition.
    const idx = tops.findIndex((t) => inside(c.range, t.range));
    let range = c.stmt.range;
    if (idx >= 0) {
      let last = idx;
      while (last + 1 < tops.length && !tops[last + 1].definition && !tops[last + 1].guard) last++;
      range = { start: { ...tops[idx].range.start }, end: { ...tops[last].range.end } };
    }
    out.push(issue('IL006',
      direct
        ? `\`${c.callee}(…)\` runs at import time, outside \`if __name__ == "__main__":\`. Under the "spawn" start method (default on Windows and macOS) each child re-imports this module and starts processes again (RuntimeError or endless spawning).`
        : `\`${c.callee}()\` starts processes and is called at import time, outside \`if __name__ == "__main__":\`. Under the "spawn" start method each child re-imports this module and runs it again.`,
      c.nameRange, [], [c.callee], { fix: { kind: 'guard', range } }));
  }
  return out;
}

function poolJoin(m: ModuleModel): Issue[] {
  const out: Issue[] = [];
  for (const fn of m.fns) {
    for (const c of fn.calls) {
      if (c.method !== 'join' || !c.receiver || c.args.length) continue;
      const kind = m.kindOf(c.receiver, fn);
      if (kind !== 'pool' && kind !== 'threadpool') continue;
      const closed = fn.calls.some((o) => o.receiver === c.receiver && (o.method === 'close' || o.method === 'terminate') && before(o.range, c.range));
      if (closed) continue;
      const b = /^\w+$/.test(c.receiver) ? m.bindingOf(c.receiver, fn, c.range) : undefined;
      if (b?.withEnd && le(b.withEnd.end, c.range.start)) continue; // `with Pool() as p:` terminated the pool on exit
      if (fn.locks.some((l) => l.lock === c.receiver && before(l.range, c.range))) continue; // `with pool:` did too
      out.push(issue('IL007',
        `\`${c.receiver}.join()\` before \`${c.receiver}.close()\` or \`terminate()\`: Pool.join() raises ValueError("Pool is still running"). Call \`${c.receiver}.close()\` first.`,
        c.range, [], [c.receiver], { fix: { kind: 'closeBeforeJoin', receiver: c.receiver, joinStmt: copy(c.stmt.range) } }));
    }
  }
  return out;
}

function neverJoined(m: ModuleModel): Issue[] {
  const out: Issue[] = [];
  for (const fn of m.fns) {
    for (const c of fn.calls) {
      if (c.method !== 'start' || !c.receiver || c.args.length) continue;
      const x = c.receiver;
      if (m.kindOf(x, fn) !== 'process') continue;
      const b = /^\w+$/.test(x) ? m.bindingOf(x, fn, c.range) : undefined;
      if (b?.keywords.daemon === 'True') continue;
      if (fn.accesses.some((a) => a.kind === 'attr' && a.name === x && a.attr === 'daemon')) continue;
      const scope = x.startsWith('self.') ? m.fns.filter((f) => f.cls && f.cls === fn.cls) : [fn];
      const sameIterable = (r: string) => {
        const rb = m.bindingOf(r, fn);
        return !!b?.iterates && rb?.iterates === b.iterates;
      };
      const joined = scope.some((f) => f.calls.some((o) => o.method === 'join' && o.receiver && (o.receiver === x || sameIterable(o.receiver))));
      if (joined) continue;
      const escapes = fn.returned.has(x) || fn.calls.some((o) => o !== c && o.args.some((a) => a.text === x || a.elements?.includes(x)))
        || (b?.iterates !== undefined && fn.returned.has(b.iterates))
        || fn.accesses.some((a) => a.kind === 'read' && a.name === x && (!a.attr || a.attr === 'join')); // stored, passed on, or `addCleanup(p.join)`
      if (escapes) continue;
      out.push(issue('IL008',
        `Process \`${x}\` is started but never joined: the parent does not wait for it or collect its exit code, and finished children stay zombies until it is. Call \`${x}.join()\`.`,
        c.range, b ? [rel(b.range, `${x} created here`)] : [], [x]));
    }
  }
  return out;
}

/**
 * IL011: `p.join()` before the `q.get()` that reads what `p` puts on a multiprocessing queue (the Python
 * docs' "Joining processes that use queues"): a child that put items on a queue does not end until its
 * feeder thread has written them into the pipe, which holds about 64 KiB until someone reads it. Found in
 * one function: a process made with the queue among its `args`, joined (without a timeout) after it
 * started, and the queue read only after that join.
 */
function joinBeforeGet(m: ModuleModel): Issue[] {
  const out: Issue[] = [];
  if (!/\.get\(/.test(m.text)) return out;
  for (const fn of m.fns) {
    for (const c of fn.calls) {
      if (c.method !== 'join' || !c.receiver || c.args.length || !/^\w+$/.test(c.receiver)) continue;
      const x = c.receiver;
      if (m.kindOf(x, fn) !== 'process') continue;
      const b = m.bindingOf(x, fn, c.range);
      if (!b || b.iterates) continue;
      const start = fn.calls.find((o) => o.receiver === x && o.method === 'start' && before(o.range, c.range));
      if (!start) continue;
      const passed = new Set([...(b.keywords.args ?? '').matchAll(/\b[A-Za-z_]\w*\b/g)].map((t) => t[0]));
      for (const q of passed) {
        // (a queue.Queue passed to a process would be a copy: only multiprocessing's, or a context's)
        if (q === x || m.kindOf(q, fn) !== 'queue' || /^queue\./.test(m.resolveCallee(m.bindingOf(q, fn)?.ctor ?? ''))) continue;
        const gets = fn.calls.filter((o) => o.receiver === q && o.method === 'get');
        const after = gets.find((o) => before(c.range, o.range));
        if (!after || gets.some((o) => before(start.range, o.range) && before(o.range, c.range))) continue;
        out.push(issue('IL011',
          `\`${x}.join()\` before \`${q}.get()\`: a process that put items on \`${q}\` does not end until they are read (its queue's feeder thread waits for room in the pipe, about 64 KiB), so this join can wait forever (Python docs: "Joining processes that use queues"). Get the items first, then join.`,
          c.range, [rel(after.range, `${q}.get() only here, after the join`)], [x, q]));
        break;
      }
    }
  }
  return out;
}

/**
 * IL012: `os.fork()` after a thread started in the same function and not joined before it (the Python docs
 * of os.fork: forking a process with several threads can deadlock the child; 3.12 warns about it). The
 * child gets every lock as it is at that moment, held ones included, but only the forking thread: a lock
 * the other thread holds then is never released in the child.
 */
function forkWithThreads(m: ModuleModel): Issue[] {
  const out: Issue[] = [];
  if (!/\bfork\(/.test(m.text)) return out;
  for (const fn of m.fns) {
    for (const c of fn.calls) {
      if (c.method !== 'fork' || !['os.fork', 'posix.fork', 'os.forkpty'].includes(m.resolveCallee(c.callee))) continue;
      const started = fn.calls.find((s) => s.method === 'start' && s.receiver && /^\w+$/.test(s.receiver)
        && m.kindOf(s.receiver, fn) === 'thread' && before(s.range, c.range)
        && !fn.calls.some((j) => j.receiver === s.receiver && j.method === 'join' && !j.args.length
          && before(s.range, j.range) && before(j.range, c.range)));
      if (!started) continue;
      const t = started.receiver!;
      out.push(issue('IL012',
        `\`${c.callee}()\` while thread \`${t}\` may still run: the child process gets a copy of every lock as it is at this moment, but not the thread, so a lock \`${t}\` holds then (yours, or one inside logging, queue or print) stays held in the child for good (Python docs: os.fork). Fork before starting threads, join them first, or start the child with multiprocessing's "spawn" or "forkserver" method.`,
        c.range, [rel(started.range, `${t} started here`)], [c.callee, t]));
    }
  }
  return out;
}

/**
 * IL013: `p.wait()` on a `Popen(…, stdout=PIPE)` (or stderr) before anything in the function reads that pipe
 * (the Python docs of Popen.wait: "This will deadlock when using stdout=PIPE or stderr=PIPE and the child
 * process generates enough output to a pipe such that it blocks waiting for the OS pipe buffer to accept
 * more data."). Any mention of `p.stdout`/`p.stderr` or `p.communicate` between the two (a read, a loop over
 * it, handing it to a thread) counts as reading it. No quick fix: what replaces wait() depends on how the
 * output is used afterwards (communicate() closes the pipes). Also `subprocess.call(…, stdout=PIPE)` (and
 * check_call), which wait the same way and never read ("Do not use stdout=PIPE or stderr=PIPE with this
 * function").
 */
function waitOnUnreadPipe(m: ModuleModel): Issue[] {
  const out: Issue[] = [];
  if (!/\bPIPE\b/.test(m.text)) return out;
  for (const fn of m.fns) {
    for (const c of fn.calls) {
      const full = m.resolveCallee(c.callee);
      if (full !== 'subprocess.call' && full !== 'subprocess.check_call') continue;
      const piped = c.args.filter((a) => (a.keyword === 'stdout' || a.keyword === 'stderr') && /(^|\.)PIPE$/.test(a.text.trim()));
      if (!piped.length) continue;
      const pipes = piped.map((a) => `${a.keyword}=PIPE`).join(' and ');
      out.push(issue('IL013',
        `\`${c.callee}()\` with ${pipes}: it waits for the child and nothing ever reads the pipe, so once the child writes more than the pipe holds (about 64 KiB), both wait for good (Python docs: "Do not use stdout=PIPE or stderr=PIPE with this function"). Use \`subprocess.run(…, capture_output=True)\` to get the output, or \`stdout=subprocess.DEVNULL\` to drop it.`,
        c.range, piped.map((a) => rel(a.range, `${a.keyword}=PIPE here`)), [c.callee]));
    }
  }
  if (!/Popen/.test(m.text)) return out;
  for (const fn of m.fns) {
    for (const b of fn.bindings) {
      if (b.selfAttr || !b.ctor || m.resolveCallee(b.ctor) !== 'subprocess.Popen') continue;
      const streams = ['stdout', 'stderr'].filter((k) => /(^|\.)PIPE$/.test((b.keywords[k] ?? '').trim()));
      if (!streams.length) continue;
      // The constructor call itself (same statement: `p = Popen(…)` or `with Popen(…) as p`).
      const ctor = fn.calls.find((c) => c.callee === b.ctor && c.range.start.line <= b.range.start.line
        && b.range.start.line <= c.range.end.line + 1 && !fn.calls.some((o) => o !== c && o.callee === b.ctor && inside(o.range, c.range)));
      if (!ctor) continue;
      const p = b.name;
      const wait = fn.calls.find((w) => w.receiver === p && w.method === 'wait' && le(ctor.range.end, w.range.start));
      if (!wait) continue;
      const between = m.text.slice(offsetAt(m.text, ctor.range.end), offsetAt(m.text, wait.range.start));
      const read = new RegExp(`\\b${p}\\s*\\.\\s*(${streams.join('|')}|communicate)\\b`);
      if (read.test(between)) continue;
      const pipes = streams.map((k) => `${k}=PIPE`).join(' and ');
      const related = ctor.args.filter((a) => a.keyword && streams.includes(a.keyword)).map((a) => rel(a.range, `${a.keyword}=PIPE here`));
      out.push(issue('IL013',
        `\`${p}.wait()\` with ${pipes} and nothing reading ${streams.map((k) => `\`${p}.${k}\``).join(' or ')} first: once the child writes more than the pipe holds (about 64 KiB), it blocks until someone reads, and this wait never returns (Python docs: Popen.wait). Use \`${p}.communicate()\`, which reads the output while it waits, or read the output before waiting.`,
        wait.range, related.length ? related : [rel(ctor.range, 'started here')], [p]));
    }
  }
  return out;
}

/**
 * IL014: `Thread(target=work())`, `Process(target=work(x))`: the function runs right there, in the calling
 * thread, and what it returns becomes the target. Reported when every function the name can be returns
 * nothing (no `return <value>`), so the target is None (or a generator object): the thread or process
 * runs nothing. A call that returns a function (`target=make_worker(i)`) is a factory, not this mistake.
 */
function calledTarget(m: ModuleModel): Issue[] {
  const out: Issue[] = [];
  for (const s of m.startArgs) {
    const t = s.target;
    if (!t?.callee) continue;
    const fns = m.resolveTarget(t.callee, s.fn);
    if (!fns.length || fns.some((f) => f.returnsValue || f.cls)) continue;
    const params = t.elements ?? [];
    const hasArgs = s.call.args.some((a) => a.keyword === 'args') || s.call.args.filter((a) => !a.keyword).length > 2;
    let newText: string | undefined;
    if (!params.length) newText = t.callee;
    else if (t.keyword && !hasArgs && !params.some((p) => /^\*|=/.test(p))) newText = `${t.callee}, args=(${params.join(', ')}${params.length === 1 ? ',' : ''})`;
    const what = s.kind === 'process' ? 'process' : 'thread';
    out.push(issue('IL014',
      `\`${t.text}\` calls \`${t.callee}\` right here, in the calling thread, before the ${what} starts: the ${what} gets its result (None, or a generator) as its target instead of a function, and runs nothing. Pass the function itself${newText ? `: \`${newText}\`` : ', and its arguments in `args=(…)`'}.`,
      t.range, [], [t.callee],
      newText ? { fix: { kind: 'replace', title: `Pass ${t.callee} itself as the target`, range: copy(t.range), newText } } : {}));
  }
  return out;
}

const LITERAL = new Set(['integer', 'float', 'string', 'concatenated_string', 'true', 'false', 'none', 'unary_operator']);

/**
 * IL015: `args=(x)` for a thread or process: parentheses alone only group `x`; the comma makes a tuple.
 * The new thread then calls `target(*x)`: a TypeError for a number, one argument per character for a
 * string. Reported when `x` cannot be a sequence meant to be unpacked: a literal (a number, a string), or a `for`
 * variable over `range(…)`.
 */
function argsNotATuple(m: ModuleModel): Issue[] {
  const out: Issue[] = [];
  for (const s of m.startArgs) {
    const a = s.args;
    if (!a?.parenthesized) continue;
    const inner = a.text.slice(1, -1).trim();
    const loopInt = a.parenthesized === 'identifier'
      && s.fn.bindings.some((b) => b.name === inner && /^range\(/.test(b.iterates ?? ''));
    if (!LITERAL.has(a.parenthesized) && !loopInt) continue;
    const what = s.kind === 'process' ? 'process' : 'thread';
    const fixed = `${a.text.slice(0, -1).replace(/\s+$/, '')},)`;
    out.push(issue('IL015',
      `\`${a.text}\` is not a tuple: the parentheses only group \`${inner}\`, so the ${what} calls its target with \`*${inner}\` and fails with a TypeError (a string would be split into one argument per character). Write \`${fixed}\`: the comma makes the tuple.`,
      a.range, [], [inner],
      { fix: { kind: 'replace', title: `Make it a one-element tuple: ${fixed}`, range: copy(a.range), newText: fixed } }));
  }
  return out;
}

function sharedMemory(m: ModuleModel): Issue[] {
  const out: Issue[] = [];
  // Only Value/RawValue/Array/RawArray objects (however imported or aliased, the name is in the text)
  // matter here; most files have none, and this walk over every access is costly on each keystroke.
  if (!/Value|Array/.test(m.text)) return out;
  for (const fn of m.fns) {
    const procCtx = (m.contexts.get(fn) ?? []).filter((e) => e.kind === 'process' || e.kind === 'thread');
    for (const a of fn.accesses) {
      if (a.held.length || m.lockedHelpers.has(fn)) continue;
      const isValue = a.kind === 'attr' && a.attr === 'value';
      const isItem = a.kind === 'item';
      if (!isValue && !isItem) continue;
      const rmw = a.aug || fn.accesses.some((r) => r.kind === 'read' && r.stmt === a.stmt && r.name === a.name && (isItem || r.attr === 'value')
        && !samePos(r.range.start, a.range.start));
      if (!rmw) continue;
      let kind = m.kindOf(a.name, fn);
      if (kind === 'other' && fn.params.includes(a.name)) {
        // A parameter: what the starting site passes (`Process(target=f, args=(counter,))`).
        for (const e of procCtx) {
          const passed = e.argMap?.get(a.name);
          if (!passed) continue;
          const origin = m.fns.find((f) => f.calls.some((c) => c.range === e.site)) ?? m.module;
          const k = m.kindOf(passed, origin);
          if (k === 'value' || k === 'array') kind = k;
        }
      }
      if (!((isValue && kind === 'value') || (isItem && kind === 'array'))) continue;
      // Racy only if two workers can update it at once.
      const workers = (m.contexts.get(fn) ?? []).filter((e) => e.kind === 'process' || e.kind === 'thread');
      if (!(workers.some((e) => e.multi) || workers.length > 1)) continue;
      out.push(issue('IL009',
        `\`${a.name}${isValue ? '.value' : '[…]'}\` is read and written in two steps on shared memory without its lock: concurrent updates are lost. Wrap it in \`with ${a.name}.get_lock():\`.`,
        a.range, procCtx.slice(0, 2).map(started), [a.name],
        { fix: { kind: 'wrap', range: copy(a.stmt.range), lock: `${a.name}.get_lock()` } }));
    }
  }
  return out;
}

// ---- asyncio (IL010) ------------------------------------------------------------------------------

const BLOCKING = /^(time\.sleep|subprocess\.(run|call|check_call|check_output|getoutput|getstatusoutput)|os\.(system|wait|waitpid)|requests\.(get|post|put|delete|head|patch|request)|urllib\.request\.urlopen|input|socket\.create_connection)$/;

function blockingInAsync(m: ModuleModel): Issue[] {
  const out: Issue[] = [];
  for (const fn of m.fns) {
    if (!fn.isAsync) continue;
    for (const c of fn.calls) {
      if (c.awaited) continue;
      const full = m.resolveCallee(c.callee);
      let why: string | undefined;
      if (BLOCKING.test(full)) why = `\`${c.callee}()\` blocks`;
      else if (c.receiver) {
        const kind = m.kindOf(c.receiver, fn);
        const nonBlocking = c.args.some((a) => /^(block(ing)?=False|False|timeout=0)$/.test(a.text.replace(/\s/g, '')));
        if (c.method === 'join' && (kind === 'thread' || kind === 'process')) why = `\`${c.receiver}.join()\` waits for a ${kind}`;
        else if ((c.method === 'get' || c.method === 'put') && kind === 'queue' && !nonBlocking) why = `\`${c.receiver}.${c.method}()\` on a thread/process queue blocks`;
        else if (c.method === 'acquire' && kind === 'lock' && !nonBlocking) why = `\`${c.receiver}.acquire()\` on a threading lock blocks`;
        else if (c.method === 'wait' && kind === 'event') why = `\`${c.receiver}.wait()\` on a threading.Event blocks`;
      }
      if (!why) continue;
      out.push(issue('IL010',
        `${why} inside \`async def ${fn.name}\`: it stops the whole event loop, so no other task runs meanwhile. Use the asyncio equivalent (\`await asyncio.sleep\`, \`asyncio.create_subprocess_exec\`, \`asyncio.Queue\`) or \`await asyncio.to_thread(…)\`.`,
        c.range, [], [c.callee]));
    }
  }
  return out;
}

export function ruleTitle(code: RuleCode): string {
  return RULES[code];
}

export type { Call };
