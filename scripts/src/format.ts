/**
 * Small formatters for human output: aligned tables, byte sizes, dates. JSON output never goes
 * through them.
 */

/** Aligns rows of cells into columns separated by two spaces; the last column is not padded. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return all
    .map((r) =>
      r
        .map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** `1536` → `1.5 KiB`; exact bytes below 1 KiB. */
export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[u]}`;
}

/** Milliseconds since the epoch → `2024-06-01 14:03` in UTC (unambiguous in logs and tests). */
export function when(ms: number): string {
  return new Date(ms).toISOString().slice(0, 16).replace('T', ' ');
}

/** True for C0 and C1 control characters (and DEL). */
export function isControl(ch: string): boolean {
  const c = ch.codePointAt(0) ?? 0;
  return c < 0x20 || (c >= 0x7f && c <= 0x9f);
}

/**
 * Replaces control characters other than newline and tab in decrypted text before printing:
 * a terminal escape in a title written by a co-member could otherwise rewrite the screen.
 */
export function safe(text: string): string {
  return Array.from(text, (ch) =>
    isControl(ch) && ch !== '\n' && ch !== '\t' ? '\uFFFD' : ch,
  ).join('');
}
