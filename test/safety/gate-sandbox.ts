/**
 * Per-file fixture of the per-era gate tests: one sandbox (Cloud API reset before each test,
 * servers closed after), the keys each test may touch, and deletions counted at the AWS KMS
 * emulator since the test began.
 */
import { beforeEach } from 'vitest';
import type { Sandbox } from '../../src/sandbox/index.js';
import { AWS_KEYS, awsKeyArn } from '../../src/sandbox/seed.js';
import type { TestServer } from '../helpers/harness.js';
import { useSandboxPerFile } from '../tools/cmek-helpers.js';

/** The KMS state is not reset between tests: only the approving test deletes, and it has its own key. */
export const GATE_KEYS = {
  /** Refusals only. */
  unused: awsKeyArn(AWS_KEYS.unused),
  /** The one approved deletion. */
  approved: awsKeyArn(AWS_KEYS.prodEastNextWest),
  /** Rotated onto by prod-east while the form is open. */
  raced: awsKeyArn(AWS_KEYS.prodEastNext),
};

/** An approving answer to the confirmation form. */
export const approveAnswer = (name: string): { action: 'accept'; content: Record<string, string> } => ({
  action: 'accept',
  content: { confirm_name: name, decision: 'approve' },
});

export interface GateSandbox {
  sandbox(): Sandbox;
  /** ScheduleKeyDeletion and DisableKey calls at the KMS emulator since the test began. */
  deletions(): number;
  /** Closed after each test. */
  servers: TestServer[];
}

export function useGateSandbox(): GateSandbox {
  let sandbox: Sandbox | undefined;
  const servers = useSandboxPerFile((ready) => (sandbox = ready));
  const count = () => sandbox!.aws.log.count({ operation: /ScheduleKeyDeletion|DisableKey/ });
  let before = 0;
  beforeEach(() => {
    before = count();
  });
  return { sandbox: () => sandbox!, deletions: () => count() - before, servers };
}

/** Human refusals of the form on GATE_KEYS.unused: label, answer, what the text says, audit outcome, verdict. */
export const FORM_REFUSALS: Array<[string, { action: 'accept' | 'decline' | 'cancel'; content?: Record<string, string> }, RegExp, string, string]> = [
  ['decline', { action: 'decline' }, /You declined/, 'declined', 'declined'],
  ['cancel', { action: 'cancel' }, /was cancelled/, 'declined', 'cancelled'],
  ['wrong name', approveAnswer('not-the-key'), /did not match/, 'declined', 'name_mismatch'],
  [
    'reject choice with the right name',
    { action: 'accept', content: { confirm_name: AWS_KEYS.unused.id, decision: 'reject' } },
    /You chose reject/,
    'declined',
    'rejected',
  ],
];
