/**
 * The audit trail: `audit [--folder ID]` (a folder's trail, or my account's, verified against
 * the head this device saw last) and `admin verify-audit --data DIR` (every chain, offline, in
 * the relay's database file).
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { optional, required, type Command } from '../command';
import { CliError, EXIT, invalidInput } from '../errors';
import { safe } from '../format';
import type { AuditEntry, AuditTrail } from '../sdk';
import { signedIn } from '../session';
import { folderId } from '../validate';

/** One line per event: seq, then the sentence (decrypted titles and names made printable). */
function lines(trail: AuditTrail): string[] {
  const width = String(trail.head.seq).length;
  return trail.events.map(
    (e: AuditEntry) => `${String(e.seq).padStart(width)}  ${safe(e.text).replace(/\s+/g, ' ')}`,
  );
}

const audit: Command = {
  name: 'audit',
  summary: 'Show the audit trail of a folder (or of your account), verified as a hash chain.',
  synopsis: '[--folder ID] [--last N]',
  details: [
    'Every key fetch, document download, record written, membership change, invitation and',
    'support access is an event in a hash chain kept by the relay. This device remembers the',
    'last head it saw: a relay that rewrites or truncates the trail is reported (exit 4).',
    '',
    'Options:',
    '  --folder ID   a folder you are a member of; without it, your own account’s trail',
    '  --last N      show only the last N events (the whole chain is still verified)',
    '',
    'Examples:',
    '  carnet audit --folder Qm3x…',
    '  carnet audit --last 20',
  ].join('\n'),
  options: { folder: { type: 'string' }, last: { type: 'string' } },
  async run(inv) {
    const folder = optional(inv, 'folder');
    const lastRaw = optional(inv, 'last');
    let last: number | undefined;
    if (lastRaw !== undefined) {
      if (!/^[1-9]\d{0,6}$/.test(lastRaw)) {
        throw invalidInput(`--last must be a positive number (got "${lastRaw}").`);
      }
      last = Number(lastRaw);
    }
    if (folder !== undefined) inv.context.folder = folderId(folder);
    const b = await signedIn(inv);
    const trail =
      folder === undefined ? await b.client.audit.account() : await b.client.audit.folder(folder);
    const unsent = await b.client.audit.unsent();
    const shown = last === undefined ? trail : { ...trail, events: trail.events.slice(-last) };
    const what = folder === undefined ? 'your account' : `folder ${folder}`;
    const out = [
      trail.events.length === 0
        ? `No events yet in the audit trail of ${what}.`
        : `Audit trail of ${what}: ${trail.events.length} events, chain verified up to event ${trail.head.seq}.`,
      ...lines(shown),
    ];
    if (trail.titlesUnavailable !== undefined) {
      out.push(`Record titles could not be read (${trail.titlesUnavailable}); ids are shown.`);
    }
    if (unsent.waiting > 0) {
      out.push(`${unsent.waiting} "viewed" events from this device are not on the relay yet.`);
    }
    if (unsent.lost > 0) out.push(`${unsent.lost} "viewed" events were refused by the relay.`);
    return {
      json: {
        audit: {
          chainId: trail.chainId,
          head: { seq: trail.head.seq, hash: Buffer.from(trail.head.hash).toString('base64url') },
          events: shown.events.map((e) => ({
            ...e,
            signed: e.signed === undefined ? undefined : e.signed.status,
          })),
          ...(trail.titlesUnavailable === undefined
            ? {}
            : { titlesUnavailable: trail.titlesUnavailable }),
          unsentViewed: unsent,
        },
      },
      text: out.join('\n'),
    };
  },
};

const verifyAudit: Command = {
  name: 'admin verify-audit',
  summary: 'Check every audit chain in a relay data directory, offline (exit 4 if broken).',
  synopsis: '--data DIR',
  details: [
    'Reads <DIR>/carnet.db read-only (the relay may keep running) and checks each chain from',
    'its first event: no gap, every event linked to the one before, every stored hash equal',
    'to the hash of the event’s content, and the chain’s head equal to its last event.',
    'Exit 0 when intact; exit 4 with the problems listed when not.',
    '',
    'A trail rewritten wholesale with fresh hashes passes this check: clients detect that',
    'with the head they remember (carnet audit). See docs/audit.md.',
    '',
    'Example:',
    '  carnet admin verify-audit --data /srv/carnet',
  ].join('\n'),
  options: { data: { type: 'string' } },
  async run(inv) {
    const dataDir = resolve(required(inv, 'data', 'DIR'));
    if (!existsSync(join(dataDir, 'carnet.db'))) {
      throw new CliError('FILE_NOT_FOUND', `No relay database in ${dataDir} (carnet.db).`);
    }
    // Loaded here: client commands must not pay for the relay's modules.
    const { verifyAuditDatabase } = await import('@carnet/server');
    const r = verifyAuditDatabase(dataDir);
    const ok = r.problems.length === 0;
    const summary = `${r.chains} chains, ${r.events} events`;
    const text = ok
      ? `Audit trail intact: ${summary}.`
      : [
          `Audit trail BROKEN (${summary}): ${r.problems.length} problems.`,
          ...r.problems.map((p) => `  - ${p}`),
        ].join('\n');
    return {
      json: {
        ok,
        chains: r.chains,
        events: r.events,
        problems: r.problems,
        ...(ok
          ? {}
          : {
              error: {
                code: 'AUDIT_BROKEN',
                message: `The audit trail in ${dataDir} is broken: ${r.problems.length} problems.`,
              },
            }),
      },
      text,
      ...(ok ? {} : { exit: EXIT.security }),
    };
  },
};

/** The audit trail: `audit --folder`, `admin verify-audit`. */
export const auditCommands: readonly Command[] = [audit, verifyAudit];
