/**
 * First SQL-backed answer on the sandbox: spawn the built server with --sandbox, initialize, stay
 * quiet for a while (an IDE starts the server long before the first question), then time one
 * verify_encryption_sql call on the seeded self-hosted target. The goal is 1.5 s after a 4 s
 * quiet start; the same call on a warm server is the floor.
 *
 * Standalone: npx tsx tools/bench/first-sql.ts [quietMs] [repeats]
 */
import { pathToFileURL } from 'node:url';
import { median, probeServer } from './stdio-probe.js';

export interface FirstSqlBenchResult {
  quietMs: number;
  repeats: number;
  /** Median time of the first SQL-backed call after the quiet start. */
  firstAnswerMs: number;
  /** Median time of the same call once everything is loaded. */
  warmAnswerMs: number;
  /** Goal for firstAnswerMs. */
  goalMs: number;
}

const CALL = { name: 'verify_encryption_sql', arguments: { connection: 'selfhosted' } };

async function timedCall(request: (method: string, params?: unknown) => Promise<{ result?: any; error?: any }>): Promise<number> {
  const start = process.hrtime.bigint();
  const answer = await request('tools/call', CALL);
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (answer.error || answer.result?.isError) throw new Error(`verify_encryption_sql failed: ${JSON.stringify(answer).slice(0, 500)}`);
  return ms;
}

/** Runs the measurement `repeats` times against `dist/index.js --sandbox`. */
export async function benchFirstSqlAnswer(options: {
  entry: string;
  env: NodeJS.ProcessEnv;
  quietMs?: number;
  repeats?: number;
}): Promise<FirstSqlBenchResult> {
  const quietMs = options.quietMs ?? 4000;
  const repeats = options.repeats ?? 3;
  const first: number[] = [];
  const warm: number[] = [];
  for (let round = 0; round < repeats; round++) {
    const probe = await probeServer(process.execPath, [options.entry, '--sandbox'], options.env);
    try {
      await new Promise((resolve) => setTimeout(resolve, quietMs));
      first.push(await timedCall(probe.request));
      warm.push(await timedCall(probe.request));
    } finally {
      await probe.close();
    }
  }
  return { quietMs, repeats, firstAnswerMs: Math.round(median(first)), warmAnswerMs: Math.round(median(warm)), goalMs: 1500 };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const root = new URL('../..', import.meta.url).pathname;
  const result = await benchFirstSqlAnswer({
    entry: `${root}dist/index.js`,
    env: { PATH: process.env.PATH, HOME: `${root}.tmp/bench/home` },
    quietMs: Number(process.argv[2] ?? 4000),
    repeats: Number(process.argv[3] ?? 3),
  });
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
