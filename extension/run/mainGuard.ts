/** Where to put the "Run with Interleave tracing" lens: top-level `if __name__ == "__main__":` lines. */
const MAIN_GUARD = /^if\s+__name__\s*==\s*(['"])__main__\1\s*:/;

/** Zero-based lines holding a top-level main guard (either quote style). */
export function mainGuardLines(text: string): number[] {
  const out: number[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    if (MAIN_GUARD.test(line)) out.push(i);
  });
  return out;
}
