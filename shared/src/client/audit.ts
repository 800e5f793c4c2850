/**
 * The audit trail, verified as hash chains (issue 4 §3).
 */
import type { ClientParts } from './client';

/** The audit trail, verified as hash chains (issue 4 §3). */
export class AuditClient {
  constructor(protected readonly parts: ClientParts) {}
}
