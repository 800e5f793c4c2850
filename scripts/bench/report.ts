/**
 * Benchmark reporting: a table on stdout and one JSON line per figure in
 * `bench-results.jsonl` at the repo root. Every figure may carry a ratio against a baseline
 * measured in the same run, because these machines are noisy.
 */
import { appendFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';

/** One measured figure. */
export interface Figure {
  bench: string;
  metric: string;
  value: number;
  unit: string;
  ratio_to?: string;
  ratio?: number;
  /** Free-form conditions (allocator settings, chunk size…), printed in the table. */
  note?: string;
}

/** Where figures go. */
export interface Reporter {
  add(f: Figure): void;
}

/** Path of the JSONL results file at the repo root. */
export const RESULTS_PATH = resolve(
  fileURLToPath(new URL('../../', import.meta.url)),
  'bench-results.jsonl',
);

/** A reporter that prints each figure as it comes and appends it to the JSONL file. */
export function createReporter(
  path = RESULTS_PATH,
  fresh = true,
): Reporter & { figures: Figure[] } {
  if (fresh) writeFileSync(path, '');
  const figures: Figure[] = [];
  return {
    figures,
    add(f: Figure) {
      figures.push(f);
      const ratio = f.ratio === undefined ? '' : `  ×${f.ratio.toFixed(2)} vs ${f.ratio_to}`;
      const note = f.note ? `  [${f.note}]` : '';
      console.log(
        `${f.bench.padEnd(18)} ${f.metric.padEnd(44)} ${fmt(f.value).padStart(12)} ${f.unit}${ratio}${note}`,
      );
      const line: Figure = { bench: f.bench, metric: f.metric, value: f.value, unit: f.unit };
      if (f.ratio_to !== undefined) line.ratio_to = f.ratio_to;
      if (f.ratio !== undefined) line.ratio = f.ratio;
      if (f.note !== undefined) line.note = f.note;
      appendFileSync(path, JSON.stringify(line) + '\n');
    },
  };
}

function fmt(v: number): string {
  if (v >= 100) return v.toFixed(0);
  if (v >= 1) return v.toFixed(2);
  return v.toPrecision(3);
}

/** Peak resident set size of this process so far, in MiB (Linux: VmHWM). */
export function peakRssMiB(): number {
  return process.resourceUsage().maxRSS / 1024;
}

/** Current RSS in MiB. */
export function rssMiB(): number {
  return process.memoryUsage.rss() / (1024 * 1024);
}

/** Milliseconds since an arbitrary origin, high resolution. */
export function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}
