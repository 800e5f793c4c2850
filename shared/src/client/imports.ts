/**
 * Write-only imports under a grant and their adoption (issue 4 §2).
 */
import type { ClientParts } from './client';

/** Write-only imports under a grant and their adoption (issue 4 §2). */
export class ImportClient {
  constructor(protected readonly parts: ClientParts) {}
}
