/**
 * Walks one top-level statement's syntax tree and records its facts (facts.ts). Scope handling follows
 * Python's rules closely enough for the rules: `global`/`nonlocal` declarations, bindings per function
 * and lambda, class bodies that do not form a closure scope.
 */
import type { Node } from '../parse/python';
import type { TreeCursor } from 'web-tree-sitter';
import type { Range } from '../../protocol/lsp';
import {
  AccessKind, Arg, Binding, ClassFacts, Fn, IfFact, Stmt, Unit, newFn,
} from './facts';

/** Methods that change the object they are called on. */
export const MUTATING_METHODS = new Set([
  'append', 'extend', 'insert', 'pop', 'remove', 'clear', 'update', 'setdefault', 'add', 'discard',
  'popitem', 'sort', 'reverse', 'appendleft', 'popleft', 'extendleft', 'rotate', '__setitem__', '__delitem__',
  'difference_update', 'intersection_update', 'symmetric_difference_update',
]);

/** Node types visit() handles itself; any other named node is a plain container (see siblings()). */
const HANDLED = new Set([
  'block', 'decorated_definition', 'function_definition', 'lambda', 'class_definition', 'global_statement',
  'nonlocal_statement', 'import_statement', 'import_from_statement', 'future_import_statement', 'assignment',
  'augmented_assignment', 'delete_statement', 'for_statement', 'for_in_clause', 'while_statement',
  'list_comprehension', 'set_comprehension', 'dictionary_comprehension', 'generator_expression', 'with_statement',
  'if_statement', 'return_statement', 'yield', 'await', 'call', 'attribute', 'keyword_argument', 'as_pattern',
  'except_clause', 'named_expression', 'elif_clause',
]);
/** Leaves with nothing to record. */
const SKIPPED = new Set(['comment', 'integer', 'float', 'true', 'false', 'none', 'ellipsis', 'pass_statement',
  'break_statement', 'continue_statement', 'escape_sequence', 'type_conversion', 'line_continuation']);

const LOCKISH_NAME = /lock|mutex|cond|sem(aphore)?\b|_cv\b|^cv$|guard/i;

interface Ctx {
  fn: Fn;
  cls?: ClassFacts;
  /** In a class body (not in a method): assignments bind class attributes, not names. */
  classBody: boolean;
  held: string[];
  inLoop: boolean;
  guarded: boolean;
  stmt: Stmt;
  awaited: boolean;
}

export class Extractor {
  private unit!: Unit;

  constructor(private readonly text: string) {}

  /** Facts of one top-level statement (a child of the module node). */
  extract(node: Node): Unit {
    this.unit = { module: undefined as unknown as Fn, fns: [], classes: [], topStatements: [], hasError: node.hasError, ranges: [] };
    const module = newFn('<module>', '<module>', this.range(node), this.range(node), { isModule: true });
    this.unit.module = module;
    const block = {};
    const stmt: Stmt = { range: this.range(node), block };
    const ctx: Ctx = { fn: module, classBody: false, held: [], inLoop: false, guarded: false, stmt, awaited: false };
    this.unit.topStatements.push({
      range: stmt.range,
      definition: isDefinition(node),
      guard: node.type === 'if_statement' && isMainGuard(node, this.text),
    });
    this.statement(node, ctx, block);
    return this.unit;
  }

  /** A unit that is not walked (see prefilter.ts): only its place among the top-level statements. */
  skeleton(node: Node): Unit {
    this.unit = { module: undefined as unknown as Fn, fns: [], classes: [], topStatements: [], hasError: node.hasError, ranges: [] };
    const range = this.range(node);
    this.unit.module = newFn('<module>', '<module>', range, range, { isModule: true });
    this.unit.topStatements.push({ range, definition: isDefinition(node), guard: false });
    return this.unit;
  }

  // ---- positions --------------------------------------------------------------------------------

  private range(node: Node): Range {
    const s = node.startPosition;
    const e = node.endPosition;
    const r: Range = { start: { line: s.row, character: s.column }, end: { line: e.row, character: e.column } };
    this.unit.ranges.push(r);
    return r;
  }

  private src(node: Node): string {
    return this.text.slice(node.startIndex, node.endIndex);
  }

  // ---- statements -------------------------------------------------------------------------------

  /** Statements of a block in order; `x.acquire()` makes x held for the following siblings until released. */
  private block(node: Node, ctx: Ctx): void {
    const block = {};
    const children = node.namedChildren;
    let held = ctx.held;
    for (let i = 0; i < children.length; i++) {
      const child = children[i];
      if (child.type === 'comment') continue;
      const release = this.lockCallOf(child, 'release');
      if (release && held.includes(release)) held = held.filter((h) => h !== release);
      const stmtCtx: Ctx = { ...ctx, held };
      this.statement(child, stmtCtx, block);
      const acquired = this.lockCallOf(child, 'acquire');
      if (acquired) {
        this.checkRelease(child, children, i, acquired, ctx);
        if (!held.includes(acquired)) held = [...held, acquired];
      }
      // `acquire(); try: … finally: release()` — held through the try, released after it.
      if (child.type === 'try_statement' && held !== ctx.held) {
        const fin = child.namedChildren.find((c) => c.type === 'finally_clause');
        if (fin) for (const h of held) if (this.releases(fin, h)) held = held.filter((x) => x !== h);
      }
    }
  }

  /** `lock.acquire(...)` / `lock.release()` as a statement (also `ok = lock.acquire(False)`): the lock's text. */
  private lockCallOf(stmt: Node, method: 'acquire' | 'release'): string | undefined {
    if (stmt.type !== 'expression_statement') return undefined;
    // Cheap text test first: building tree nodes is what costs.
    if (!this.text.slice(stmt.startIndex, stmt.endIndex).includes(method)) return undefined;
    let expr = stmt.namedChild(0);
    if (expr?.type === 'assignment') expr = expr.childForFieldName('right');
    if (!expr || expr.type !== 'call') return undefined;
    const fnNode = expr.childForFieldName('function');
    if (fnNode?.type !== 'attribute') return undefined;
    const attr = fnNode.childForFieldName('attribute');
    const obj = fnNode.childForFieldName('object');
    if (!attr || !obj || this.src(attr) !== method) return undefined;
    if (method === 'acquire' && expr.childForFieldName('arguments')?.namedChildCount && !this.acquireArgsBlocking(expr)) {
      return undefined;
    }
    return this.src(obj);
  }

  /** acquire(False)/acquire(blocking=False) is a try-lock whose result decides; those are checked as if-conditions. */
  private acquireArgsBlocking(call: Node): boolean {
    const args = call.childForFieldName('arguments')?.namedChildren ?? [];
    for (const a of args) {
      const t = this.src(a).replace(/\s/g, '');
      if (t === 'False' || t === '0' || t === 'blocking=False') return false;
    }
    return true;
  }

  /** Whether `node` calls `<lock>.release()` itself (code in nested functions runs elsewhere, so it does not count). */
  private releases(node: Node, lock: string): boolean {
    const needle = `${lock}.release(`.replace(/\s+/g, '');
    if (!this.src(node).replace(/\s+/g, '').includes(needle)) return false;
    const search = (n: Node): boolean => {
      if (n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return false;
      if (n.type === 'call' && this.src(n).replace(/\s+/g, '').startsWith(needle)) return true;
      return n.namedChildren.some(search);
    };
    return search(node);
  }

  /** IL003: after `lock.acquire()` at siblings[i], is the lock released on every path? */
  private checkRelease(stmt: Node, siblings: Node[], i: number, lock: string, ctx: Ctx): void {
    const fn = ctx.fn;
    const acquireRange = this.range(stmt);
    const next = siblings.slice(i + 1).find((s) => s.type !== 'comment');
    if (next?.type === 'try_statement') {
      const fin = next.namedChildren.find((c) => c.type === 'finally_clause');
      if (fin && this.releases(fin, lock)) return;
    }
    // Inside a try whose finally releases it (`try: lock.acquire(); … finally: lock.release()`).
    for (let p = stmt.parent; p && p.type !== 'function_definition' && p.type !== 'module'; p = p.parent) {
      if (p.type === 'block' && p.parent?.type === 'try_statement' && p.parent.childForFieldName('body')?.id === p.id) {
        const fin = p.parent.namedChildren.find((c) => c.type === 'finally_clause');
        if (fin && this.releases(fin, lock)) return;
      }
    }
    const callNode = this.findAcquireCall(stmt);
    const range = callNode ? this.range(callNode) : acquireRange;
    for (let j = i + 1; j < siblings.length; j++) {
      const s = siblings[j];
      if (this.lockCallOf(s, 'release') === lock) {
        const between = siblings.slice(i + 1, j);
        const exit = between.map((b) => this.findExit(b)).find((x) => x);
        if (exit) {
          fn.unreleased.push({ lock, range, reason: 'exit', related: this.range(exit) });
        } else if (between.some((b) => this.mayRaise(b))) {
          fn.unreleased.push({
            lock, range, reason: 'exception', related: this.range(s),
            acquireStmt: acquireRange, releaseStmt: this.range(s),
          });
        }
        return;
      }
      if (this.releases(s, lock)) {
        // Released somewhere inside a later compound statement (a branch): not on every path unless
        // the statement releases in a finally, which the try check above handles.
        fn.unreleased.push({ lock, range, reason: 'exit', related: this.range(s) });
        return;
      }
    }
    // Not released later in this block. Acquire helpers (`__enter__`, `acquire()` wrappers) are fine.
    if (/acquire|lock|enter|__enter__|_get|begin|start/i.test(fn.name)) return;
    const fnNode = this.enclosingFunctionNode(stmt);
    const body = fnNode?.childForFieldName('body');
    if (body && this.releases(body, lock)) {
      // Released earlier and taken again here (Condition.wait-style code that must return holding it).
      const firstRelease = this.text.indexOf(`${lock}.release(`, body.startIndex);
      if (firstRelease >= 0 && firstRelease < stmt.startIndex) return;
      fn.unreleased.push({ lock, range, reason: 'exit' });
    } else {
      fn.unreleased.push({ lock, range, reason: 'never' });
    }
  }

  private findAcquireCall(stmt: Node): Node | undefined {
    let expr = stmt.namedChild(0);
    if (expr?.type === 'assignment') expr = expr.childForFieldName('right');
    return expr?.type === 'call' ? expr : undefined;
  }

  private enclosingFunctionNode(node: Node): Node | undefined {
    for (let p = node.parent; p; p = p.parent) if (p.type === 'function_definition') return p;
    return undefined;
  }

  /** A return/raise/break/continue inside `node` that leaves the enclosing block (nested defs excluded). */
  private findExit(node: Node): Node | undefined {
    if (['return_statement', 'raise_statement', 'break_statement', 'continue_statement'].includes(node.type)) return node;
    if (node.type === 'function_definition' || node.type === 'class_definition' || node.type === 'lambda') return undefined;
    for (const c of node.namedChildren) {
      const found = this.findExit(c);
      if (found) return found;
    }
    return undefined;
  }

  /** Whether a statement can raise: it calls something or indexes (cheap, conservative check). */
  private mayRaise(node: Node): boolean {
    const t = node.type;
    if (t === 'call' || t === 'subscript' || t === 'raise_statement' || t === 'assert_statement') return true;
    if (t === 'function_definition' || t === 'class_definition' || t === 'lambda') return false;
    for (const c of node.namedChildren) if (this.mayRaise(c)) return true;
    return false;
  }

  private statement(node: Node, ctx: Ctx, block: object): void {
    const stmtCtx: Ctx = { ...ctx, stmt: { range: this.range(node), block } };
    this.visit(node, stmtCtx);
  }

  // ---- the walk ---------------------------------------------------------------------------------

  private visit(node: Node, ctx: Ctx): void {
    switch (node.type) {
      case 'comment': case 'string': case 'integer': case 'float': case 'true': case 'false': case 'none':
      case 'ellipsis': case 'pass_statement': case 'break_statement': case 'continue_statement':
        if (node.type === 'string' && /^[rRbB]?[fF]/.test(this.text.slice(node.startIndex, node.startIndex + 3))) this.visitChildren(node, ctx); // f-string interpolations
        return;
      case 'block': this.block(node, ctx); return;
      case 'decorated_definition': {
        for (const c of node.namedChildren) {
          if (c.type === 'decorator') this.visitChildren(c, ctx);
          else this.visit(c, ctx);
        }
        return;
      }
      case 'function_definition': this.functionDef(node, ctx); return;
      case 'lambda': this.lambda(node, ctx); return;
      case 'class_definition': this.classDef(node, ctx); return;
      case 'global_statement':
        for (const c of node.namedChildren) if (c.type === 'identifier') ctx.fn.globals.add(this.src(c));
        return;
      case 'nonlocal_statement':
        for (const c of node.namedChildren) if (c.type === 'identifier') ctx.fn.nonlocals.add(this.src(c));
        return;
      case 'import_statement': case 'import_from_statement': case 'future_import_statement':
        this.importStmt(node, ctx); return;
      case 'assignment': this.assignment(node, ctx); return;
      case 'augmented_assignment': {
        const right = node.childForFieldName('right');
        if (right) this.visit(right, ctx);
        const left = node.childForFieldName('left');
        if (left) this.target(left, ctx, true);
        return;
      }
      case 'delete_statement':
        for (const c of node.namedChildren) this.target(c, ctx, false, true);
        return;
      case 'for_statement': case 'for_in_clause': {
        const right = node.childForFieldName('right');
        const left = node.childForFieldName('left');
        if (right) this.visit(right, ctx);
        if (left) {
          this.target(left, ctx, false);
          if (left.type === 'identifier' && right) {
            ctx.fn.bindings.push({ name: this.src(left), ctor: '', args: [], keywords: {}, range: this.range(left), iterates: this.src(right) });
          }
        }
        const loopCtx = { ...ctx, inLoop: true };
        for (const c of node.namedChildren) {
          if (c.id === left?.id || c.id === right?.id) continue;
          this.visit(c, loopCtx);
        }
        return;
      }
      case 'elif_clause': {
        this.noteTest(node, ctx);
        this.visitChildren(node, ctx);
        return;
      }
      case 'while_statement': {
        this.noteTest(node, ctx);
        this.visitChildren(node, { ...ctx, inLoop: true });
        return;
      }
      case 'list_comprehension': case 'set_comprehension': case 'dictionary_comprehension': case 'generator_expression':
        this.visitChildren(node, { ...ctx, inLoop: true }); return;
      case 'with_statement': this.withStmt(node, ctx); return;
      case 'if_statement': this.ifStmt(node, ctx); return;
      case 'return_statement': case 'yield':
        if (node.type === 'return_statement' && node.namedChildren.length) ctx.fn.returnsValue = true;
        for (const c of node.namedChildren) {
          if (c.type === 'identifier') ctx.fn.returned.add(this.src(c));
          this.visit(c, ctx);
        }
        return;
      case 'await': this.visitChildren(node, { ...ctx, awaited: true }); return;
      case 'call': this.call(node, ctx); return;
      case 'attribute': this.attributeRead(node, ctx); return;
      case 'identifier': this.read(node, ctx); return;
      case 'keyword_argument': {
        const v = node.childForFieldName('value');
        if (v) this.visit(v, ctx);
        return;
      }
      case 'as_pattern': case 'except_clause': {
        // `except E as e`: bind e; visit the rest.
        for (const c of node.namedChildren) {
          if (c.type === 'as_pattern_target') { for (const t of c.namedChildren) this.target(t, ctx, false); continue; }
          this.visit(c, ctx);
        }
        return;
      }
      case 'named_expression': {
        const name = node.childForFieldName('name');
        const value = node.childForFieldName('value');
        if (value) this.visit(value, ctx);
        if (name) this.target(name, ctx, false);
        return;
      }
      default:
        this.visitChildren(node, { ...ctx, awaited: false });
    }
  }

  /**
   * Children through a tree cursor: most nodes (operators, argument lists, expression statements) only
   * contain what matters, and making a JS node object for each costs more than the rest of the walk.
   */
  private visitChildren(node: Node, ctx: Ctx): void {
    const cursor = node.walk();
    try {
      if (cursor.gotoFirstChild()) this.siblings(cursor, ctx);
    } finally {
      cursor.delete();
    }
  }

  private siblings(cursor: TreeCursor, ctx: Ctx): void {
    do {
      if (!cursor.nodeIsNamed) continue;
      const type = cursor.nodeType;
      if (SKIPPED.has(type)) continue;
      if (type === 'identifier') {
        const r = this.rangeAt(cursor);
        ctx.fn.accesses.push({ kind: 'read', name: this.text.slice(cursor.startIndex, cursor.endIndex), range: r, stmt: ctx.stmt, held: ctx.held });
      } else if (type === 'string') {
        if (/^[rRbB]?[fF]/.test(this.text.slice(cursor.startIndex, cursor.startIndex + 3))) this.visit(cursor.currentNode, ctx);
      } else if (HANDLED.has(type)) {
        this.visit(cursor.currentNode, ctx);
      } else if (cursor.gotoFirstChild()) {
        // A container node: what visit()'s default case does, without building the node.
        this.siblings(cursor, ctx.awaited ? { ...ctx, awaited: false } : ctx);
        cursor.gotoParent();
      }
    } while (cursor.gotoNextSibling());
  }

  private rangeAt(cursor: TreeCursor): Range {
    const s = cursor.startPosition;
    const e = cursor.endPosition;
    const r: Range = { start: { line: s.row, character: s.column }, end: { line: e.row, character: e.column } };
    this.unit.ranges.push(r);
    return r;
  }

  private importStmt(node: Node, ctx: Ctx): void {
    const fn = ctx.fn;
    const module = node.type === 'import_from_statement' ? node.childForFieldName('module_name') : null;
    const from = module ? this.src(module) : '';
    for (const c of node.namedChildren) {
      if (module && c.id === module.id) continue;
      let dotted = c;
      let alias: Node | null = null;
      if (c.type === 'aliased_import') { dotted = c.childForFieldName('name')!; alias = c.childForFieldName('alias'); }
      if (!dotted || (dotted.type !== 'dotted_name' && dotted.type !== 'identifier')) continue;
      const full = this.src(dotted);
      const local = alias ? this.src(alias) : from ? full : full.split('.')[0];
      const origin = from ? (from.endsWith('.') ? from + full : `${from}.${full}`) : alias ? full : local;
      fn.locals.add(local);
      fn.imports.set(local, origin);
    }
  }

  private functionDef(node: Node, ctx: Ctx): void {
    const nameNode = node.childForFieldName('name');
    const name = nameNode ? this.src(nameNode) : '<function>';
    if (!ctx.classBody) ctx.fn.locals.add(name);
    const qual = ctx.classBody && ctx.cls ? `${ctx.cls.name}.${name}` : ctx.fn.isModule ? name : `${ctx.fn.qualname}.${name}`;
    const fn = newFn(name, qual, this.range(node), nameNode ? this.range(nameNode) : this.range(node), {
      isAsync: node.child(0)?.type === 'async',
      cls: ctx.classBody ? ctx.cls : undefined,
      parent: ctx.fn,
    });
    ctx.fn.children.push(fn);
    this.unit.fns.push(fn);
    const params = node.childForFieldName('parameters');
    if (params) this.params(params, fn, ctx);
    const body = node.childForFieldName('body');
    if (body) {
      const block = {};
      this.visit(body, { fn, cls: ctx.cls, classBody: false, held: [], inLoop: false, guarded: false, stmt: { range: fn.range, block }, awaited: false });
    }
  }

  private params(params: Node, fn: Fn, outer: Ctx): void {
    for (const p of params.namedChildren) {
      let nameNode: Node | null = null;
      if (p.type === 'identifier') nameNode = p;
      else if (p.type === 'default_parameter' || p.type === 'typed_default_parameter') {
        nameNode = p.childForFieldName('name');
        const v = p.childForFieldName('value');
        if (v) this.visit(v, outer); // defaults are evaluated in the enclosing scope
      } else if (p.type === 'typed_parameter' || p.type === 'list_splat_pattern' || p.type === 'dictionary_splat_pattern') {
        nameNode = p.namedChildren.find((c) => c.type === 'identifier') ?? null;
      }
      if (nameNode?.type === 'identifier') {
        const n = this.src(nameNode);
        fn.params.push(n);
        fn.locals.add(n);
      }
    }
  }

  private lambda(node: Node, ctx: Ctx): void {
    const fn = newFn('<lambda>', `${ctx.fn.qualname}.<lambda>`, this.range(node), this.range(node), { isLambda: true, parent: ctx.fn, cls: ctx.fn.cls });
    ctx.fn.children.push(fn);
    this.unit.fns.push(fn);
    const params = node.childForFieldName('parameters');
    if (params) this.params(params, fn, ctx);
    const body = node.childForFieldName('body');
    if (body) this.visit(body, { ...ctx, fn, classBody: false, held: [], inLoop: false, awaited: false });
  }

  private classDef(node: Node, ctx: Ctx): void {
    const nameNode = node.childForFieldName('name');
    const name = nameNode ? this.src(nameNode) : '<class>';
    if (!ctx.classBody) ctx.fn.locals.add(name);
    const supers = node.childForFieldName('superclasses');
    const bases = supers ? supers.namedChildren.filter((c) => c.type !== 'keyword_argument').map((c) => this.src(c)) : [];
    if (supers) this.visit(supers, ctx);
    const cls: ClassFacts = { name, bases, range: this.range(node) };
    this.unit.classes.push(cls);
    const body = node.childForFieldName('body');
    if (body) this.visit(body, { ...ctx, cls, classBody: true, held: [] });
  }

  private withStmt(node: Node, ctx: Ctx): void {
    const clause = node.namedChildren.find((c) => c.type === 'with_clause');
    let held = ctx.held;
    for (const item of clause?.namedChildren ?? []) {
      if (item.type !== 'with_item') continue;
      let value = item.childForFieldName('value');
      let alias: Node | null = null;
      if (value?.type === 'as_pattern') {
        const target = value.namedChildren.find((c) => c.type === 'as_pattern_target');
        alias = target?.namedChild(0) ?? null;
        value = value.namedChild(0);
      }
      if (!value) continue;
      this.visit(value, { ...ctx, held });
      if (alias) {
        this.target(alias, ctx, false);
        if (value.type === 'call' && alias.type === 'identifier') {
          this.bindCall(this.src(alias), false, value, ctx, alias);
          ctx.fn.bindings[ctx.fn.bindings.length - 1].withEnd = this.range(node);
        }
      }
      const lock = this.lockOfWithItem(value);
      if (lock) {
        ctx.fn.locks.push({ lock, range: this.range(value), held });
        held = [...held, lock];
      }
    }
    const body = node.childForFieldName('body');
    if (body) this.visit(body, { ...ctx, held });
  }

  /** The lock a `with` item holds: plain names/attributes (a lock, a Condition…), `x.get_lock()`, lock-named calls. */
  private lockOfWithItem(value: Node): string | undefined {
    if (value.type === 'identifier' || value.type === 'attribute') return this.src(value);
    if (value.type === 'call') {
      const f = value.childForFieldName('function');
      const t = f ? this.src(f) : '';
      if (/\.get_lock$/.test(t)) return this.src(value);
      if (LOCKISH_NAME.test(t.split('.').pop() ?? '') && !/^(open|suppress)$/.test(t)) return this.src(value);
    }
    if (value.type === 'parenthesized_expression' && value.namedChild(0)) return this.lockOfWithItem(value.namedChild(0)!);
    return undefined;
  }

  /** An if/elif/while test and the block it guards, as ranges (TestFact). */
  private noteTest(node: Node, ctx: Ctx): void {
    const cond = node.childForFieldName('condition');
    const body = node.childForFieldName('consequence') ?? node.childForFieldName('body');
    if (cond && body) ctx.fn.tests.push({ cond: this.range(cond), body: this.range(body) });
  }

  private ifStmt(node: Node, ctx: Ctx): void {
    const fn = ctx.fn;
    const cond = node.childForFieldName('condition');
    this.noteTest(node, ctx);
    const a0 = fn.accesses.length;
    if (cond) this.visit(cond, ctx);
    const a1 = fn.accesses.length;
    const guard = ctx.fn.isModule && isMainGuard(node, this.text);
    const consequence = node.childForFieldName('consequence');
    // `if lock.acquire(False):` — the body holds the lock.
    const tryLock = cond ? this.tryLockOf(cond) : undefined;
    const bodyCtx = { ...ctx, guarded: ctx.guarded || guard, held: tryLock ? [...ctx.held, tryLock] : ctx.held };
    if (consequence) this.visit(consequence, bodyCtx);
    const a2 = fn.accesses.length;
    if (cond && a1 > a0) {
      const f: IfFact = {
        condRange: this.range(cond), stmt: ctx.stmt, held: ctx.held,
        condReads: fn.accesses.slice(a0, a1).filter((a) => a.kind === 'read'),
        bodyWrites: fn.accesses.slice(a1, a2).filter((a) => a.kind !== 'read'),
      };
      if (f.condReads.length && f.bodyWrites.length) fn.ifs.push(f);
    }
    for (const c of node.namedChildren) {
      if (c.id === cond?.id || c.id === consequence?.id) continue;
      this.visit(c, ctx);
    }
  }

  private tryLockOf(cond: Node): string | undefined {
    if (cond.type !== 'call') return undefined;
    const f = cond.childForFieldName('function');
    if (f?.type !== 'attribute' || this.src(f.childForFieldName('attribute')!) !== 'acquire') return undefined;
    return this.src(f.childForFieldName('object')!);
  }

  // ---- writes and reads -------------------------------------------------------------------------

  private assignment(node: Node, ctx: Ctx): void {
    const right = node.childForFieldName('right');
    if (right) this.visit(right, ctx);
    const type = node.childForFieldName('type');
    if (type) this.visit(type, ctx);
    const left = node.childForFieldName('left');
    if (!left) return;
    if (ctx.classBody) {
      // Class attributes: only remember what they hold (`_lock = threading.Lock()` at class level).
      if (left.type === 'identifier' && right?.type === 'call') this.bindCall(this.src(left), true, right, ctx, left);
      return;
    }
    this.target(left, ctx, false);
    if (!right) return;
    const value = right.type === 'call' || right.type === 'list' || right.type === 'dictionary' || right.type === 'set'
      || right.type === 'list_comprehension' || right.type === 'dictionary_comprehension' ? right : null;
    if (value && left.type === 'identifier') this.bindCall(this.src(left), false, value, ctx, left);
    if (value && left.type === 'attribute') {
      const obj = left.childForFieldName('object');
      const attr = left.childForFieldName('attribute');
      if (obj && attr && this.src(obj) === this.selfName(ctx)) this.bindCall(this.src(attr), true, value, ctx, left);
    }
  }

  private bindCall(name: string, selfAttr: boolean, value: Node, ctx: Ctx, at: Node): void {
    const b: Binding = { name, selfAttr, ctor: '', args: [], keywords: {}, range: this.range(at) };
    if (value.type === 'call') {
      const f = value.childForFieldName('function');
      b.ctor = f ? this.src(f) : '';
      for (const a of value.childForFieldName('arguments')?.namedChildren ?? []) {
        if (a.type === 'keyword_argument') {
          const k = a.childForFieldName('name');
          const v = a.childForFieldName('value');
          if (k && v) b.keywords[this.src(k)] = this.src(v);
        } else b.args.push(this.src(a));
      }
    } else if (value.type === 'list_comprehension') {
      const body = value.childForFieldName('body');
      const f = body?.type === 'call' ? body.childForFieldName('function') : null;
      b.ctor = f ? `[${this.src(f)}]` : '[]';
    } else if (value.type === 'list') {
      const first = value.namedChild(0);
      const f = first?.type === 'call' ? first.childForFieldName('function') : null;
      b.ctor = f ? `[${this.src(f)}]` : '[]';
    } else b.ctor = value.type === 'dictionary' || value.type === 'dictionary_comprehension' ? '{}' : value.type === 'set' ? 'set()' : '[]';
    ctx.fn.bindings.push(b);
  }

  /** The name `self` has in this method (its first parameter). */
  private selfName(ctx: Ctx): string | undefined {
    return ctx.fn.cls && ctx.fn.params.length ? ctx.fn.params[0] : undefined;
  }

  /** Record writes for an assignment/del target. */
  private target(node: Node, ctx: Ctx, aug: boolean, del = false): void {
    const fn = ctx.fn;
    switch (node.type) {
      case 'identifier': {
        const name = this.src(node);
        if (!del) fn.locals.add(name);
        this.access(del ? 'assign' : aug ? 'aug' : 'assign', name, undefined, node, ctx, aug);
        return;
      }
      case 'pattern_list': case 'tuple_pattern': case 'list_pattern': case 'tuple': case 'list': case 'parenthesized_expression':
        for (const c of node.namedChildren) this.target(c, ctx, aug, del);
        return;
      case 'list_splat_pattern': case 'list_splat':
        for (const c of node.namedChildren) this.target(c, ctx, aug, del);
        return;
      case 'subscript': {
        const value = node.childForFieldName('value');
        for (const c of node.namedChildren) if (c.id !== value?.id) this.visit(c, ctx);
        if (value) {
          const root = this.rootOf(value);
          if (root) {
            this.access('item', root.name, root.attr, node, ctx, aug);
            if (aug) this.access('read', root.name, root.attr, node, ctx, false);
          }
          this.visit(value, ctx);
        }
        return;
      }
      case 'attribute': {
        const obj = node.childForFieldName('object');
        const attr = node.childForFieldName('attribute');
        if (obj) {
          const root = this.rootOf(node);
          if (root) {
            this.access('attr', root.name, root.attr ?? (attr ? this.src(attr) : undefined), node, ctx, aug);
            if (aug) this.access('read', root.name, root.attr, node, ctx, false);
          }
          if (obj.type !== 'identifier') this.visit(obj, ctx);
        }
        return;
      }
      default:
        this.visit(node, ctx);
    }
  }

  /** Root name and first attribute of `a.b.c[...]` chains: `self.items[k]` → self, items. */
  private rootOf(node: Node): { name: string; attr?: string } | undefined {
    let cur: Node | null = node;
    let firstAttr: string | undefined;
    while (cur) {
      if (cur.type === 'identifier') return { name: this.src(cur), attr: firstAttr };
      if (cur.type === 'attribute') {
        const a = cur.childForFieldName('attribute');
        firstAttr = a ? this.src(a) : firstAttr;
        cur = cur.childForFieldName('object');
      } else if (cur.type === 'subscript') {
        cur = cur.childForFieldName('value');
      } else return undefined;
    }
    return undefined;
  }

  private access(kind: AccessKind, name: string, attr: string | undefined, node: Node, ctx: Ctx, aug: boolean): void {
    ctx.fn.accesses.push({ kind, name, attr, range: this.range(node), stmt: ctx.stmt, held: ctx.held, aug: aug || undefined });
  }

  private read(node: Node, ctx: Ctx): void {
    this.access('read', this.src(node), undefined, node, ctx, false);
  }

  private attributeRead(node: Node, ctx: Ctx): void {
    const root = this.rootOf(node);
    if (root) {
      this.access('read', root.name, root.attr, node, ctx, false);
      // Visit subscripts/calls inside the chain (e.g. `a[i].b`), but not the root identifier again.
      let cur: Node | null = node.childForFieldName('object');
      while (cur && cur.type === 'attribute') cur = cur.childForFieldName('object');
      if (cur && cur.type !== 'identifier') this.visit(cur, ctx);
      return;
    }
    const obj = node.childForFieldName('object');
    if (obj) this.visit(obj, ctx);
  }

  // ---- calls ------------------------------------------------------------------------------------

  private call(node: Node, ctx: Ctx): void {
    const f = node.childForFieldName('function');
    const argsNode = node.childForFieldName('arguments');
    if (!f) { this.visitChildren(node, ctx); return; }
    const callee = this.src(f);
    let receiver: string | undefined;
    let method = callee;
    let nameRange = this.range(f);
    if (f.type === 'attribute') {
      const obj = f.childForFieldName('object');
      const attr = f.childForFieldName('attribute');
      receiver = obj ? this.src(obj) : undefined;
      method = attr ? this.src(attr) : callee;
      if (attr) nameRange = this.range(attr);
      if (obj && attr && MUTATING_METHODS.has(method)) {
        const root = this.rootOf(obj);
        if (root) this.access('mutcall', root.name, root.attr, obj, ctx, false);
      }
    }
    const args: Arg[] = [];
    const argCtx = { ...ctx, awaited: false };
    this.visit(f, argCtx);
    if (argsNode) {
      for (const a of argsNode.namedChildren) {
        if (a.type === 'comment') continue;
        let keyword: string | undefined;
        let v: Node | null = a;
        if (a.type === 'keyword_argument') { keyword = this.src(a.childForFieldName('name')!); v = a.childForFieldName('value'); }
        if (!v) continue;
        const before = ctx.fn.children.length;
        this.visit(v, argCtx);
        args.push(this.arg(v, keyword, ctx.fn.children.length > before ? ctx.fn.children[before] : undefined));
      }
    }
    ctx.fn.calls.push({
      callee, receiver, method, range: this.range(node), nameRange, args, held: ctx.held, inLoop: ctx.inLoop,
      awaited: ctx.awaited, stmt: ctx.stmt, guarded: ctx.guarded,
    });
  }

  private arg(v: Node, keyword: string | undefined, lambda: Fn | undefined): Arg {
    const a: Arg = { keyword, kind: 'other', text: this.src(v), range: this.range(v) };
    switch (v.type) {
      case 'identifier': a.kind = 'name'; break;
      case 'attribute': a.kind = 'attr'; break;
      case 'lambda': a.kind = 'lambda'; a.lambda = lambda; break;
      case 'call': {
        a.kind = 'call';
        const f = v.childForFieldName('function');
        a.callee = f ? this.src(f) : undefined;
        a.elements = (v.childForFieldName('arguments')?.namedChildren ?? []).map((c) => this.src(c));
        break;
      }
      case 'tuple': case 'list':
        a.kind = 'tuple';
        a.elements = v.namedChildren.map((c) => this.src(c));
        break;
      case 'parenthesized_expression': {
        const inner = v.namedChild(0);
        if (inner && v.namedChildren.length === 1) a.parenthesized = inner.type;
        break;
      }
    }
    return a;
  }
}

function isDefinition(node: Node): boolean {
  return ['function_definition', 'class_definition', 'decorated_definition', 'import_statement',
    'import_from_statement', 'future_import_statement', 'comment'].includes(node.type)
    || (node.type === 'expression_statement' && node.namedChild(0)?.type === 'string');
}

/** `if __name__ == "__main__":` (either operand order, either quote). */
export function isMainGuard(node: Node, text: string): boolean {
  const cond = node.childForFieldName('condition');
  if (!cond) return false;
  const t = text.slice(cond.startIndex, cond.endIndex).replace(/\s+/g, '');
  return /^(__name__==['"]__main__['"]|['"]__main__['"]==__name__)$/.test(t);
}
