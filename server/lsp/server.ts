/**
 * The LSP glue: documents (incremental sync → tree.edit + reparse), debounced analysis, diagnostics,
 * code actions, hover, settings and the interleave/analysisStats notification. All analysis lives in
 * ../analysis; this file only moves data between it and the connection.
 */
import {
  CodeActionKind, Connection, Hover, InitializeResult, MarkupKind, NotificationType, TextDocumentSyncKind,
} from 'vscode-languageserver/node';
import { AnalysisStatsNotification, LintSettings } from '../../protocol/lsp';
import { PythonDocument, TextChange } from '../analysis/document';
import type { Issue } from '../analysis/rules';
import { codeActions, toDiagnostic } from './convert';
import { EntryIndex } from '../analysis/workspace';
import { indexWorkspace, refreshClosedTargets } from './indexer';
import { DEFAULT_SETTINGS, parseSettings } from './settings';
import { fileURLToPath } from 'url';

/** Sent by the server after each analysis (see protocol/lsp.ts). */
const analysisStatsType = new NotificationType<AnalysisStatsNotification.Params>(AnalysisStatsNotification.method);

/**
 * Analyses of one document start at most once per this many milliseconds (more for documents whose
 * analysis takes longer, see schedule()): a typing burst costs one analysis per window, not one per key,
 * while an edit after a quiet spell is analysed at once instead of waiting out a debounce.
 */
export const DEBOUNCE_MS = 20;

interface DocState {
  uri: string;
  /** Edits are applied in order on this chain; it resolves to the document with every edit so far. */
  ready: Promise<PythonDocument>;
  version: number;
  analysedVersion: number;
  timer?: ReturnType<typeof setTimeout>;
  /** performance.now() when the last analysis started, and what it cost (throttle window, schedule()). */
  lastStart: number;
  lastCostMs: number;
  issues: Issue[];
  closed: boolean;
}

export function startServer(connection: Connection): void {
  const docs = new Map<string, DocState>();
  let settings: LintSettings = DEFAULT_SETTINGS;
  let canPullConfiguration = false;
  let roots: string[] = [];
  const index = new EntryIndex();

  /** The file path of a document (file: URIs only take part in the workspace index). */
  const fsPath = (uri: string): string | undefined => {
    if (!uri.startsWith('file:')) return undefined;
    try { return fileURLToPath(uri); } catch { return undefined; }
  };

  const log = (msg: string) => connection.console.error(`[interleave] ${msg}`);

  connection.onInitialize((params): InitializeResult => {
    settings = parseSettings(params.initializationOptions, DEFAULT_SETTINGS);
    canPullConfiguration = !!params.capabilities.workspace?.configuration;
    const folders = params.workspaceFolders?.map((f) => f.uri) ?? (params.rootUri ? [params.rootUri] : []);
    roots = folders.map(fsPath).filter((p): p is string => !!p);
    index.setRoots(roots);
    return {
      capabilities: {
        textDocumentSync: { openClose: true, change: TextDocumentSyncKind.Incremental },
        codeActionProvider: { codeActionKinds: [CodeActionKind.QuickFix] },
        hoverProvider: true,
      },
      serverInfo: { name: 'interleave', version: '0.1.0' },
    };
  });

  const analyse = async (state: DocState): Promise<void> => {
    try {
      // Edits that arrive while waiting are chained after the promise awaited: wait for the chain to
      // settle, so the text analysed is the one `version` names.
      let ready: Promise<PythonDocument>;
      let doc: PythonDocument;
      do { ready = state.ready; doc = await ready; } while (ready !== state.ready);
      if (state.closed) return;
      const version = state.version;
      state.lastStart = performance.now();
      if (!settings.enable) {
        state.issues = [];
        state.analysedVersion = version;
        await connection.sendDiagnostics({ uri: state.uri, version, diagnostics: [] });
        return;
      }
      const file = fsPath(state.uri);
      const out = doc.analyse({ rules: settings.rules, external: file ? index.entriesFor(file) : [] });
      state.issues = out.issues;
      // The first analysis walks every statement; later ones reuse most facts, so only they say what
      // an analysis while typing costs (counting the first would hold the first edit back for long).
      if (state.analysedVersion >= 0) state.lastCostMs = performance.now() - state.lastStart;
      if (file) reanalyseTargets(index.update(file, out.outgoing), state.uri);
      state.analysedVersion = version;
      await connection.sendDiagnostics({ uri: state.uri, version, diagnostics: out.issues.map((i) => toDiagnostic(i, state.uri)) });
      await connection.sendNotification(analysisStatsType, {
        uri: state.uri, parseMs: round(out.parseMs), analyseMs: round(out.analyseMs), findings: out.issues.length,
      });
    } catch (err) {
      log(`analysis of ${state.uri} failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
    }
  };

  const isOpen = (file: string) => [...docs.keys()].some((u) => fsPath(u) === file);

  /**
   * Documents whose functions another file now starts or calls from threads (or stopped doing so): open
   * ones are analysed again; closed ones are re-read in the background so calls they make are followed on.
   */
  const reanalyseTargets = (targets: Set<string>, except?: string) => {
    if (!targets.size) return;
    for (const other of docs.values()) {
      const p = fsPath(other.uri);
      if (other.uri !== except && p && targets.has(p)) schedule(other);
    }
    const closed = new Set([...targets].filter((t) => !isOpen(t)));
    if (!closed.size) return;
    refreshClosedTargets(index, closed, isOpen, log).then((more) => {
      for (const other of docs.values()) {
        const p = fsPath(other.uri);
        if (other.uri !== except && p && more.has(p) && !targets.has(p)) schedule(other);
      }
    }, (err) => log(`following imports failed: ${err instanceof Error ? err.message : String(err)}`));
  };

  /**
   * Throttle, leading edge: analyse as soon as the window since the last analysis started is over (at
   * once after a quiet spell; a macrotask later, so edits already received are applied first). A pending
   * analysis covers later edits too, since it reads the latest text. The window is at least DEBOUNCE_MS
   * and twice the last analysis' cost, so analysing a big file while typing takes at most half the CPU.
   */
  const schedule = (state: DocState) => {
    if (state.timer) return;
    const window = Math.max(DEBOUNCE_MS, 2 * state.lastCostMs);
    const wait = Math.max(0, state.lastStart + window - performance.now());
    state.timer = setTimeout(() => { state.timer = undefined; void analyse(state); }, wait);
  };

  /** Analyse now if edits arrived since the last analysis (code actions need ranges of the current text). */
  const fresh = async (state: DocState): Promise<void> => {
    await state.ready;
    if (state.analysedVersion !== state.version) {
      if (state.timer) { clearTimeout(state.timer); state.timer = undefined; }
      await analyse(state);
    }
  };

  connection.onInitialized(() => {
    if (!roots.length) return;
    const t0 = Date.now();
    indexWorkspace(index, roots, isOpen, log).then((changed) => {
      connection.console.log(`[interleave] workspace indexed in ${Date.now() - t0} ms`);
      reanalyseTargets(changed);
    }, (err) => log(`workspace indexing failed: ${err instanceof Error ? err.message : String(err)}`));
  });

  connection.onDidOpenTextDocument(({ textDocument }) => {
    const old = docs.get(textDocument.uri);
    if (old) close(old);
    const state: DocState = {
      uri: textDocument.uri, version: textDocument.version, analysedVersion: -1, issues: [], closed: false, lastStart: -Infinity, lastCostMs: 0,
      ready: PythonDocument.create(textDocument.text),
    };
    state.ready.catch((err) => log(`cannot parse ${textDocument.uri}: ${err instanceof Error ? err.message : String(err)}`));
    docs.set(textDocument.uri, state);
    void analyse(state);
  });

  connection.onDidChangeTextDocument(({ textDocument, contentChanges }) => {
    const state = docs.get(textDocument.uri);
    if (!state) return;
    state.version = textDocument.version;
    const changes: TextChange[] = contentChanges.map((c) => ('range' in c ? { range: c.range, text: c.text } : { text: c.text }));
    state.ready = state.ready.then((doc) => {
      try {
        doc.update(changes);
      } catch (err) {
        // Keep serving the last good tree rather than failing every later request on this document.
        log(`cannot apply an edit to ${state.uri}: ${err instanceof Error ? err.message : String(err)}`);
      }
      return doc;
    });
    schedule(state);
  });

  const close = (state: DocState) => {
    state.closed = true;
    if (state.timer) clearTimeout(state.timer);
    docs.delete(state.uri);
    void state.ready.then((doc) => doc.dispose(), () => undefined);
  };

  connection.onDidCloseTextDocument(({ textDocument }) => {
    const state = docs.get(textDocument.uri);
    if (!state) return;
    close(state);
    void connection.sendDiagnostics({ uri: textDocument.uri, diagnostics: [] });
  });

  connection.onDidChangeConfiguration(async (params) => {
    let next = parseSettings(params.settings, settings);
    if (next === settings && canPullConfiguration) {
      // The client did not push the section: ask for it.
      try {
        next = parseSettings(await connection.workspace.getConfiguration('interleave.lint'), settings);
      } catch (err) {
        log(`cannot read settings: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    settings = next;
    for (const state of docs.values()) void analyse(state);
  });

  connection.onCodeAction(async (params) => {
    const state = docs.get(params.textDocument.uri);
    if (!state) return [];
    await fresh(state);
    const doc = await state.ready;
    return codeActions(doc.source, state.uri, params.context.diagnostics, state.issues);
  });

  connection.onHover(async (params): Promise<Hover | null> => {
    const state = docs.get(params.textDocument.uri);
    if (!state) return null;
    await fresh(state);
    const hover = (await state.ready).hoverAt(params.position);
    return hover ? { contents: { kind: MarkupKind.Markdown, value: hover.markdown }, range: hover.range } : null;
  });

  connection.onShutdown(() => {
    for (const state of [...docs.values()]) close(state);
  });
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
