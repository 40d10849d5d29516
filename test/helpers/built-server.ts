/**
 * The BUILT server (`node dist/index.js`, built by `npm test` before vitest) as a child process
 * serving Streamable HTTP on a free port.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export const DIST = join(process.cwd(), 'dist', 'index.js');

/** Starts `node dist/index.js <args> --transport http --port 0` and resolves with the URL it announces. */
export async function startBuiltHttpServer(args: string[], env?: NodeJS.ProcessEnv): Promise<{ child: ChildProcess; url: string }> {
  if (!existsSync(DIST)) throw new Error(`${DIST} is missing: run \`npm run build\` before this test (npm test does it).`);
  const child = spawn(process.execPath, [DIST, ...args, '--transport', 'http', '--port', '0'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  const url = await new Promise<string>((resolve, reject) => {
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      const match = /listening on (http:\/\/\S+\/mcp)/.exec(stderr);
      if (match) resolve(match[1]!);
    });
    child.once('exit', (code) => reject(new Error(`server exited (${code}): ${stderr}`)));
  });
  return { child, url };
}

/** Stops a child started above (SIGTERM) and waits for it to exit. */
export async function stopChild(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}
