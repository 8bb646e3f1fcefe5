/** Positions in analysed text (shared by the document's incremental edits and the rules). */
import type { Position } from '../../protocol/lsp';

/** UTF-16 offset of an LSP position (clamped to the text, as LSP asks). */
export function offsetAt(text: string, pos: Position): number {
  let offset = 0;
  for (let line = 0; line < pos.line; line++) {
    const nl = text.indexOf('\n', offset);
    if (nl < 0) return text.length;
    offset = nl + 1;
  }
  const lineEnd = text.indexOf('\n', offset);
  const end = lineEnd < 0 ? text.length : lineEnd;
  return Math.min(offset + Math.max(0, pos.character), end);
}
