import { describe, expect, it } from 'vitest';
import { buildConfig } from '../../src/config.js';
import { createConfirmationGate } from '../../src/safety/confirm.js';
import type { ElicitationAnswer, ElicitationSession } from '../../src/safety/elicitation-session.js';
import { createMemoryTokenStore } from '../../src/safety/token-store.js';
import type { ConfirmationRequest } from '../../src/safety/types.js';

const request: ConfirmationRequest = {
  tool: 'revoke_cmek',
  targetName: 'prod-east',
  targetDescription: 'cluster prod-east (3b1f)',
  action: 'Revoke CMEK on prod-east.',
  consequences: ['Restarted nodes cannot rejoin.'],
  reversibility: 'Only support can restore.',
  params: { cluster: 'prod-east' },
  targetState: { status: 'ENABLED' },
};

function sessionAnswering(answer: unknown): ElicitationSession {
  return { supportsFormElicitation: () => true, elicit: async () => answer as ElicitationAnswer };
}

describe('confirmation gate answers', () => {
  const gate = createConfirmationGate({ config: buildConfig({ auditLog: '/unused/audit.jsonl' }), now: () => 0, tokenStore: createMemoryTokenStore() });
  const approve = { decision: 'approve', confirm_name: 'prod-east' };

  it('approves only accept + approve + the exact name', async () => {
    await expect(gate(sessionAnswering({ action: 'accept', content: approve }))(request)).resolves.toEqual({ approved: true, via: 'elicitation' });
  });

  it.each([
    ['an unknown action with approving content', { action: 'yes', content: approve }, 'error'],
    ['a missing action', { content: approve }, 'error'],
    ['accept without content', { action: 'accept' }, 'rejected'],
    ['accept with a decision of another case', { action: 'accept', content: { decision: 'Approve', confirm_name: 'prod-east' } }, 'rejected'],
    ['accept with the name in another case', { action: 'accept', content: { decision: 'approve', confirm_name: 'PROD-EAST' } }, 'name_mismatch'],
    ['accept with a non-string name', { action: 'accept', content: { decision: 'approve', confirm_name: ['prod-east'] } }, 'name_mismatch'],
  ])('refuses %s', async (_label, answer, reason) => {
    const result = await gate(sessionAnswering(answer))(request);
    expect(result).toMatchObject({ approved: false, reason });
  });
});
