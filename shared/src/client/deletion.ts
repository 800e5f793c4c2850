/**
 * Folder and account deletion with relay-signed receipts (issue 5 §2).
 */
import type { ClientParts } from './client';

/** Folder and account deletion with relay-signed receipts (issue 5 §2). */
export class DeletionClient {
  constructor(protected readonly parts: ClientParts) {}
}
