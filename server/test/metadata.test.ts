/**
 * docs/metadata.md must describe every table and column of the live schema, and nothing else.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { testRelay } from './helpers';

const DOC = fileURLToPath(new URL('../../docs/metadata.md', import.meta.url));

/** `### \`table\`` headings, each with the backticked names in the first cell of its rows. */
export function documentedColumns(markdown: string): Map<string, Set<string>> {
  const tables = new Map<string, Set<string>>();
  let current: Set<string> | undefined;
  for (const line of markdown.split('\n')) {
    const heading = /^###\s+`([a-z0-9_]+)`\s*$/.exec(line);
    if (heading) {
      current = new Set();
      tables.set(heading[1]!, current);
      continue;
    }
    if (/^#{1,3}\s/.test(line)) current = undefined;
    const row = /^\|\s*`([a-z0-9_]+)`\s*\|/.exec(line);
    if (row && current) current.add(row[1]!);
  }
  return tables;
}

const t = testRelay();
afterAll(() => t.dispose());

function liveColumns(): Map<string, Set<string>> {
  const tables = t.relay.db
    .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
    .all() as { name: string }[];
  return new Map(
    tables.map(({ name }) => [
      name,
      new Set((t.relay.db.pragma(`table_info(${name})`) as { name: string }[]).map((c) => c.name)),
    ]),
  );
}

describe('docs/metadata.md', () => {
  const doc = documentedColumns(readFileSync(DOC, 'utf8'));
  const live = liveColumns();

  it('parses some tables (guards against a broken parser)', () => {
    expect(doc.size).toBeGreaterThan(5);
    expect(doc.get('accounts')?.has('auth_key_hash')).toBe(true);
  });

  it('documents every table and column of the live schema', () => {
    for (const [table, cols] of live) {
      expect(doc.has(table), `table ${table} missing from docs/metadata.md`).toBe(true);
      for (const c of cols)
        expect(doc.get(table)?.has(c), `${table}.${c} missing from docs/metadata.md`).toBe(true);
    }
  });

  it('documents nothing that does not exist', () => {
    for (const [table, cols] of doc) {
      expect(live.has(table), `docs/metadata.md lists unknown table ${table}`).toBe(true);
      for (const c of cols)
        expect(live.get(table)?.has(c), `docs/metadata.md lists unknown ${table}.${c}`).toBe(true);
    }
  });

  it('the parser notices a missing column', () => {
    const broken = documentedColumns('### `accounts`\n| column |\n|---|\n| `account_id` | x |\n');
    expect(broken.get('accounts')).toEqual(new Set(['account_id']));
    expect([...(live.get('accounts') ?? [])].every((c) => broken.get('accounts')?.has(c))).toBe(
      false,
    );
  });
});
