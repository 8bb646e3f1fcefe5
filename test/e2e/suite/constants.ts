/** Shared by the in-host suite and the launchers (no vscode import here). */

/** Prefix of every line the suite prints for the launchers. */
export const TAG = '[interleave-e2e]';

/** File in the workspace folder telling the suite where the launcher answers bridge requests. */
export const BRIDGE_FILE = '.interleave-e2e.json';
