/**
 * The SQL stand-in, started at once in a worker thread: PGlite's start (initdb in WebAssembly) is
 * seconds of CPU with no await in between, which would stall every MCP request on the server's
 * own thread. The worker runs this same module (Node's `isMainThread` pattern), so the bundle
 * needs no separate worker file. In dist/ the build puts a data directory template beside this
 * chunk (tools/build.mjs), so the worker skips initdb too. The worker's fault knobs are not reachable from here: tests that
 * flip them use the in-process emulator (`createSqlEmulator`). Closing terminates the thread, which
 * releases its socket and the in-memory database.
 */
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { SQL_TEMPLATE_FILE, createSqlEmulator, type SqlServer } from './sql-server.js';

const ROLE = 'crdb-encryption-mcp/sandbox-sql';

type FromWorker = { url: string } | { error: string };

/** Worker side: start the emulator and report its URL. */
function serveFromWorker(port: NonNullable<typeof parentPort>): void {
  createSqlEmulator({ template: new URL(`./${SQL_TEMPLATE_FILE}`, import.meta.url) })
    .connectionString()
    .then(
      (url) => port.postMessage({ url } satisfies FromWorker),
      (error: unknown) => port.postMessage({ error: error instanceof Error ? error.message : String(error) } satisfies FromWorker),
    );
}

if (!isMainThread && parentPort && (workerData as { role?: string } | undefined)?.role === ROLE) serveFromWorker(parentPort);

/** Starts the SQL emulator now, in a worker thread; connectionString() resolves once it listens. */
export function startSqlEmulatorInWorker(): SqlServer {
  const worker = new Worker(new URL(import.meta.url), { workerData: { role: ROLE } });
  // The transport keeps the process alive; the SQL stand-in alone must not.
  worker.unref();
  const url = new Promise<string>((resolve, reject) => {
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`the SQL emulator's worker thread exited (code ${code}) before it listened`)));
    worker.once('message', (message: FromWorker) => {
      if ('url' in message) resolve(message.url);
      else reject(new Error(`the SQL emulator failed to start: ${message.error}`));
    });
  });
  // A failed start surfaces on first use, not as an unhandled rejection.
  url.catch(() => {});
  return {
    started: true,
    connectionString: () => url,
    async close() {
      await worker.terminate();
    },
  };
}
