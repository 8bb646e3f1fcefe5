/**
 * The language server's contract with its clients: rule codes, finding shape (shared by the LSP
 * server and `interleave lint`), and custom messages. Types only; the server and the extension create
 * the vscode-languageserver `NotificationType`/`RequestType` objects from these method names.
 */

export const RULES = {
  IL001: 'unsynchronised shared write',
  IL002: 'check-then-act on shared state',
  IL003: 'lock not released on every path',
  IL004: 'lock-order inversion',
  IL005: 'global written in a process target',
  IL006: 'process or pool created without a __main__ guard',
  IL007: 'Pool.join() before close() or terminate()',
  IL008: 'process started but never joined',
  IL009: 'non-atomic update of shared memory',
  IL010: 'blocking call inside async def',
  IL011: 'process joined before the queue it puts on is read',
  IL012: 'os.fork() while a thread started here may run',
  IL013: 'Popen.wait() before its output pipe is read',
  IL014: 'thread or process target called instead of passed',
  IL015: 'args is not a tuple',
} as const;
export type RuleCode = keyof typeof RULES;
export const RULE_CODES = Object.keys(RULES) as RuleCode[];

export type Severity = 'error' | 'warning' | 'information' | 'hint';
export type SeveritySetting = Severity | 'off';

/** Zero-based line, UTF-16 column (as LSP). */
export interface Position { line: number; character: number }
export interface Range { start: Position; end: Position }

export interface RelatedLocation {
  /** File path or URI; empty means the same file. */
  file: string;
  range: Range;
  message: string;
}

export interface Finding {
  code: RuleCode;
  message: string;
  range: Range;
  severity: Severity;
  related: RelatedLocation[];
  /** Names involved (shared variable, lock), used to reveal matching lanes in the timeline. */
  names: string[];
}

/** The suppression comment a quick fix inserts: `# interleave: ignore[IL001]`. */
export const SUPPRESS_PATTERN = /#\s*interleave:\s*ignore(?:\[([A-Z0-9, ]+)\])?/;

/** Settings the client sends in `initializationOptions` and `workspace/didChangeConfiguration`. */
export interface LintSettings {
  enable: boolean;
  rules: Partial<Record<RuleCode, SeveritySetting>>;
}

/** Client command a "Show in timeline" code action runs: args `[RevealQuery]` (see webview.ts). */
export const SHOW_IN_TIMELINE_COMMAND = 'interleave.showInTimeline';

/** Custom notification, server → client: analysis timings, for the output channel and benchmarks. */
export namespace AnalysisStatsNotification {
  export const method = 'interleave/analysisStats';
  export interface Params { uri: string; parseMs: number; analyseMs: number; findings: number }
}
