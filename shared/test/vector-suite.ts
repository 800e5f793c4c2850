/** The standard vitest suite for one of the folder, record, grant and invite vector files. */
import { describe, expect, it } from 'vitest';
import { checkEntry, loadVectors } from './folder-vectors';

/**
 * The standard suite for one vector file: it must hold entries to accept and entries to refuse,
 * and every entry must behave as it says.
 */
export function describeVectorFile(name: string): void {
  describe(`vectors/${name}`, () => {
    const doc = loadVectors(name);

    it('holds objects to accept and objects to refuse', () => {
      expect(doc.version).toBe(1);
      expect(doc.valid.length).toBeGreaterThan(0);
      expect(doc.invalid.length).toBeGreaterThan(0);
      expect(doc.invalid.every((e) => typeof e.expected_error === 'string')).toBe(true);
    });

    it.each(doc.valid.map((e) => [e.description, e] as const))('accepts: %s', async (_, e) => {
      expect(await checkEntry(e)).toBeUndefined();
    });

    it.each(doc.invalid.map((e) => [e.description, e] as const))('refuses: %s', async (_, e) => {
      expect(await checkEntry(e)).toBeUndefined();
    });
  });
}
