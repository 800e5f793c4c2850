/**
 * SIGKILL in the middle of large uploads and record writes, then restart: the database is
 * intact, every visible blob is complete and matches its digest, and interrupted uploads
 * leave nothing behind. Also checks that SIGTERM shuts the relay down cleanly.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { b64, digestHeader, kdf, newId, rnd, tempDir } from './helpers';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const dir = tempDir('carnet-crash-');
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

/** Starts the relay as a child process on a free port; resolves with its URL. */
function startRelay(): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, '--data', dir, '--port', '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve({ child, url: m[1]! });
    });
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) =>
      reject(new Error(`relay exited (${code}) before listening:\n${out}`)),
    );
  });
}

async function json<T>(
  url: string,
  method: string,
  body: unknown,
  token?: string,
): Promise<{ status: number; body: T }> {
  const res = await fetch(url, {
    method,
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as T };
}

/** A slow chunked upload of `total` random bytes; never resolves if the relay dies mid-way. */
function slowUpload(url: string, token: string, total: number): void {
  const req = request(`${url}/api/v1/blobs`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/octet-stream',
      'content-digest': digestHeader(Buffer.from('unknown in advance')),
    },
  });
  req.on('error', () => {});
  let sent = 0;
  const pump = () => {
    if (req.destroyed) return;
    if (sent >= total) return void req.end();
    sent += 1 << 20;
    req.write(randomBytes(1 << 20), () => setTimeout(pump, 5));
  };
  pump();
}

const tmpBytes = () =>
  readdirSync(join(dir, 'tmp')).reduce((n, f) => n + statSync(join(dir, 'tmp', f)).size, 0);

describe('crash safety', () => {
  it('survives SIGKILL mid-upload with no half-written blob visible', async () => {
    const { child, url } = await startRelay();
    const reg = await json<{ accountId: string; session: { token: string } }>(
      `${url}/api/v1/accounts`,
      'POST',
      {
        accountId: newId(),
        userName: 'crash.test',
        role: 'practitioner',
        keyBundle: rnd(32),
        authKey: rnd(32),
        kdf: kdf(),
        keyring: rnd(64),
        recovery: { authKey: rnd(32), keyring: rnd(64) },
      },
    );
    const token = reg.body.session.token;
    const folderId = newId();
    const created = await json(
      `${url}/api/v1/folders`,
      'POST',
      {
        folderId,
        seq: 1,
        epoch: 1,
        manifest: b64('m'),
        members: [{ accountId: reg.body.accountId, role: 'owner' }],
        wraps: [{ accountId: reg.body.accountId, epoch: 1, wrap: rnd(80) }],
      },
      token,
    );
    expect(created.status).toBe(201);

    // One complete blob before the crash: it must survive.
    const kept = randomBytes(2 << 20);
    const up = await fetch(`${url}/api/v1/blobs`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/octet-stream',
        'content-digest': digestHeader(kept),
      },
      body: new Uint8Array(kept),
    });
    const keptId = ((await up.json()) as { blobId: string }).blobId;

    for (let i = 0; i < 4; i++) slowUpload(url, token, 256 << 20);
    // Keep the database busy too, so the kill can land inside a transaction.
    let writing = true;
    const writes = (async () => {
      let v = 0;
      const rec = newId();
      while (writing) {
        const body = {
          version: ++v,
          epoch: 1,
          header: rnd(2000),
          signed: rnd(200),
          dataKey: rnd(72),
        };
        await fetch(`${url}/api/v1/folders/${folderId}/records/${rec}/versions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        }).catch(() => (writing = false));
      }
    })();
    // Wait until the uploads are well under way (bounded: the test timeout applies).
    while (tmpBytes() < 16 << 20) await new Promise((r) => setTimeout(r, 20));
    expect(readdirSync(join(dir, 'tmp')).length).toBeGreaterThan(0);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    writing = false;
    await writes;

    // Restart: start-up cleans tmp/ and orphans.
    const second = await startRelay();
    expect(readdirSync(join(dir, 'tmp'))).toEqual([]);

    const db = new Database(join(dir, 'carnet.db'), { readonly: true });
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    expect(db.pragma('foreign_key_check')).toEqual([]);
    // Versions written up to the kill are contiguous: each committed whole or not at all.
    const versions = db.prepare('SELECT version FROM record_versions ORDER BY version').all() as {
      version: number;
    }[];
    expect(versions.length).toBeGreaterThan(0);
    expect(versions.map((v) => v.version)).toEqual(versions.map((_v, i) => i + 1));
    const rows = db.prepare('SELECT blob_id, size, sha256 FROM blobs').all() as {
      blob_id: string;
      size: number;
      sha256: Buffer;
    }[];
    db.close();
    expect(rows.map((r) => r.blob_id)).toEqual([keptId]);
    for (const r of rows) {
      const file = readFileSync(join(dir, 'blobs', r.blob_id));
      expect(file.length).toBe(r.size);
      expect(createHash('sha256').update(file).digest().equals(r.sha256)).toBe(true);
    }
    expect(readdirSync(join(dir, 'blobs')).sort()).toEqual(rows.map((r) => r.blob_id).sort());

    // The relay works after the restart, and the pre-crash blob is served intact.
    const login = await json<{ session: { token: string } }>(
      `${second.url}/api/v1/auth/login`,
      'POST',
      {
        userName: 'crash.test',
        authKey: rnd(32),
      },
    );
    expect(login.status).toBe(401);
    const dl = await fetch(`${second.url}/api/v1/blobs/${keptId}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(dl.status).toBe(200);
    expect(Buffer.from(await dl.arrayBuffer()).equals(kept)).toBe(true);

    // SIGTERM: graceful shutdown, exit code 0, database closed (no WAL left behind).
    second.child.kill('SIGTERM');
    const code = await new Promise((r) => second.child.once('exit', r));
    expect(code).toBe(0);
    expect(readdirSync(dir)).not.toContain('carnet.db-wal');
  });
});
