/**
 * Single use across processes without --audit-db: the spent-confirmation file under the state
 * directory, raced by separate Node processes that each run their own confirmation gate.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { buildConfig } from '../../src/config.js';
import { createConfirmationGate, spentConfirmationsPath } from '../../src/safety/confirm.js';
import { createFileTokenStore } from '../../src/safety/token-store.js';
import type { ConfirmationRequest } from '../../src/safety/types.js';
import { tempDir } from '../helpers/harness.js';

const request: ConfirmationRequest = {
  tool: 'revoke_cmek',
  targetName: 'prod',
  targetDescription: 'cluster prod (3b1f)',
  action: 'Revoke CMEK on prod.',
  consequences: ['The cluster stops serving.'],
  reversibility: 'Needs Cockroach Labs support to undo.',
  params: { cluster: 'prod' },
  targetState: { status: 'ENABLED' },
};
const noForms = { supportsFormElicitation: () => false, elicit: () => Promise.reject(new Error('no forms')) };
const SECRET = 'a-shared-secret-of-32-characters!';

describe('file store of spent confirmations', () => {
  it('is single use, forgets expired nonces, and keeps its file private', async () => {
    const path = join(tempDir(), 'state', 'spent.json');
    const store = createFileTokenStore(path);
    expect(await store.consume('n1', 100, 0)).toBe(true);
    expect(await store.consume('n1', 100, 50)).toBe(false);
    expect(await createFileTokenStore(path).consume('n1', 100, 60)).toBe(false);
    expect(await store.consume('n2', 300, 200)).toBe(true);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual({ n2: 300 });
    expect((await import('node:fs')).statSync(path).mode & 0o777).toBe(0o600);
    expect(existsSync(`${path}.lock`)).toBe(false);
  });

  it('refuses to guess when the file is not its own', async () => {
    const path = join(tempDir(), 'spent.json');
    writeFileSync(path, '["not", "a", "map"]');
    await expect(createFileTokenStore(path).consume('n1', 100, 0)).rejects.toThrow(/not a spent-confirmation file/);
  });

  it('is the default without --audit-db: a token spent by one server process is refused by another sharing the state dir', async () => {
    const auditLog = join(tempDir(), 'audit.jsonl');
    const config = buildConfig({ auditLog, dangerouslyAllowTokenConfirmation: true, confirmSecret: SECRET });
    const issued = await createConfirmationGate({ config, now: () => 0 })(noForms)(request);
    const token = (issued as { token: string }).token;

    const script = join(tempDir(), 'spend.mts');
    const gateModule = fileURLToPath(new URL('../../src/safety/confirm.ts', import.meta.url));
    const configModule = fileURLToPath(new URL('../../src/config.ts', import.meta.url));
    writeFileSync(
      script,
      `import { existsSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { createConfirmationGate } from ${JSON.stringify(gateModule)};
import { buildConfig } from ${JSON.stringify(configModule)};
const [auditLog, token, name, go] = process.argv.slice(2);
const config = buildConfig({ auditLog, dangerouslyAllowTokenConfirmation: true, confirmSecret: ${JSON.stringify(SECRET)} });
const confirm = createConfirmationGate({ config, now: () => 0 })({ supportsFormElicitation: () => false, elicit: () => Promise.reject(new Error('no')) });
const request = ${JSON.stringify(request)};
writeFileSync(go + '.' + name, '');
while (!existsSync(go)) await sleep(2);
const result = await confirm({ ...request, token });
process.stdout.write(JSON.stringify(result.approved ? 'approved' : result.reason));
`,
    );
    const go = join(tempDir(), 'go');
    const run = (name: string) =>
      new Promise<string>((resolve, reject) => {
        let out = '';
        const child = spawn(process.execPath, ['--import', 'tsx', script, auditLog, token, name, go], { stdio: ['ignore', 'pipe', 'inherit'] });
        child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
        child.on('error', reject);
        child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as string) : reject(new Error(`child ${name} exited ${code}`))));
      });
    const names = ['p1', 'p2', 'p3', 'p4'];
    const runs = Promise.all(names.map(run));
    while (!names.every((name) => existsSync(`${go}.${name}`))) await new Promise((resolve) => setTimeout(resolve, 5));
    writeFileSync(go, '');
    const verdicts = await runs;
    expect(verdicts.filter((verdict) => verdict === 'approved')).toHaveLength(1);
    expect(verdicts.filter((verdict) => verdict === 'replayed')).toHaveLength(3);
    // And this process, sharing the state dir, sees it spent too.
    expect(await createConfirmationGate({ config, now: () => 0 })(noForms)({ ...request, token })).toMatchObject({ approved: false, reason: 'replayed' });
    expect(Object.keys(JSON.parse(readFileSync(spentConfirmationsPath(config), 'utf8')))).toHaveLength(1);
  }, 60_000);
});
