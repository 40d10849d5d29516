import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CMEK_ACTIONS,
  allowsPolicyUpdates,
  cmekKeyPolicy,
  evaluateCmekGrant,
  parseKeyPolicy,
  rootStatement,
  withCmekStatement,
  type KeyPolicy,
  type PolicyStatement,
} from '../../src/kms/providers/aws/policy.js';

const ACCOUNT = '111122223333';
const ROLE = `arn:aws:iam::${ACCOUNT}:role/crdb-cmek`;
const policy = (...statements: PolicyStatement[]): KeyPolicy => ({ Statement: [rootStatement(ACCOUNT), ...statements] });
const allow = (action: string | string[], extra: Partial<PolicyStatement> = {}): PolicyStatement => ({
  Effect: 'Allow',
  Principal: { AWS: ROLE },
  Action: action,
  Resource: '*',
  ...extra,
});

describe('evaluateCmekGrant', () => {
  it('reports exactly the CMEK actions not granted, for any subset', () => {
    fc.assert(
      fc.property(fc.subarray([...CMEK_ACTIONS]), (granted) => {
        const result = evaluateCmekGrant(policy(...(granted.length ? [allow(granted)] : [])), ROLE);
        expect(result.missing).toEqual(CMEK_ACTIONS.filter((a) => !granted.includes(a)));
        expect(result.broader).toEqual([]);
      }),
    );
  });

  it('matches wildcards and case like IAM, strictly for the * families', () => {
    expect(evaluateCmekGrant(policy(allow(['kms:encrypt', 'KMS:Decrypt', 'kms:Generate*', 'kms:Describe*', 'kms:ReEncrypt*'])), ROLE).missing).toEqual([]);
    expect(
      evaluateCmekGrant(policy(allow(['kms:Encrypt', 'kms:Decrypt', 'kms:GenerateDataKey', 'kms:DescribeKey', 'kms:ReEncryptFrom'])), ROLE).missing,
    ).toEqual(['kms:GenerateDataKey*', 'kms:ReEncrypt*']);
    expect(evaluateCmekGrant(policy(allow('kms:*')), ROLE)).toMatchObject({ missing: [], broader: [`statement #2 grants kms:* to ${ROLE}`] });
  });

  it('lets explicit Deny win and flags NotAction and extra actions as broader', () => {
    expect(evaluateCmekGrant(policy(allow('kms:*'), { Effect: 'Deny', Principal: '*', Action: 'kms:Decrypt' }), ROLE).missing).toEqual(['kms:Decrypt']);
    const notAction = evaluateCmekGrant(policy({ Effect: 'Allow', Principal: { AWS: [ROLE] }, NotAction: 'kms:ScheduleKeyDeletion' }), ROLE);
    expect(notAction.missing).toEqual([]);
    expect(notAction.broader[0]).toContain('every action except kms:ScheduleKeyDeletion');
    const extra = evaluateCmekGrant(policy(allow([...CMEK_ACTIONS, 'kms:ScheduleKeyDeletion'], { Sid: 'X' })), ROLE);
    expect(extra.broader).toEqual([`statement "X" also allows ${ROLE} kms:ScheduleKeyDeletion, which CMEK does not need`]);
  });

  it('treats account delegation and conditional wildcards as not granting the role', () => {
    const delegated = evaluateCmekGrant(policy(), ROLE);
    expect(delegated).toMatchObject({ missing: [...CMEK_ACTIONS], delegatedToAccount: true });
    const conditionalAnyone = evaluateCmekGrant(
      policy({ Effect: 'Allow', Principal: '*', Action: 'kms:*', Condition: { StringEquals: { 'kms:CallerAccount': ACCOUNT } } }),
      ROLE,
    );
    expect(conditionalAnyone).toMatchObject({ missing: [...CMEK_ACTIONS], broader: [] });
    const conditionalRole = evaluateCmekGrant(policy(allow([...CMEK_ACTIONS], { Sid: 'C', Condition: { Bool: { 'aws:SecureTransport': 'true' } } })), ROLE);
    expect(conditionalRole).toMatchObject({ missing: [], conditional: ['statement "C"'] });
    expect(evaluateCmekGrant(policy({ Effect: 'Allow', Principal: { AWS: '*' }, Action: 'kms:Decrypt' }), ROLE).broader).toHaveLength(1);
  });
});

describe('policy documents', () => {
  it('builds the CMEK policy, merges the statement once, and keeps the root able to update it', () => {
    const built = cmekKeyPolicy(ACCOUNT, ROLE);
    expect(evaluateCmekGrant(built, ROLE)).toMatchObject({ missing: [], broader: [] });
    expect(allowsPolicyUpdates(built, ACCOUNT)).toBe(true);
    const merged = withCmekStatement(withCmekStatement(policy(), ROLE), ROLE);
    expect(merged.Statement).toHaveLength(2);
    expect(allowsPolicyUpdates({ Statement: [allow('kms:*')] }, ACCOUNT)).toBe(false);
  });

  it('parses single statements and rejects malformed ones with a reason', () => {
    expect(parseKeyPolicy(JSON.stringify({ Statement: rootStatement(ACCOUNT) })).Statement).toHaveLength(1);
    expect(() => parseKeyPolicy('[]')).toThrow('not a JSON object');
    expect(() => parseKeyPolicy('{}')).toThrow('no Statement');
    expect(() => parseKeyPolicy(JSON.stringify({ Statement: [{ Effect: 'Permit', Principal: '*', Action: '*' }] }))).toThrow('Effect');
    expect(() => parseKeyPolicy(JSON.stringify({ Statement: [{ Effect: 'Allow', Action: '*' }] }))).toThrow('Principal');
  });
});
