/**
 * Relay throughput and tail latency against a bare `node:http` server doing the same work:
 * the same session lookup, membership check and record-listing query on the same SQLite file
 * (same pragmas: WAL, synchronous FULL), the same streamed, hashed, fsync'd and renamed blob
 * writes, and the same file reads for downloads. What the bare server lacks is exactly
 * the relay's overhead: Hono routing, zod validation, security headers, CORS/CSRF checks,
 * error handling and the request log.
 *
 * Each server runs in its own child process on 127.0.0.1; load comes from this process over
 * keep-alive connections with a fixed concurrency, bounded in time and in request count, in
 * short slices alternating between the two servers. Besides req/s and p99 it reports the
 * server process's CPU time per request (from /proc), which other load on a shared machine
 * disturbs much less than wall-clock figures.
 * Targets: relay ≥ 70 % of the bare server's requests per second, p99 ≤ 1.5× the bare p99.
 *
 * `tsx scripts/bench/relay.ts --bare DATA_DIR` runs the bare server (used by `run`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { Agent, createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { openDatabase, type Db } from '@carnet/server';
import { nowMs, type Reporter } from './report';
import type { BenchOptions } from './run';

const BENCH = 'relay';
const RELAY_MAIN = fileURLToPath(new URL('../../server/src/main.ts', import.meta.url));
const THIS_FILE = fileURLToPath(import.meta.url);

// ---------------------------------------------------------------------------------------------
// Load generation

/** One request of a workload. */
interface Spec {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
  expect: number;
}

/** Sends one request and reads the whole answer; resolves with its status. */
function send(base: URL, agent: Agent, s: Spec): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: base.hostname,
        port: base.port,
        method: s.method,
        path: s.path,
        headers: s.headers,
        agent,
      },
      (res) => {
        res.on('data', () => {});
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(s.body);
  });
}

/** Pooled measurements of one side over all its slices. */
interface Side {
  latencies: number[];
  elapsedMs: number;
  /** CPU time the server process spent (user + system), ms; NaN where /proc is missing. */
  cpuMs: number;
}

/** Summary of a side. */
interface Summary {
  rps: number;
  p99: number;
  cpuUsPerRequest: number;
  count: number;
}

/** CPU time (user + system) of a process so far, in ms, from /proc (Linux); NaN elsewhere. */
function cpuMsOf(pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start after the last ')'.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // USER_HZ is 100 on Linux
  } catch {
    return NaN;
  }
}

/**
 * Runs `spec` against the target with `concurrency` requests in flight for `durationMs` (or
 * until `budget` requests are spent), adding latencies, wall time and server CPU time to
 * `side`. Connections are kept alive across slices (one agent per server).
 */
async function slice(
  target: { url: string; child: ChildProcess; agent: Agent },
  spec: Spec,
  o: { concurrency: number; durationMs: number; budget: { left: number } },
  side: Side | null,
): Promise<void> {
  const base = new URL(target.url);
  const { agent } = target;
  const cpu0 = cpuMsOf(target.child.pid);
  const t0 = nowMs();
  const until = t0 + o.durationMs;
  const worker = async () => {
    while (nowMs() < until && o.budget.left-- > 0) {
      const r0 = nowMs();
      const status = await send(base, agent, spec);
      if (status !== spec.expect) {
        throw new Error(`${spec.method} ${spec.path}: ${status}, expected ${spec.expect}`);
      }
      side?.latencies.push(nowMs() - r0);
    }
  };
  await Promise.all(Array.from({ length: o.concurrency }, worker));
  if (side) {
    side.elapsedMs += nowMs() - t0;
    side.cpuMs += cpuMsOf(target.child.pid) - cpu0;
  }
}

function summarise(side: Side): Summary {
  const l = [...side.latencies].sort((a, b) => a - b);
  return {
    rps: (l.length * 1000) / side.elapsedMs,
    p99: l[Math.min(l.length - 1, Math.floor(0.99 * l.length))] ?? NaN,
    cpuUsPerRequest: (side.cpuMs * 1000) / l.length,
    count: l.length,
  };
}

// ---------------------------------------------------------------------------------------------
// Child processes

/** Spawns a server child; resolves with its base URL once it prints "listening on <url>". */
function spawnServer(args: string[]): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    let found = false;
    child.stdout!.on('data', (d: Buffer) => {
      // Keep draining (the relay logs one line per request), but only remember the start.
      if (found) return;
      out += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        found = true;
        resolve({ child, url: m[1]! });
      }
    });
    child.stderr!.on('data', (d: Buffer) => process.stderr.write(d));
    child.once('exit', (code) => {
      if (!found) reject(new Error(`server exited (${code}) before listening:\n${out}`));
    });
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

// ---------------------------------------------------------------------------------------------
// Fixture, set up through the relay's API

interface Fixture {
  token: string;
  folderId: string;
  blobId: string;
}

async function api<T>(
  url: string,
  method: string,
  path: string,
  body: unknown,
  token?: string,
): Promise<T> {
  const res = await fetch(`${url}/api/v1/${path}`, {
    method,
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify(body),
  });
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

const rnd = (n: number) => randomBytes(n).toString('base64url');
const digestOf = (b: Buffer) => `sha-256=:${createHash('sha256').update(b).digest('base64')}:`;

async function setup(
  url: string,
  records: number,
  versions: number,
  blob: Buffer,
): Promise<Fixture> {
  const accountId = rnd(16);
  const reg = await api<{ session: { token: string } }>(url, 'POST', 'accounts', {
    accountId,
    userName: 'bench.practitioner',
    role: 'practitioner',
    keyBundle: rnd(200),
    authKey: rnd(32),
    kdf: { algorithm: 'argon2id', memoryKiB: 65536, iterations: 3, parallelism: 1, salt: rnd(16) },
    keyring: rnd(400),
    recovery: { authKey: rnd(32), keyring: rnd(400) },
  });
  const token = reg.session.token;
  const folderId = rnd(16);
  await api(
    url,
    'POST',
    'folders',
    {
      folderId,
      seq: 1,
      epoch: 1,
      manifest: rnd(600),
      members: [{ accountId, role: 'owner' }],
      wraps: [{ accountId, epoch: 1, wrap: rnd(100) }],
    },
    token,
  );
  for (let r = 0; r < records; r++) {
    const recordId = rnd(16);
    for (let v = 1; v <= versions; v++) {
      const body = { version: v, epoch: 1, header: rnd(400), signed: rnd(180), dataKey: rnd(72) };
      await api(url, 'POST', `folders/${folderId}/records/${recordId}/versions`, body, token);
    }
  }
  const up = await fetch(`${url}/api/v1/blobs`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/octet-stream',
      'content-digest': digestOf(blob),
    },
    body: new Uint8Array(blob),
  });
  const { blobId } = (await up.json()) as { blobId: string };
  return { token, folderId, blobId };
}

// ---------------------------------------------------------------------------------------------
// The benchmark

/** Runs the relay benchmark. */
export async function run(r: Reporter, o: BenchOptions): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'carnet-bench-relay-'));
  const children: ChildProcess[] = [];
  try {
    const downloadBlob = randomBytes(256 * 1024);
    const relay = await spawnServer([RELAY_MAIN, '--data', dir, '--port', '0']);
    children.push(relay.child);
    const fx = await setup(relay.url, o.quick ? 10 : 40, 3, downloadBlob);
    const bare = await spawnServer([THIS_FILE, '--bare', dir]);
    children.push(bare.child);

    const auth = { authorization: `Bearer ${fx.token}` };
    const uploadBody = randomBytes(64 * 1024);
    const uploadHeaders = {
      ...auth,
      'content-type': 'application/octet-stream',
      'content-digest': digestOf(uploadBody),
      'content-length': String(uploadBody.length),
    };
    const sliceMs = o.quick ? 300 : 500;
    const workloads: { name: string; concurrency: number; relay: Spec; bare: Spec }[] = [
      {
        name: `record listing (${o.quick ? 10 : 40} records × 3 versions)`,
        concurrency: 16,
        relay: {
          method: 'GET',
          path: `/api/v1/folders/${fx.folderId}/records`,
          headers: auth,
          expect: 200,
        },
        bare: { method: 'GET', path: `/records/${fx.folderId}`, headers: auth, expect: 200 },
      },
      {
        name: 'blob download (256 KiB)',
        concurrency: 16,
        relay: { method: 'GET', path: `/api/v1/blobs/${fx.blobId}`, headers: auth, expect: 200 },
        bare: { method: 'GET', path: `/blobs/${fx.blobId}`, headers: auth, expect: 200 },
      },
      {
        name: 'blob upload (64 KiB, fsync)',
        concurrency: 8,
        relay: {
          method: 'POST',
          path: '/api/v1/blobs',
          headers: uploadHeaders,
          body: uploadBody,
          expect: 201,
        },
        bare: {
          method: 'POST',
          path: '/blobs',
          headers: uploadHeaders,
          body: uploadBody,
          expect: 201,
        },
      },
    ];
    const targets = {
      bare: { ...bare, agent: new Agent({ keepAlive: true, maxSockets: 16 }) },
      relay: { ...relay, agent: new Agent({ keepAlive: true, maxSockets: 16 }) },
    };
    const newSide = (): Side => ({ latencies: [], elapsedMs: 0, cpuMs: 0 });
    for (const w of workloads) {
      // Many short slices, alternating between the two servers, pooled per side: background
      // load on these shared machines comes and goes, and this way hits both sides alike.
      const slices = o.quick ? 2 : 16;
      const opts = { concurrency: w.concurrency, durationMs: sliceMs };
      const sides = { bare: newSide(), relay: newSide() };
      const budget = { left: o.quick ? 4000 : 80_000 };
      // Warm-up (JIT, page cache, connections), not measured.
      for (const side of ['bare', 'relay'] as const) {
        await slice(targets[side], w[side], { ...opts, budget: { left: 1000 } }, null);
      }
      for (let i = 0; i < slices; i++) {
        const order = i % 2 === 0 ? (['bare', 'relay'] as const) : (['relay', 'bare'] as const);
        for (const side of order) {
          await slice(targets[side], w[side], { ...opts, budget }, sides[side]);
        }
      }
      report(r, w.name, w.concurrency, summarise(sides.bare), summarise(sides.relay));
    }
    targets.bare.agent.destroy();
    targets.relay.agent.destroy();
  } finally {
    for (const c of children) await stop(c);
    rmSync(dir, { recursive: true, force: true });
  }
}

function report(r: Reporter, name: string, concurrency: number, b: Summary, rl: Summary): void {
  const note = `concurrency ${concurrency}, ${rl.count} / ${b.count} requests`;
  const add = (metric: string, value: number, unit: string, extra: object = {}) =>
    r.add({ bench: BENCH, metric: `${name}: ${metric}`, value, unit, ...extra });
  add('bare node:http req/s', b.rps, 'req/s');
  add('relay req/s', rl.rps, 'req/s', {
    ratio_to: 'bare node:http (target ≥ 0.70)',
    ratio: rl.rps / b.rps,
    note,
  });
  add('bare node:http p99', b.p99, 'ms');
  add('relay p99', rl.p99, 'ms', {
    ratio_to: 'bare node:http (target ≤ 1.5)',
    ratio: rl.p99 / b.p99,
  });
  if (Number.isFinite(b.cpuUsPerRequest) && Number.isFinite(rl.cpuUsPerRequest)) {
    add('bare node:http server CPU per request', b.cpuUsPerRequest, 'µs');
    add('relay server CPU per request', rl.cpuUsPerRequest, 'µs', {
      ratio_to: 'bare node:http',
      ratio: rl.cpuUsPerRequest / b.cpuUsPerRequest,
      note: 'less sensitive to other load than req/s',
    });
  }
}

// ---------------------------------------------------------------------------------------------
// The bare server: same SQL, same file handling, no framework

function bareServer(dir: string): void {
  const db: Db = openDatabase(join(dir, 'carnet.db'));
  const blobDir = join(dir, 'blobs');
  const tmpDir = join(dir, 'tmp');
  const q = {
    session: db.prepare<[Buffer], { account_id: string; last_seen_at: number; expires_at: number }>(
      'SELECT * FROM sessions WHERE token_hash = ?',
    ),
    role: db.prepare<[string, string], { role: string }>(
      'SELECT role FROM folder_members WHERE folder_id = ? AND account_id = ?',
    ),
    listing: db.prepare<
      [string],
      Record<string, unknown> & { record_id: string; is_latest: number }
    >(
      `SELECT record_id, version, epoch, signed, created_at, is_latest,
         CASE WHEN is_latest THEN header END AS header,
         CASE WHEN is_latest THEN data_key END AS data_key,
         CASE WHEN is_latest THEN blob_id END AS blob_id
       FROM (SELECT *, version = MAX(version) OVER (PARTITION BY record_id) AS is_latest
             FROM record_versions WHERE folder_id = ?)
       ORDER BY record_id, version`,
    ),
    blob: db.prepare<[string, string, string], { size: number }>(
      `SELECT b.* FROM blobs b WHERE b.blob_id = ? AND (
         (b.folder_id IS NULL AND b.account_id = ?)
         OR EXISTS (SELECT 1 FROM folder_members m WHERE m.folder_id = b.folder_id
                      AND m.account_id = ? AND m.role <> 'pending'))`,
    ),
    used: db.prepare<[string], { used: number }>(
      'SELECT COALESCE(SUM(size), 0) AS used FROM blobs WHERE account_id = ?',
    ),
    insert: db.prepare('INSERT INTO blobs VALUES (?, ?, NULL, ?, ?, ?)'),
  };
  const insertWithinQuota = db.transaction(
    (id: string, account: string, size: number, sha: Buffer) => {
      if ((q.used.get(account)?.used ?? 0) + size > 10 * 2 ** 30) return false;
      q.insert.run(id, account, size, sha, Date.now());
      return true;
    },
  );
  const b64 = (b: unknown) => (Buffer.isBuffer(b) ? b.toString('base64url') : null);

  const account = (req: IncomingMessage): string | undefined => {
    const token = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (!token) return undefined;
    const s = q.session.get(createHash('sha256').update(token).digest());
    return s && Date.now() < s.expires_at ? s.account_id : undefined;
  };

  const list = (res: ServerResponse, me: string, folderId: string) => {
    if (!q.role.get(folderId, me)) return end(res, 404, '{}');
    const out: { recordId: string; latest: unknown; versions: unknown[] }[] = [];
    for (const r of q.listing.all(folderId)) {
      let cur = out.at(-1);
      if (cur?.recordId !== r.record_id)
        out.push((cur = { recordId: r.record_id, latest: null, versions: [] }));
      cur.versions.push({
        version: r.version,
        epoch: r.epoch,
        createdAt: r.created_at,
        signed: b64(r.signed),
      });
      if (r.is_latest) {
        cur.latest = {
          version: r.version,
          epoch: r.epoch,
          createdAt: r.created_at,
          header: b64(r.header),
          signed: b64(r.signed),
          dataKey: b64(r.data_key),
          blobId: r.blob_id,
        };
      }
    }
    end(res, 200, JSON.stringify({ records: out }));
  };

  const download = async (res: ServerResponse, me: string, blobId: string) => {
    const blob = q.blob.get(blobId, me, me);
    if (!blob) return end(res, 404, '{}');
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': blob.size });
    // Like the relay: one read for small blobs, a stream for large ones.
    if (blob.size > 1024 * 1024) return void createReadStream(join(blobDir, blobId)).pipe(res);
    const fh = await open(join(blobDir, blobId), 'r');
    const buf = Buffer.allocUnsafe(blob.size);
    await fh.read(buf, 0, blob.size, 0);
    await fh.close();
    res.end(buf);
  };

  const upload = async (req: IncomingMessage, res: ServerResponse, me: string) => {
    const id = randomBytes(16).toString('base64url');
    const tmp = join(tmpDir, `${id}.part`);
    const fh = await open(tmp, 'wx', 0o600);
    const hash = createHash('sha256');
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      hash.update(chunk as Buffer);
      await fh.write(chunk as Buffer);
    }
    await fh.sync();
    await fh.close();
    const sha = hash.digest();
    const declared = /sha-256=:([^:]+):/.exec(req.headers['content-digest'] as string)?.[1];
    if (sha.toString('base64') !== declared) {
      await unlink(tmp);
      return end(res, 400, '{}');
    }
    await rename(tmp, join(blobDir, id));
    const d = await open(blobDir, 'r');
    await d.sync();
    await d.close();
    if (!insertWithinQuota(id, me, size, sha)) return end(res, 413, '{}');
    end(res, 201, JSON.stringify({ blobId: id, size, sha256: sha.toString('base64url') }));
  };

  const server = createServer((req, res) => {
    const me = account(req);
    if (!me) return end(res, 401, '{}');
    const [, kind, id] = (req.url ?? '').split('/');
    if (req.method === 'GET' && kind === 'records' && id) return list(res, me, id);
    if (req.method === 'GET' && kind === 'blobs' && id) {
      return void download(res, me, id).catch(() => end(res, 500, '{}'));
    }
    if (req.method === 'POST' && kind === 'blobs') {
      return void upload(req, res, me).catch(() => end(res, 500, '{}'));
    }
    end(res, 404, '{}');
  });
  server.keepAliveTimeout = 5000;
  server.listen(0, '127.0.0.1', () => {
    const addr = server.address();
    if (addr && typeof addr === 'object') console.log(`listening on http://127.0.0.1:${addr.port}`);
  });
  process.on('SIGTERM', () => server.close(() => (db.close(), process.exit(0))));
}

function end(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

if (
  process.argv[1] &&
  import.meta.url === pathToFileURL(process.argv[1]).href &&
  process.argv[2] === '--bare'
) {
  bareServer(process.argv[3] ?? '.');
}
