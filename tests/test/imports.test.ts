/**
 * Write-only imports end to end (issue 4 §2), against a real relay on 127.0.0.1, through the
 * SDK and the CLI (in process): a support agent stages the five Synthea bundles and a PDF under
 * an import grant and can read nothing back — not even its own import; the practitioner sees
 * each import marked with the agent and the grant, and adopts them as ordinary folders signed
 * by itself, with every resource type's count preserved. Tampered items are refused at review,
 * an interrupted adoption resumes, and staging after the grant ended is refused.
 */
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CarnetClient,
  MemoryLocalStore,
  isApiError,
  type FetchLike,
  type RecordKind,
} from '@carnet/shared/client';
import {
  asKey,
  openImportHeader,
  unwrapImportKey,
  type AccountId,
  type DataKey,
  type EncryptionPrivateKey,
  type FolderId,
  type GrantId,
} from '@carnet/shared/core';
import type { FhirResource } from '@carnet/shared/fhir';
import { main } from '../../scripts/src/cli';
import type { Io, Source } from '../../scripts/src/io';
import { startTestRelay, type TestRelay } from '../src/relay';
import { digestStream, heldKeys, hostileFetch, rejectsWith, relayDb } from '../src/sdk-helpers';

const ROOT = fileURLToPath(new URL('../../../shared/', import.meta.url));
const SYNTHEA_DIR = join(ROOT, 'fhir-samples/synthea-r4');
const SYNTHEA = readdirSync(SYNTHEA_DIR).filter((f) => f.endsWith('.json'));
const PDF = join(ROOT, 'test-files/hl7-binary-example.pdf');
const MINUTE = 60_000;
const PASSWORD = { dr: 'imports dr password', agent: 'imports agent password' };

const KIND_OF: Record<string, RecordKind> = {
  Patient: 'profile',
  Observation: 'observation',
  Condition: 'condition',
  AllergyIntolerance: 'allergy',
  MedicationRequest: 'medication',
  Encounter: 'encounter',
};

let relay: TestRelay;
let home = '';
// The relay's and the SDK clients' clock: real time (the CLI runs on it too) until the test
// moves it past the grant's end. It ticks by a millisecond per reading, as a real one would.
let clock = Date.now();
const now = (): number => clock++;

beforeAll(async () => {
  relay = await startTestRelay({
    now,
    idleTimeoutMs: 48 * 60 * MINUTE,
    absoluteTimeoutMs: 48 * 60 * MINUTE,
  });
  home = await mkdtemp(join(tmpdir(), 'carnet-imports-'));
});
afterAll(async () => {
  await relay?.close();
  if (home !== '') await rm(home, { recursive: true, force: true });
});

function client(store = new MemoryLocalStore(), fetchImpl?: FetchLike): CarnetClient {
  return new CarnetClient({
    relayUrl: relay.url,
    store,
    now,
    ...(fetchImpl ? { fetch: fetchImpl } : {}),
  });
}

/** `carnet … --json` in process as `user`; its one JSON object and exit code. */
async function carnet(
  user: string,
  password: string,
  args: string[],
): Promise<{ code: number; json: Record<string, unknown> }> {
  let stdout = '';
  const io: Io = {
    stdout: { write: (c: string | Uint8Array) => (stdout += String(c)) },
    stderr: { write: () => true },
    stdin: new PassThrough() as unknown as Source,
    env: {
      CARNET_HOME: join(home, user),
      CARNET_SERVER: relay.url,
      CARNET_USER: user,
      CARNET_PASSWORD: password,
    },
  };
  const code = await main([...args, '--json'], io);
  const lines = stdout.split('\n');
  expect(lines.length, stdout).toBe(2);
  return { code, json: JSON.parse(lines[0]!) as Record<string, unknown> };
}

/** A raw request with a client's saved session token: the relay's own answer. */
async function raw(
  store: MemoryLocalStore,
  method: string,
  path: string,
  body?: unknown,
): Promise<number> {
  const saved = JSON.parse((await store.get('session'))!) as { token: string };
  const res = await fetch(`${relay.url}/api/v1${path}`, {
    method,
    headers: {
      authorization: `Bearer ${saved.token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  await res.body?.cancel();
  return res.status;
}

function countBy<T>(xs: T[], key: (x: T) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of xs) out[key(x)] = (out[key(x)] ?? 0) + 1;
  return out;
}

/** Resource counts per type of a Synthea bundle, and per Carnet kind. */
function expected(file: string): { types: Record<string, number>; kinds: Record<string, number> } {
  const bundle = JSON.parse(readFileSync(join(SYNTHEA_DIR, file), 'utf8')) as {
    entry: { resource: FhirResource }[];
  };
  const resources = bundle.entry.map((e) => e.resource);
  return {
    types: countBy(resources, (r) => r.resourceType),
    kinds: countBy(resources, (r) => KIND_OF[r.resourceType] ?? 'fhir'),
  };
}

function nameOf(file: string): string {
  return file.split('_').slice(0, -1).join(' ').replace('Maria', 'María');
}

describe('write-only imports under a grant', () => {
  const drStore = new MemoryLocalStore();
  const agentStore = new MemoryLocalStore();
  // Every JSON answer the agent's client received.
  const agentWire = hostileFetch();
  let dr: CarnetClient;
  let agent: CarnetClient;
  let agentId = '' as AccountId;
  let agentCode = '';
  let grant = '';
  const imports = new Map<string, string>(); // Synthea file → import id
  let kermitImport = '';
  let pdfSha = '';

  it('sets up a practitioner with a patient folder and an import agent with a grant', async () => {
    dr = client(drStore);
    agent = client(agentStore, agentWire.fetch);
    await dr.signUp({ userName: 'dr.import', password: PASSWORD.dr, role: 'practitioner' });
    const a = await agent.signUp({
      userName: 'import.agent',
      password: PASSWORD.agent,
      role: 'support',
    });
    agentId = a.account.accountId;
    agentCode = a.account.safetyCode;
    await dr.createFolder({ name: 'Existing Patient' });
    const g = await dr.grants.create({
      agent: 'import.agent',
      safetyCode: agentCode,
      rights: 'import',
      durationMs: 60 * MINUTE,
      reason: 'Migration from OldEHR, ticket 4711',
    });
    grant = g.grantId;
  });

  it('stages the five Synthea bundles and a PDF; the agent reads nothing back', async () => {
    for (const file of SYNTHEA.slice(1)) {
      const staged = await agent.imports.stage(grant, {
        fhir: readFileSync(join(SYNTHEA_DIR, file)),
        fileName: file,
      });
      expect(staged.item).toBe(1);
      imports.set(file, staged.importId);
    }
    // The first one through the CLI, as an agent would.
    const first = SYNTHEA[0]!;
    const cli = await carnet('import.agent', PASSWORD.agent, [
      'import',
      '--grant',
      grant,
      '--fhir',
      join(SYNTHEA_DIR, first),
    ]);
    expect(cli.code).toBe(0);
    imports.set(first, cli.json.importId as string);
    kermitImport = imports.get(SYNTHEA.find((f) => f.startsWith('Kermit'))!)!;
    const pdf = await carnet('import.agent', PASSWORD.agent, [
      'import',
      '--grant',
      grant,
      '--file',
      PDF,
      '--into',
      kermitImport,
      '--patient',
      'Kermit Trantow',
    ]);
    expect(pdf.code, JSON.stringify(pdf.json)).toBe(0);
    expect(pdf.json.importId).toBe(kermitImport);
    pdfSha = createHash('sha256').update(readFileSync(PDF)).digest('hex');

    // Nothing of an import is served to the agent: not the list, not the items, not even the
    // blob it uploaded itself.
    expect(await agent.imports.review()).toEqual([]);
    await expect(raw(agentStore, 'GET', '/imports')).resolves.toBe(200);
    for (const importId of imports.values()) {
      expect(await raw(agentStore, 'GET', `/imports/${importId}/items/1/blob`)).toBe(404);
      expect(await raw(agentStore, 'DELETE', `/imports/${importId}`)).toBe(404);
    }
    const uploads = agentWire.seen.filter((s) => s.method === 'POST' && s.path === '/blobs');
    expect(uploads.length).toBe(SYNTHEA.length - 1);
    for (const u of uploads) {
      const blobId = (u.body as { blobId: string }).blobId;
      expect(await raw(agentStore, 'GET', `/blobs/${blobId}`)).toBe(404);
    }
    // Nor the practitioner's existing folders.
    const drFolders = await dr.listFolders();
    for (const f of drFolders)
      expect(await raw(agentStore, 'GET', `/folders/${f.folderId}`)).toBe(404);
  });

  it("keeps nothing on the agent's side: no key it holds opens a staged item", async () => {
    // The agent's local store names no import and holds no key of one.
    const stored = await Promise.all(
      agentStore.keys().map(async (k) => `${k}=${(await agentStore.get(k)) ?? ''}`),
    );
    for (const importId of imports.values()) expect(stored.join('\n')).not.toContain(importId);
    // Every key the agent's account holds, rebuilt from its password, against every staged item.
    const held = await heldKeys(relay.url, 'import.agent', PASSWORD.agent);
    const db = relayDb(relay.dataDir);
    try {
      const rows = db
        .prepare('SELECT import_id, item, key_wrap, header FROM import_items')
        .all() as { import_id: string; item: number; key_wrap: Buffer; header: Buffer }[];
      expect(rows.length).toBe(SYNTHEA.length + 1);
      const drId = dr.account!.accountId;
      for (const r of rows) {
        const ctx = {
          grantId: grant as GrantId,
          importId: r.import_id as FolderId,
          item: r.item,
          practitionerId: drId,
        };
        for (const k of held.keys) {
          await rejectsWith(
            unwrapImportKey(asKey<EncryptionPrivateKey>(k.slice(0, 32)), r.key_wrap, ctx),
            'INTEGRITY',
          );
          expect(() =>
            openImportHeader(asKey<DataKey>(k.slice(0, 32)), r.header, {
              importId: r.import_id as FolderId,
              item: r.item,
            }),
          ).toThrow();
        }
      }
    } finally {
      db.close();
    }
  });

  it('shows the practitioner every import, marked with the agent and the grant', async () => {
    const list = await dr.imports.review();
    expect(list.map((i) => i.importId).sort()).toEqual([...imports.values()].sort());
    for (const [file, importId] of imports) {
      const i = list.find((x) => x.importId === importId)!;
      expect(i.error).toBeUndefined();
      expect(i.marking).toBe(`imported by import.agent under grant ${grant}`);
      expect(i.agent).toEqual({
        accountId: agentId,
        userName: 'import.agent',
        safetyCode: agentCode,
      });
      expect(i.grant.reason).toBe('Migration from OldEHR, ticket 4711');
      expect(i.summary.patients[0]).toBe(nameOf(file));
      const want = expected(file).kinds;
      if (importId === kermitImport) want.document = 1;
      expect(i.summary.counts).toEqual(want);
    }
    const kermit = list.find((x) => x.importId === kermitImport)!;
    const file = kermit.items.find((it) => it.type === 'file')!;
    expect(file).toMatchObject({
      fileName: 'hl7-binary-example.pdf',
      mimeType: 'application/pdf',
      size: readFileSync(PDF).length,
      patientName: 'Kermit Trantow',
    });
    // The CLI shows the same, as the practitioner.
    const cli = await carnet('dr.import', PASSWORD.dr, ['import', 'review']);
    expect(cli.code).toBe(0);
    expect((cli.json.imports as unknown[]).length).toBe(imports.size);
  });

  it('refuses tampered items at review and at adoption', async () => {
    // Three more imports, then each one's stored item altered on the relay's side.
    const patient = (id: string) => ({ resourceType: 'Patient', id, name: [{ text: id }] });
    const a = await agent.imports.stage(grant, { fhir: patient('header') });
    const b = await agent.imports.stage(grant, { fhir: patient('content') });
    const c = await agent.imports.stage(grant, { fhir: patient('signature') });
    const db = relayDb(relay.dataDir);
    try {
      const flip = (column: 'header' | 'signed', importId: string, at: number): void => {
        const row = db
          .prepare(`SELECT ${column} AS v FROM import_items WHERE import_id = ?`)
          .get(importId) as { v: Buffer };
        row.v[at < 0 ? row.v.length + at : at]! ^= 1;
        db.prepare(`UPDATE import_items SET ${column} = ? WHERE import_id = ?`).run(
          row.v,
          importId,
        );
      };
      flip('header', a.importId, -1);
      flip('signed', c.importId, -1);
      // The encrypted content file of b: one bit in the middle.
      const { blob_id } = db
        .prepare('SELECT blob_id FROM import_items WHERE import_id = ?')
        .get(b.importId) as { blob_id: string };
      const path = join(relay.dataDir, 'blobs', blob_id);
      const bytes = readFileSync(path);
      bytes[bytes.length >> 1]! ^= 1;
      writeFileSync(path, bytes);
    } finally {
      db.close();
    }
    const list = await dr.imports.review();
    const errorOf = (id: string): string | undefined =>
      list.find((i) => i.importId === id)!.error?.code;
    expect(errorOf(a.importId)).toBe('CONTEXT_MISMATCH');
    expect(errorOf(b.importId)).toBe('INTEGRITY');
    expect(errorOf(c.importId)).toBe('INTEGRITY');
    for (const id of imports.values()) expect(errorOf(id)).toBeUndefined();
    await rejectsWith(dr.imports.adopt(a.importId), 'CONTEXT_MISMATCH');
    await rejectsWith(dr.imports.adopt(b.importId), 'INTEGRITY');
    await rejectsWith(dr.imports.adopt(c.importId), 'INTEGRITY');
    // Nothing was created for them.
    const folders = (await dr.listFolders()).map((f) => f.folderId);
    for (const x of [a, b, c]) expect(folders).not.toContain(x.importId);
    await dr.imports.reject(a.importId);
    await dr.imports.reject(c.importId);
    const cli = await carnet('dr.import', PASSWORD.dr, ['import', 'reject', b.importId]);
    expect(cli.json).toEqual({ importId: b.importId, rejected: true });
    expect((await dr.imports.review()).map((i) => i.importId).sort()).toEqual(
      [...imports.values()].sort(),
    );
  });

  it('adopts imports as ordinary folders with every resource count preserved', async () => {
    const drId = dr.account!.accountId;
    for (const [file, importId] of imports) {
      // One through the CLI, the others through the SDK; one of those interrupted and resumed.
      let folderId: string;
      if (file === SYNTHEA[1]) {
        const cli = await carnet('dr.import', PASSWORD.dr, ['import', 'adopt', importId]);
        expect(cli.code, JSON.stringify(cli.json)).toBe(0);
        folderId = (cli.json.folders as { folderId: string }[])[0]!.folderId;
      } else if (file === SYNTHEA[2]) {
        folderId = await interruptedThenResumed(importId);
      } else {
        const adopted = await dr.imports.adopt(importId);
        expect(adopted.folders).toHaveLength(1);
        folderId = adopted.folderId;
      }
      expect(folderId).toBe(importId);
      const folder = await dr.getFolder(folderId);
      // An ordinary folder: signed by me, I am its only member, its profile from the Patient.
      expect(folder.ownerId).toBe(drId);
      expect(folder.members.map((m) => [m.accountId, m.role])).toEqual([[drId, 'owner']]);
      expect(folder.profile?.name).toBe(nameOf(file));
      const records = await dr.listRecords(folderId);
      expect(new Set(records.map((r) => r.authorId))).toEqual(new Set([drId]));
      const want = expected(file);
      if (importId === kermitImport) want.kinds.document = 1;
      expect(countBy(records, (r) => r.kind)).toEqual(want.kinds);
      const types: string[] = [];
      for (const r of records) {
        if (r.kind === 'document') continue;
        const view = await dr.readRecord(folderId, r.recordId);
        types.push((view.structured as FhirResource).resourceType);
      }
      expect(countBy(types, (t) => t)).toEqual(want.types);
      if (importId === kermitImport) {
        const doc = records.find((r) => r.kind === 'document')!;
        expect(doc.fileName).toBe('hl7-binary-example.pdf');
        const opened = await dr.openDocument(folderId, doc.recordId);
        expect((await digestStream(opened.body)).sha256).toBe(pdfSha);
      }
    }
    // Adopted imports are gone from the relay.
    expect(await dr.imports.review()).toEqual([]);
    await expect(dr.imports.adopt(kermitImport)).rejects.toSatisfy((e) =>
      isApiError(e, 'NOT_FOUND'),
    );
  });

  /** Adopts with a connection that fails after 20 record writes, then adopts again. */
  async function interruptedThenResumed(importId: string): Promise<string> {
    let writes = 0;
    const flaky: FetchLike = (input, init) => {
      if ((init.method ?? 'GET') === 'POST' && /\/records\/[^/]+\/versions$/.test(input)) {
        writes++;
        if (writes > 20) return Promise.reject(new Error('connection lost'));
      }
      return fetch(input, init);
    };
    const crashing = client(drStore, flaky);
    await crashing.unlock({ password: PASSWORD.dr });
    await expect(crashing.imports.adopt(importId)).rejects.toSatisfy((e) =>
      isApiError(e, 'NETWORK'),
    );
    expect((await dr.listRecords(importId)).length).toBe(20);
    const adopted = await dr.imports.adopt(importId);
    expect(adopted.counts.existing).toBe(20);
    return adopted.folderId;
  }

  it('imports FHIR into the own account with the CLI', async () => {
    const file = join(ROOT, 'fhir-samples/hl7-r4-examples/Bundle-father.json');
    const cli = await carnet('dr.import', PASSWORD.dr, ['import', '--fhir', file]);
    expect(cli.code, JSON.stringify(cli.json)).toBe(0);
    const [f] = cli.json.folders as { folderId: string; name: string }[];
    expect(f!.name).toBe('Eve Everywoman');
    const records = await dr.listRecords(f!.folderId);
    expect(countBy(records, (r) => r.kind)).toEqual({
      fhir: 2,
      profile: 1,
      encounter: 1,
      observation: 1,
      medication: 2,
      allergy: 1,
    });
    const bad = await carnet('dr.import', PASSWORD.dr, ['import', '--fhir', PDF]);
    expect(bad.code).toBe(1);
    expect((bad.json.error as { code: string }).code).toBe('INVALID_ARGUMENT');
  });

  it('refuses staging once the grant is revoked or has expired', async () => {
    const g2 = await dr.grants.create({
      agent: 'import.agent',
      safetyCode: agentCode,
      rights: 'import',
      durationMs: 60 * MINUTE,
      reason: 'second batch',
    });
    await dr.grants.revoke(g2.grantId);
    const fhir = { resourceType: 'Patient', name: [{ text: 'Late Patient' }] };
    await expect(agent.imports.stage(g2.grantId, { fhir })).rejects.toSatisfy((e) =>
      isApiError(e, 'NOT_FOUND'),
    );
    // Past the first grant's end: the agent's client refuses, and so does the relay.
    clock += 61 * MINUTE;
    await rejectsWith(agent.imports.stage(grant, { fhir }), 'GRANT_EXPIRED');
    expect(
      await raw(agentStore, 'POST', `/grants/${grant}/imports`, {
        importId: 'AAAAAAAAAAAAAAAAAAAAAA',
      }),
    ).toBe(404);
    expect(await dr.imports.review()).toEqual([]);
  });
});
