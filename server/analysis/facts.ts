/**
 * Facts: what one top-level statement of a Python file does, read from its syntax tree once and kept
 * without the tree (trees live in wasm memory and are replaced on every edit). The rules work on these
 * facts only, so unchanged top-level statements are not walked again after an edit (see units.ts).
 */
import type { Range } from '../../protocol/lsp';

/** A statement directly inside a block; accesses and calls point to their innermost one (quick fixes wrap it). */
export interface Stmt {
  range: Range;
  /** Blocks are compared by identity: statements of the same block are siblings. */
  block: object;
}

export type AccessKind =
  | 'read'
  | 'assign'   // name = …
  | 'aug'      // name += …
  | 'item'     // x[k] = …, del x[k], x[k] += …
  | 'attr'     // x.a = …
  | 'mutcall'; // x.append(…) and other mutating methods

export interface Access {
  kind: AccessKind;
  /** Root name: `balance`, `cache` in `cache[k]`, `self` in `self.count += 1`. */
  name: string;
  /** First attribute after the root (`count` in `self.count`, `value` in `v.value`), if any. */
  attr?: string;
  /** The written or read expression. */
  range: Range;
  stmt: Stmt;
  /** Lock expressions held here (`with` items, acquire()…release() spans). */
  held: string[];
  /** A read-modify-write in a single statement (`x += 1`, `d[k] += 1`). */
  aug?: boolean;
  /** For attribute writes, `self.a.b = …` also marks `a`'s attribute `b`. */
  deep?: boolean;
}

export type ArgKind = 'name' | 'attr' | 'lambda' | 'call' | 'tuple' | 'other';
export interface Arg {
  keyword?: string;
  kind: ArgKind;
  text: string;
  range: Range;
  /** Lambda arguments: the lambda's own function facts. */
  lambda?: Fn;
  /** `call` arguments: the called expression (`worker` in `create_task(worker())`, `f` in `partial(f, 1)`). */
  callee?: string;
  /** `partial(f, …)`: f's text; tuple arguments: the element texts. */
  elements?: string[];
  /** `(x)`: an expression in parentheses, not a tuple; the parenthesised expression's node type. */
  parenthesized?: string;
}

export interface Call {
  /** Text of the called expression, e.g. `threading.Thread`, `self._lock.acquire`. */
  callee: string;
  /** Receiver text for attribute calls (`self._lock`), else undefined. */
  receiver?: string;
  /** Last segment (`acquire`). */
  method: string;
  range: Range;
  /** Range of the called expression's last segment (where a finding for the call points). */
  nameRange: Range;
  args: Arg[];
  held: string[];
  /** Inside a loop or comprehension of the same function (so it may run many times). */
  inLoop: boolean;
  /** Directly under `await`. */
  awaited: boolean;
  stmt: Stmt;
  /** At module level inside `if __name__ == '__main__':`. */
  guarded: boolean;
  /** Assigned straight to a name: `p = Process(…)`, `with Pool() as p` (binding, kept for kinds). */
  boundTo?: string;
}

/** `name = Ctor(…)`, `self.x = Ctor(…)` or `with Ctor() as name`: enough to know what a name holds. */
export interface Binding {
  name: string;
  /** Set for `self.x = …` bindings (name is then the attribute). */
  selfAttr?: boolean;
  /** Callee text of the constructor call, or a literal kind: '[]', '{}', 'set()'. */
  ctor: string;
  /** Argument texts of the constructor (Condition(self.mutex) aliases the mutex). */
  args: string[];
  keywords: Record<string, string>;
  range: Range;
  /** `for p in procs`: the iterable's text. */
  iterates?: string;
  /** `with Pool() as p`: where the with statement ends (the pool is terminated there). */
  withEnd?: Range;
}

export interface LockAcquire {
  lock: string;
  range: Range;
  /** Locks already held when this one is taken. */
  held: string[];
}

/** `if <cond>: <body>` where the condition reads names the body writes (check-then-act candidates). */
export interface IfFact {
  condRange: Range;
  stmt: Stmt;
  held: string[];
  condReads: Access[];
  bodyWrites: Access[];
}

/** A test (`if`, `elif`, `while`) and the body it guards. */
export interface TestFact {
  cond: Range;
  body: Range;
}

/** An acquire() that some path can leave held (IL003), found while walking the block. */
export interface UnreleasedAcquire {
  lock: string;
  range: Range;
  reason: 'never' | 'exit' | 'exception';
  /** The early return/raise, or the release() that an exception would skip. */
  related?: Range;
  /** For the acquire→with quick fix: acquire and release statements in the same block. */
  acquireStmt?: Range;
  releaseStmt?: Range;
}

export interface ClassFacts {
  name: string;
  bases: string[];
  range: Range;
}

export interface Fn {
  name: string;
  /** `Class.method` or `outer.<locals>.inner`-like, for messages. */
  qualname: string;
  isModule: boolean;
  isLambda: boolean;
  isAsync: boolean;
  cls?: ClassFacts;
  parent?: Fn;
  range: Range;
  nameRange: Range;
  params: string[];
  globals: Set<string>;
  nonlocals: Set<string>;
  /** Names bound in this scope (assigned, imported, defined, loop/with/except targets, params). */
  locals: Set<string>;
  /** `import x as y`, `from m import n as y`: local name → dotted origin. */
  imports: Map<string, string>;
  accesses: Access[];
  calls: Call[];
  bindings: Binding[];
  locks: LockAcquire[];
  ifs: IfFact[];
  /** Every `if`/`elif`/`while` test and the block it guards (queue check-then-act, IL002). */
  tests: TestFact[];
  unreleased: UnreleasedAcquire[];
  /** Names returned or yielded (objects that escape, e.g. a started Process handed to the caller). */
  returned: Set<string>;
  /** A `return <value>` somewhere in the body (not counting nested functions): else it returns None. */
  returnsValue: boolean;
  /** Nested functions and lambdas, for name resolution. */
  children: Fn[];
  /** Module-level statements that are definitions (def/class/import) do not need a __main__ guard. */
}

/** The facts of one top-level statement. */
export interface Unit {
  /** The module-level part (statements outside functions). */
  module: Fn;
  /** Every function and lambda inside, the nested ones included. */
  fns: Fn[];
  classes: ClassFacts[];
  /** Ranges of top-level statements, in order, with whether each is a definition (def/class/import). */
  topStatements: { range: Range; definition: boolean; guard: boolean }[];
  hasError: boolean;
  /** Every Range object referenced by the facts, so a reused unit can be moved to new lines in place. */
  ranges: Range[];
}

export function newFn(name: string, qualname: string, range: Range, nameRange: Range, opts: Partial<Fn> = {}): Fn {
  return {
    name, qualname, range, nameRange,
    isModule: false, isLambda: false, isAsync: false,
    params: [], globals: new Set(), nonlocals: new Set(), locals: new Set(), imports: new Map(),
    accesses: [], calls: [], bindings: [], locks: [], ifs: [], tests: [], unreleased: [], returned: new Set(), returnsValue: false, children: [],
    ...opts,
  };
}
