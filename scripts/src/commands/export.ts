/**
 * Exporting a folder or the whole vault as FHIR R4 with the original files.
 */
import type { Command } from '../command';

/** Exporting a folder or the whole vault as FHIR R4 with the original files. */
export const exportCommands: readonly Command[] = [];
