/**
 * Colours. Read from VS Code's theme variables (the webview gets `--vscode-*` on <html>), with
 * fallbacks for the standalone report that follow the browser's light/dark preference. Categorical
 * colours use the Okabe–Ito palette, which stays distinguishable with the common colour-vision
 * deficiencies; lock-wait is told apart from lock-hold by hatching, not by colour alone.
 */
import type { ArrowKind, IntervalState } from '../model';

/** Okabe–Ito, without black (the text colour in light themes). */
export const OKABE_ITO = ['#E69F00', '#56B4E9', '#009E73', '#F0E442', '#0072B2', '#D55E00', '#CC79A7', '#999999'];
/** Per-lock colours: Okabe–Ito minus the greens/greys used for running/blocked. */
export const LOCK_PALETTE = ['#E69F00', '#56B4E9', '#CC79A7', '#0072B2', '#D55E00', '#F0E442'];

export interface Theme {
  background: string;
  foreground: string;
  muted: string;
  headerBg: string;
  laneBgAlt: string;
  border: string;
  selection: string;
  highlight: string;
  error: string;
  /** High-contrast themes: outline every slice so edges never rely on fill contrast alone. */
  highContrast: boolean;
  font: string;
  state: Record<IntervalState, string>;
  lifetime: string;
  /** Blocks of many sub-pixel slices of different kinds. */
  dense: string;
  arrow: Record<ArrowKind, string>;
}

function cssVar(style: CSSStyleDeclaration, name: string, fallback: string): string {
  const v = style.getPropertyValue(name).trim();
  return v || fallback;
}

export function readTheme(root: HTMLElement = document.documentElement): Theme {
  const s = getComputedStyle(root);
  const body = document.body;
  const highContrast = body.classList.contains('vscode-high-contrast') || body.classList.contains('vscode-high-contrast-light');
  const dark = body.classList.contains('vscode-dark') || body.classList.contains('vscode-high-contrast') ||
    (!body.classList.contains('vscode-light') && !body.classList.contains('vscode-high-contrast-light') &&
      typeof matchMedia === 'function' && matchMedia('(prefers-color-scheme: dark)').matches);
  const fg = cssVar(s, '--vscode-editor-foreground', dark ? '#d4d4d4' : '#1f1f1f');
  const family = cssVar(s, '--vscode-font-family', 'system-ui, -apple-system, "Segoe UI", sans-serif');
  return {
    background: cssVar(s, '--vscode-editor-background', dark ? '#1e1e1e' : '#ffffff'),
    foreground: fg,
    muted: cssVar(s, '--vscode-descriptionForeground', dark ? '#a0a0a0' : '#5f5f5f'),
    headerBg: cssVar(s, '--vscode-sideBarSectionHeader-background', dark ? '#2b2b2b' : '#ececec'),
    laneBgAlt: dark ? 'rgba(255,255,255,0.035)' : 'rgba(0,0,0,0.03)',
    border: cssVar(s, '--vscode-contrastBorder', cssVar(s, '--vscode-panel-border', dark ? '#3c3c3c' : '#d0d0d0')),
    selection: cssVar(s, '--vscode-focusBorder', '#0072B2'),
    highlight: cssVar(s, '--vscode-editor-findMatchHighlightBackground', 'rgba(240,228,66,0.55)'),
    error: cssVar(s, '--vscode-errorForeground', '#D55E00'),
    highContrast,
    font: `12px ${family}`,
    state: {
      running: dark ? '#2f8f6a' : '#7cc7a6',
      wait: '#E69F00',
      hold: '#E69F00',
      blocked: dark ? '#6b6b6b' : '#b4b4b4',
      sleep: dark ? '#3d5f7a' : '#a9c8e0',
      slow: '#D55E00',
      generic: '#56B4E9',
    },
    lifetime: dark ? 'rgba(0,158,115,0.22)' : 'rgba(0,158,115,0.16)',
    dense: dark ? '#8a8a8a' : '#7a7a7a',
    arrow: {
      message: '#0072B2',
      task: '#CC79A7',
      spawn: dark ? '#bbbbbb' : '#555555',
      join: dark ? '#bbbbbb' : '#555555',
      wake: '#009E73',
      flow: '#56B4E9',
      deadlock: '#D55E00',
    },
  };
}

export function lockColour(index: number): string {
  return LOCK_PALETTE[((index % LOCK_PALETTE.length) + LOCK_PALETTE.length) % LOCK_PALETTE.length];
}

/** Stable colour for a generic slice name (other tools' traces). */
export function nameColour(name: string): string {
  let h = 2166136261;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 16777619);
  return OKABE_ITO[(h >>> 0) % (OKABE_ITO.length - 1)];
}
