/**
 * Support grants (issue 4 §1): owned by the grants work package.
 */
import type { ClientParts } from './client';

/** Support grants (issue 4 §1): owned by the grants work package. */
export class GrantClient {
  constructor(protected readonly parts: ClientParts) {}
}
