/**
 * Cheap text tests that decide how much of a file has to be walked. Walking the syntax tree from JS
 * costs about as much as parsing, so code that cannot take part in any rule is not walked:
 *  - a file that never mentions a way to start concurrent code (threads, timers, pools, executors,
 *    processes, tasks, greenlets) cannot produce IL001/IL002/IL005…IL009, so only its statements that
 *    mention locks (IL003, IL004), `async` (IL010) or `PIPE` (IL013) are walked;
 *  - a file that mentions none of these cannot produce any finding at all.
 * Each pattern is a superset of what the rules look for (see model.ts entryOf and rules.ts).
 */
export const ENTRY_TOKENS = /Thread|Timer|start_new|Process|submit|[Pp]ool|[Ee]xecutor|to_thread|create_task|ensure_future|gather|spawn/;

export const LOCAL_TOKENS = /acquire|async|PIPE|with[\s(\\]*[^\n:]*(lock|mutex|cond|sem|cv)/i;

export function mayHaveFindings(text: string): boolean {
  return ENTRY_TOKENS.test(text) || LOCAL_TOKENS.test(text);
}
