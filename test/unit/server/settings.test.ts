/** Lint settings arrive in several shapes; malformed parts fall back instead of failing. */
import * as assert from 'assert';
import { DEFAULT_SETTINGS, parseSettings } from '../../../server/lsp/settings';

describe('lint settings', () => {
  it('reads the section itself, { lint }, and the whole { interleave: { lint } }', () => {
    const expected = { enable: false, rules: { IL001: 'error' as const } };
    assert.deepStrictEqual(parseSettings({ enable: false, rules: { IL001: 'error' } }), expected);
    assert.deepStrictEqual(parseSettings({ lint: { enable: false, rules: { IL001: 'error' } } }), expected);
    assert.deepStrictEqual(parseSettings({ interleave: { pythonPath: 'x', lint: { enable: false, rules: { IL001: 'error' } } } }), expected);
  });

  it('drops unknown codes and severities, accepts lower-case codes, keeps the previous enable flag', () => {
    const base = { enable: false, rules: {} };
    assert.deepStrictEqual(parseSettings({ rules: { il003: 'off', IL999: 'error', IL002: 'loud', IL004: 3 } }, base), { enable: false, rules: { IL003: 'off' } });
  });

  it('keeps the current settings when nothing usable was sent', () => {
    const current = { enable: true, rules: { IL005: 'hint' as const } };
    assert.strictEqual(parseSettings(undefined, current), current);
    assert.strictEqual(parseSettings({ python: {} }, current), current);
    assert.strictEqual(parseSettings('garbage', DEFAULT_SETTINGS), DEFAULT_SETTINGS);
  });
});
