/**
 * AWS KMS key policies as CMEK needs them: the five actions CockroachDB Cloud's role must have,
 * the statements to grant them, and an evaluator that says what a policy grants a principal
 * (missing actions, grants broader than needed). Shared by the AWS provider and the sandbox.
 */

/** What CockroachDB Cloud needs on the key, per its CMEK docs. */
export const CMEK_ACTIONS = ['kms:Encrypt', 'kms:Decrypt', 'kms:GenerateDataKey*', 'kms:DescribeKey', 'kms:ReEncrypt*'] as const;

/** Sid of the statement provisioning writes for CockroachDB's role. */
export const CMEK_STATEMENT_SID = 'AllowCockroachDBCloudCMEK';

export interface PolicyStatement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Principal?: '*' | Record<string, string | string[]>;
  NotPrincipal?: Record<string, string | string[]>;
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: string | string[];
  Condition?: Record<string, unknown>;
}

export interface KeyPolicy {
  Version?: string;
  Id?: string;
  Statement: PolicyStatement[];
}

/** Parses a key policy document; throws Error with the reason when it is not one. */
export function parseKeyPolicy(text: string): KeyPolicy {
  const document: unknown = JSON.parse(text);
  if (!document || typeof document !== 'object' || Array.isArray(document)) throw new Error('the policy is not a JSON object');
  const raw = (document as { Statement?: unknown }).Statement;
  const statements = Array.isArray(raw) ? raw : raw && typeof raw === 'object' ? [raw] : undefined;
  if (!statements || statements.length === 0) throw new Error('the policy has no Statement');
  for (const statement of statements) {
    if (!statement || typeof statement !== 'object') throw new Error('a statement is not an object');
    const { Effect, Action, NotAction, Principal, NotPrincipal } = statement as PolicyStatement;
    if (Effect !== 'Allow' && Effect !== 'Deny') throw new Error(`a statement has Effect ${JSON.stringify(Effect)} (must be Allow or Deny)`);
    if (Action === undefined && NotAction === undefined) throw new Error('a statement has neither Action nor NotAction');
    if (Principal === undefined && NotPrincipal === undefined) throw new Error('a key policy statement must name a Principal');
  }
  return { ...(document as KeyPolicy), Statement: statements as PolicyStatement[] };
}

const list = (value: string | string[] | undefined): string[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

/** IAM-style glob: `*` any run, `?` one character; case-insensitive. */
function glob(pattern: string, text: string): boolean {
  const source = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${source}$`, 'i').test(text);
}

const overlaps = (a: string, b: string) => glob(a, b) || glob(b, a);

function accountOf(principal: string): string | undefined {
  return /^arn:[^:]+:(?:iam|sts)::(\d{12}):/.exec(principal)?.[1];
}

type PrincipalMatch = 'exact' | 'anyone' | 'account' | 'none';

function matchPrincipal(statement: PolicyStatement, principal: string): PrincipalMatch {
  if (statement.NotPrincipal) {
    const excluded = list(statement.NotPrincipal.AWS).some((p) => p.toLowerCase() === principal.toLowerCase());
    return excluded ? 'none' : 'anyone';
  }
  if (statement.Principal === '*') return 'anyone';
  const values = list(statement.Principal?.AWS);
  if (values.includes('*')) return 'anyone';
  if (values.some((p) => p.toLowerCase() === principal.toLowerCase())) return 'exact';
  const account = accountOf(principal);
  if (account && values.some((p) => p === account || p === `arn:aws:iam::${account}:root` || new RegExp(`^arn:[^:]+:iam::${account}:root$`).test(p))) {
    return 'account';
  }
  return 'none';
}

function coversAction(statement: PolicyStatement, action: string): boolean {
  if (statement.NotAction !== undefined) return !list(statement.NotAction).some((p) => overlaps(p, action));
  return list(statement.Action).some((p) => glob(p, action));
}

/** What a key policy grants one principal, for CMEK. */
export interface CmekGrantEvaluation {
  /** CMEK actions the principal lacks (or is explicitly denied). */
  missing: string[];
  /** Grants broader than CMEK needs: kms:*, anyone, actions beyond the five. */
  broader: string[];
  /** Sids (or indexes) of Allow statements whose Condition this evaluator did not check. */
  conditional: string[];
  /** True when the policy lets the principal's account grant access through IAM policies. */
  delegatedToAccount: boolean;
}

/** Evaluates what `policy` grants `principal` (an IAM role ARN) among the CMEK actions. */
export function evaluateCmekGrant(policy: KeyPolicy, principal: string): CmekGrantEvaluation {
  const granted = new Set<string>();
  const denied = new Set<string>();
  const broader: string[] = [];
  const conditional: string[] = [];
  let delegatedToAccount = false;
  policy.Statement.forEach((statement, index) => {
    const name = statement.Sid ? `statement "${statement.Sid}"` : `statement #${index + 1}`;
    const match = matchPrincipal(statement, principal);
    if (match === 'none') return;
    if (statement.Effect === 'Deny') {
      if (match === 'account') return;
      for (const action of CMEK_ACTIONS) {
        const hit = statement.NotAction !== undefined ? coversAction(statement, action) : list(statement.Action).some((p) => overlaps(p, action));
        if (hit) denied.add(action);
      }
      return;
    }
    if (match === 'account') {
      if (CMEK_ACTIONS.some((action) => coversAction(statement, action))) delegatedToAccount = true;
      return;
    }
    const hasCondition = statement.Condition !== undefined && Object.keys(statement.Condition).length > 0;
    const actions = list(statement.Action);
    if (match === 'anyone') {
      if (!hasCondition)
        broader.push(
          `${name} allows ${statement.NotAction ? 'everything except ' + list(statement.NotAction).join(', ') : actions.join(', ')} to anyone (Principal "*")`,
        );
      // A wildcard principal narrowed by conditions is not counted as a grant: they were not evaluated.
      if (hasCondition) return;
    } else if (statement.NotAction !== undefined) {
      broader.push(`${name} allows ${principal} every action except ${list(statement.NotAction).join(', ')}`);
    } else {
      const wildcard = actions.filter((a) => a === '*' || a.toLowerCase() === 'kms:*');
      if (wildcard.length > 0) broader.push(`${name} grants ${wildcard.join(', ')} to ${principal}`);
      const extra = actions.filter((a) => !wildcard.includes(a) && !CMEK_ACTIONS.some((needed) => overlaps(a, needed)));
      if (extra.length > 0) broader.push(`${name} also allows ${principal} ${extra.join(', ')}, which CMEK does not need`);
    }
    if (hasCondition) conditional.push(name);
    for (const action of CMEK_ACTIONS) if (coversAction(statement, action)) granted.add(action);
  });
  const missing = CMEK_ACTIONS.filter((action) => !granted.has(action) || denied.has(action));
  return { missing, broader, conditional, delegatedToAccount };
}

/** The account-root statement every key policy should keep, so IAM admins never lose the key. */
export function rootStatement(account: string, partition = 'aws'): PolicyStatement {
  return {
    Sid: 'EnableRootAccountAdministration',
    Effect: 'Allow',
    Principal: { AWS: `arn:${partition}:iam::${account}:root` },
    Action: 'kms:*',
    Resource: '*',
  };
}

/** The statement granting CockroachDB's role exactly the CMEK actions. */
export function cmekStatement(role: string): PolicyStatement {
  return { Sid: CMEK_STATEMENT_SID, Effect: 'Allow', Principal: { AWS: role }, Action: [...CMEK_ACTIONS], Resource: '*' };
}

/** A key policy for a new CMEK key: root administration plus the CMEK role statement. */
export function cmekKeyPolicy(account: string, role: string, partition = 'aws'): KeyPolicy {
  return { Version: '2012-10-17', Id: 'crdb-cmek-key-policy', Statement: [rootStatement(account, partition), cmekStatement(role)] };
}

/** `policy` with the CMEK statement for `role` added (replacing an earlier one with the same Sid). */
export function withCmekStatement(policy: KeyPolicy, role: string): KeyPolicy {
  const kept = policy.Statement.filter((statement) => statement.Sid !== CMEK_STATEMENT_SID);
  return { ...policy, Statement: [...kept, cmekStatement(role)] };
}

/** Whether the account root (hence its IAM admins) may still change the policy: AWS's lockout check. */
export function allowsPolicyUpdates(policy: KeyPolicy, account: string): boolean {
  return policy.Statement.some((statement) => {
    if (statement.Effect !== 'Allow') return false;
    const values = statement.Principal === '*' ? ['*'] : list(statement.Principal?.AWS);
    const root = values.some((p) => p === '*' || p === account || new RegExp(`^arn:[^:]+:iam::${account}:root$`).test(p));
    return root && coversAction(statement, 'kms:PutKeyPolicy');
  });
}

/** The trust policy of the IAM role CockroachDB Cloud assumes: the cluster's account, External ID = org id. */
export function cmekRoleTrustPolicy(clusterAccountId: string, organizationId: string, partition = 'aws'): object {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { AWS: `arn:${partition}:iam::${clusterAccountId}:root` },
        Action: 'sts:AssumeRole',
        Condition: { StringEquals: { 'sts:ExternalId': organizationId } },
      },
    ],
  };
}
