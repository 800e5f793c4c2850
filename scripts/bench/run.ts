/**
 * `npm run bench` — runs every benchmark module in one process (or only those named on the
 * command line: `npm run bench -- files folders`), printing a table and writing
 * bench-results.jsonl. Each module exports `run(reporter, options)`.
 */
import { createReporter, type Reporter } from './report';

/** Options every module receives. `quick` shrinks sizes for a smoke run. */
export interface BenchOptions {
  quick: boolean;
}

type BenchModule = { run(r: Reporter, o: BenchOptions): Promise<void> };

const MODULES: Record<string, () => Promise<BenchModule>> = {
  files: () => import('./files'),
  folders: () => import('./folders'),
  kdf: () => import('./kdf'),
  sign: () => import('./sign'),
  relay: () => import('./relay'),
  rotation: () => import('./rotation'),
  export: () => import('./export'),
};

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const names = args.filter((a) => !a.startsWith('--'));
  const selected = names.length > 0 ? names : Object.keys(MODULES);
  const reporter = createReporter();
  console.log(
    `node ${process.version}, ${process.platform}/${process.arch}, MALLOC_ARENA_MAX=${process.env.MALLOC_ARENA_MAX ?? 'default'}, MALLOC_MMAP_THRESHOLD_=${process.env.MALLOC_MMAP_THRESHOLD_ ?? 'default'}`,
  );
  for (const name of selected) {
    const load = MODULES[name];
    if (!load)
      throw new Error(`unknown benchmark "${name}"; known: ${Object.keys(MODULES).join(', ')}`);
    console.log(`\n== ${name}`);
    const mod = await load();
    await mod.run(reporter, { quick });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
