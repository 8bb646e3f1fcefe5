/**
 * What activate() returns: a small read-only view of the extension's state, used by the integration
 * suite (test/e2e) to wait for conditions instead of sleeping. Not a public API for other extensions.
 */
export interface RunSnapshot {
  /** Script path (live runs) or trace file title. */
  title: string;
  file?: string;
  source: 'live' | 'file' | 'report';
  running: boolean;
  stopped: boolean;
  exitCode: number | null;
  signal: string | null;
  /** Events received (live) or read (file). */
  events: number;
  kinds: Record<string, number>;
  processes: number;
  threads: number;
  /** Pids seen in this run (connections, events, the supervisor). */
  pids: number[];
  supervisorPid?: number;
  /** Events forwarded to the panel, by kind (kept ones plus aggregates). */
  postedKinds: Record<string, number>;
  postedEvents: number;
  warnings: string[];
  aggregating: boolean;
  deadlockNotified: boolean;
}

export interface PanelSnapshot {
  open: boolean;
  visible: boolean;
  ready: boolean;
  /** The editor column the panel sits in (undefined when closed). */
  column?: number;
  /** Counters of what was actually posted to the webview. */
  posted: { messages: number; events: number; resets: number; readies: number; reveals: number };
}

export interface InterleaveTestApi {
  lastRun(): RunSnapshot | undefined;
  panel(): PanelSnapshot;
  /** uri → findings count, for documents the language server reported as analysed. */
  analysed(): Record<string, number>;
  languageServerRunning(): boolean;
  /** How many times a trace was written to storage for window reloads. */
  persisted(): number;
  /** Notifications shown so far ("error: ...", "warning: ...", "info: ..."), most recent last. */
  notifications(): string[];
}
