/**
 * WAL checkpoints off the event loop. A checkpoint copies WAL pages into the database file and
 * fsyncs it; run by the serving connection it would stall every request for as long. A worker
 * thread with its own connection runs a PASSIVE checkpoint (never waits for readers or
 * writers) on a timer instead, so the WAL stays small and the serving thread never pays.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** A running checkpointer. */
export interface Checkpointer {
  /** Stops the worker (its last checkpoint, if any, completes first). */
  stop(): Promise<void>;
}

// Plain CommonJS so that it runs in a worker whatever loader (tsx, vitest) runs the relay.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file);
db.pragma('busy_timeout = 1000');
let stopping = false;
const tick = () => {
  if (stopping) return;
  try { db.pragma('wal_checkpoint(PASSIVE)'); } catch (e) { parentPort.postMessage(String(e)); }
  setTimeout(tick, workerData.intervalMs);
};
setTimeout(tick, workerData.intervalMs);
parentPort.on('message', () => { stopping = true; db.close(); parentPort.close(); });
`;

/** Starts checkpointing `file` every `intervalMs` from a worker thread. */
export function startCheckpointer(
  file: string,
  intervalMs = 1000,
  onError: (message: string) => void = () => {},
): Checkpointer {
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { file, intervalMs, driver },
  });
  worker.on('message', (m: unknown) => onError(String(m)));
  worker.on('error', (e) => onError(e.message));
  worker.unref();
  return {
    stop: () =>
      new Promise<void>((resolve) => {
        worker.once('exit', () => resolve());
        // Unref'd while running so it never keeps the process alive; re-ref'd while stopping so
        // that awaiting close() with nothing else pending does not let Node exit mid-shutdown.
        worker.ref();
        worker.postMessage('stop');
        // If the worker is stuck in a checkpoint the message waits; never wait forever.
        setTimeout(() => void worker.terminate(), 2000).unref();
      }),
  };
}
