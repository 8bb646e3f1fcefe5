/**
 * Lint settings from `initializationOptions` and `workspace/didChangeConfiguration`. Clients send
 * different shapes (the `interleave.lint` section itself, `{ lint }`, or the whole `{ interleave: { lint } }`),
 * and anything unknown or malformed falls back to the defaults instead of failing.
 */
import type { LintSettings, RuleCode, SeveritySetting } from '../../protocol/lsp';
import { RULE_CODES } from '../../protocol/lsp';

export const DEFAULT_SETTINGS: LintSettings = { enable: true, rules: {} };

const SEVERITIES: SeveritySetting[] = ['error', 'warning', 'information', 'hint', 'off'];

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Find the lint section in whatever the client sent; undefined if there is none. */
function section(raw: unknown): Record<string, unknown> | undefined {
  if (!isObject(raw)) return undefined;
  if (isObject(raw.interleave)) return section(raw.interleave);
  if (isObject(raw.lint)) return raw.lint;
  if ('enable' in raw || 'rules' in raw) return raw;
  return undefined;
}

export function parseSettings(raw: unknown, base: LintSettings = DEFAULT_SETTINGS): LintSettings {
  const s = section(raw);
  if (!s) return base;
  const rules: Partial<Record<RuleCode, SeveritySetting>> = {};
  if (isObject(s.rules)) {
    for (const [code, sev] of Object.entries(s.rules)) {
      const c = code.toUpperCase() as RuleCode;
      if (RULE_CODES.includes(c) && typeof sev === 'string' && SEVERITIES.includes(sev as SeveritySetting)) rules[c] = sev as SeveritySetting;
    }
  }
  return { enable: typeof s.enable === 'boolean' ? s.enable : base.enable, rules };
}
