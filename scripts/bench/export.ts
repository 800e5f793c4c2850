/**
 * Export and re-import (issue 5 §1): 1,000 records with 100 MiB of files (100 records and
 * 10 MiB with --quick), spread over folders of 100 records: notes, structured entries and 1 MiB
 * documents. The vault is exported to an age recipient with `exportVault`, then re-imported
 * into a fresh account with `importArchive`; each runs in its own child process (the relay
 * stays in this one), which reports its wall time, its peak RSS (VmHWM: login included) and
 * how much its RSS grew during the operation.
 *
 * Baseline, measured in the same run: the same plaintext bytes (documents and record JSON)
 * hashed (SHA-256) and sealed with AES-256-GCM in 64 KiB chunks through WebCrypto, written to
 * a file and fsync'd — what writing an encrypted copy costs without the relay, the
 * verification of every signature and key, FHIR mapping and tar.
 *
 * `tsx scripts/bench/export.ts --child export|import` is the child (used by `run`).
 */
import { spawn } from 'node:child_process';
import { createHash, webcrypto } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { startServer } from '@carnet/server';
import { CarnetClient, type RecordInput } from '@carnet/shared/client';
import { exportVault, importArchive } from '@carnet/shared/client/node';
import { generateX25519Identity, identityToRecipient } from 'age-encryption';
import { nowMs, type Reporter } from './report';
import type { BenchOptions } from './run';

const BENCH = 'export';
const THIS_FILE = fileURLToPath(import.meta.url);
const MiB = 1024 * 1024;
const PASSWORD = 'bench export password';
const PER_FOLDER = 100;
const DOC_SIZE = MiB;

/** Deterministic document content (never all zeros, so that nothing compresses it away). */
function docBytes(seed: number, size: number): Uint8Array {
  const out = new Uint8Array(size);
  let x = seed * 2654435761 || 1;
  for (let i = 0; i < size; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
    out[i + 1] = (x >>> 8) & 0xff;
    out[i + 2] = (x >>> 16) & 0xff;
    out[i + 3] = (x >>> 24) & 0xff;
  }
  return out;
}

/** Record `i` of a folder: every tenth a 1 MiB document, else notes and structured entries. */
function recordInput(folder: number, i: number): RecordInput {
  if (i % 10 === 9) {
    const body = docBytes(folder * 1000 + i, DOC_SIZE);
    return {
      kind: 'document',
      fileName: `scan-${folder}-${i}.bin`,
      mimeType: 'application/octet-stream',
      size: body.length,
      body: new ReadableStream({
        start(c) {
          c.enqueue(body);
          c.close();
        },
      }),
    };
  }
  if (i % 3 === 0)
    return { kind: 'note', title: `Consultation ${i}`, text: `Visit ${i}: `.padEnd(400, 'x') };
  const kinds = ['observation', 'condition', 'allergy', 'medication'] as const;
  return {
    kind: kinds[i % kinds.length]!,
    title: `Entry ${i}`,
    structured: { code: `C${i}`, value: i * 1.5, unit: 'mg', notes: ['a', 'b'], at: '2024-01-01' },
  };
}

/** The plaintext bytes of a record, for the baseline. */
function plaintextOf(folder: number, i: number): Uint8Array {
  if (i % 10 === 9) return docBytes(folder * 1000 + i, DOC_SIZE);
  const { body: _b, ...rest } = recordInput(folder, i) as RecordInput & { body?: unknown };
  return new TextEncoder().encode(JSON.stringify(rest));
}

/** Baseline: SHA-256 + AES-256-GCM (WebCrypto, 64 KiB chunks) + write + fsync. */
async function baseline(path: string, folders: number, perFolder: number): Promise<number> {
  const key = await webcrypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, [
    'encrypt',
  ]);
  const t0 = nowMs();
  const fh = await open(path, 'w');
  let n = 0;
  for (let f = 0; f < folders; f++) {
    for (let i = 0; i < perFolder; i++) {
      const bytes = plaintextOf(f, i);
      const hash = createHash('sha256');
      for (let off = 0; off < bytes.length || off === 0; off += 64 * 1024) {
        const chunk = bytes.subarray(off, off + 64 * 1024);
        hash.update(chunk);
        const iv = new Uint8Array(12);
        new DataView(iv.buffer).setUint32(8, n++);
        const sealed = await webcrypto.subtle.encrypt({ name: 'AES-GCM', iv }, key, chunk);
        await fh.write(new Uint8Array(sealed));
        if (bytes.length === 0) break;
      }
      hash.digest();
    }
  }
  await fh.sync();
  await fh.close();
  return nowMs() - t0;
}

/** Runs this file as a child doing one operation; returns what it printed. */
function child(
  op: 'export' | 'import',
  env: Record<string, string>,
): Promise<{ ms: number; peakMiB: number; growthMiB: number; detail: Record<string, unknown> }> {
  const c = spawn(process.execPath, ['--import', 'tsx', THIS_FILE, '--child', op], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  c.stdout.on('data', (b: Buffer) => (out += b.toString()));
  return new Promise((resolve, reject) => {
    c.on('error', reject);
    c.on('close', (code) => {
      if (code !== 0) reject(new Error(`export bench child ${op} exited ${code}`));
      else resolve(JSON.parse(out.trim().split('\n').at(-1)!) as never);
    });
  });
}

/** Entry point of `npm run bench -- export`. */
export async function run(r: Reporter, o: BenchOptions): Promise<void> {
  const folders = o.quick ? 1 : 10;
  const total = folders * PER_FOLDER;
  const work = mkdtempSync(join(tmpdir(), 'carnet-bench-export-'));
  const server = await startServer({ dataDir: join(work, 'relay'), port: 0, log: () => {} });
  try {
    const owner = new CarnetClient({ relayUrl: server.url });
    await owner.signUp({ userName: 'bench.export', password: PASSWORD, role: 'practitioner' });
    const t0 = nowMs();
    for (let f = 0; f < folders; f++) {
      const folder = await owner.createFolder({ name: `Patient ${f}` });
      for (let i = 0; i < PER_FOLDER; i++)
        await owner.addRecord(folder.folderId, recordInput(f, i));
    }
    const seedMs = nowMs() - t0;
    const docs = folders * (PER_FOLDER / 10);
    const note = `${total} records, ${folders} folder(s), ${docs} × 1 MiB files`;
    r.add({
      bench: BENCH,
      metric: 'seed through the SDK (addRecord)',
      value: seedMs / 1000,
      unit: 's',
      note,
    });

    const baseMs = await baseline(join(work, 'baseline.bin'), folders, PER_FOLDER);
    r.add({
      bench: BENCH,
      metric: 'baseline: SHA-256 + AES-GCM + write',
      value: baseMs / 1000,
      unit: 's',
      note,
    });

    const identity = await generateX25519Identity();
    const recipient = await identityToRecipient(identity);
    const archive = join(work, 'vault.tar.age');
    const common = { RELAY: server.url, PASSWORD, ARCHIVE: archive };
    const ex = await child('export', {
      ...common,
      USER_NAME: 'bench.export',
      RECIPIENT: recipient,
    });
    r.add({
      bench: BENCH,
      metric: 'export (age recipient)',
      value: ex.ms / 1000,
      unit: 's',
      ratio_to: 'baseline',
      ratio: ex.ms / baseMs,
      note,
    });
    r.add({
      bench: BENCH,
      metric: 'export peak RSS (process, login included)',
      value: ex.peakMiB,
      unit: 'MiB',
      note: `growth during export ${ex.growthMiB.toFixed(1)} MiB`,
    });
    r.add({
      bench: BENCH,
      metric: 'export throughput',
      value: (docs * DOC_SIZE) / MiB / (ex.ms / 1000),
      unit: 'MiB/s of files',
    });

    const importer = new CarnetClient({ relayUrl: server.url });
    await importer.signUp({ userName: 'bench.import', password: PASSWORD, role: 'practitioner' });
    const im = await child('import', { ...common, USER_NAME: 'bench.import', IDENTITY: identity });
    r.add({
      bench: BENCH,
      metric: 're-import (verify pass + import pass)',
      value: im.ms / 1000,
      unit: 's',
      ratio_to: 'baseline',
      ratio: im.ms / baseMs,
      note,
    });
    r.add({
      bench: BENCH,
      metric: 're-import peak RSS (process, login included)',
      value: im.peakMiB,
      unit: 'MiB',
      note: `growth during import ${im.growthMiB.toFixed(1)} MiB`,
    });
    r.add({
      bench: BENCH,
      metric: 're-import vs seeding the same records',
      value: im.ms / seedMs,
      unit: '×',
      note: 'same addRecord path',
    });
  } finally {
    await server.close();
    rmSync(work, { recursive: true, force: true });
  }
}

/** The child: logs in, runs one export or import, prints `{ ms, peakMiB, growthMiB }`. */
async function childMain(op: string): Promise<void> {
  const env = (k: string): string => {
    const v = process.env[k];
    if (v === undefined) throw new Error(`missing ${k}`);
    return v;
  };
  const client = new CarnetClient({ relayUrl: env('RELAY') });
  await client.login({ userName: env('USER_NAME'), password: env('PASSWORD') });
  const before = process.memoryUsage.rss();
  let peak = before;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 20);
  const t0 = nowMs();
  const detail =
    op === 'export'
      ? await exportVault(client, {
          out: env('ARCHIVE'),
          encryption: { ageRecipient: env('RECIPIENT') },
        })
      : await importArchive(client, { path: env('ARCHIVE'), identity: env('IDENTITY') });
  const ms = nowMs() - t0;
  clearInterval(timer);
  peak = Math.max(peak, process.memoryUsage.rss());
  const peakMiB = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(
    `${JSON.stringify({ ms, peakMiB, growthMiB: (peak - before) / MiB, detail })}\n`,
  );
}

if (
  process.argv[1] &&
  import.meta.url === pathToFileURL(process.argv[1]).href &&
  process.argv[2] === '--child'
) {
  childMain(process.argv[3] ?? '').then(
    () => process.exit(0),
    (e: unknown) => {
      console.error(e);
      process.exit(1);
    },
  );
}
