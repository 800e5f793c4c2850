/**
 * Imports: under a grant (agent), review and adoption (practitioner), own FHIR data.
 */
import type { Command } from '../command';

/** Imports: under a grant (agent), review and adoption (practitioner), own FHIR data. */
export const importCommands: readonly Command[] = [];
