import { it } from 'vitest';
import { startSandbox } from '../../../src/sandbox/index.js';
import { AWS_CMEK_ROLE, AWS_KEYS, awsKeyArn } from '../../../src/sandbox/seed.js';
import { callTool } from '../../helpers/harness.js';
import { startCmekServer } from '../../tools/cmek-helpers.js';
it('probe', async () => {
  const sandbox = await startSandbox({ cmekTransitionMs: 30, rateLimitPerSecond: 1000 });
  const s = await startCmekServer(sandbox, { cloud: { rateLimitPerSecond: 1000 } });
  for (const dry of [true, false]) {
    const r = await callTool(s.client, 'enable_cmek', { cluster: 'web-standard', keys: { 'us-east-1': awsKeyArn(AWS_KEYS.prodEastNext) }, auth_principal: AWS_CMEK_ROLE, dry_run: dry });
    console.log(dry, r.isError, r.text, sandbox.cloud.log.entries.map((e) => `${e.method} ${e.operation} ${e.status}`));
  }
  await s.close(); await sandbox.stop();
}, 60000);
