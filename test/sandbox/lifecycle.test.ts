import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const script = fileURLToPath(new URL('./fixtures/lifecycle.ts', import.meta.url));
const tsx = fileURLToPath(new URL('../../node_modules/tsx/dist/cli.mjs', import.meta.url));

describe('sandbox lifecycle', () => {
  it('starting, using and stopping every emulator leaves no handle open: the process exits by itself', async () => {
    const child = spawn(process.execPath, [tsx, script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const outcome = await new Promise<{ code: number | null; hung: boolean }>((resolve) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        resolve({ code: null, hung: true });
      }, 45_000);
      child.on('exit', (code) => {
        clearTimeout(timer);
        resolve({ code, hung: false });
      });
    });
    expect(outcome.hung, `still running after stop(); stdout: ${stdout}; stderr: ${stderr.slice(-2000)}`).toBe(false);
    expect(outcome.code, stderr.slice(-2000)).toBe(0);
    expect(stdout).toContain('stopped');
  }, 60_000);
});
