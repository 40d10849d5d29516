/**
 * gather_encryption_context: turns (tier, reason, provider) into the procedure to follow, or into
 * the exact questions still open. Missing arguments are asked for, never guessed.
 */
import { cmekProcedure, providerFacts } from './cmek-procedures.js';
import { CERTS_SKILL, CMEK_SKILL, bullets, sections, steps, type PromptPlan, type SkillRef } from './plan.js';
import { selfHostedProcedure } from './self-hosted-procedures.js';
import { skillUri } from '../skills/uri.js';
import { PROVIDERS, REASONS, TIERS, parseChoice, throwIfProblems, type Provider, type Reason, type Tier } from './vocabulary.js';

/** The four procedures the context can route to. */
export type Route = 'certificate-management' | 'cmek-key-management' | 'managed-tls' | 'fully-managed';

export const ROUTE_TITLES: Record<Route, string> = {
  'certificate-management': 'Certificate management (self-hosted)',
  'cmek-key-management': 'CMEK key management',
  'managed-tls': 'Managed TLS (CockroachDB Cloud)',
  'fully-managed': 'Fully managed (CMEK needs Advanced)',
};

/** Whether a reason is about TLS certificates rather than encryption keys. */
export function isTlsReason(reason: Reason): reason is 'Add SAN entries' {
  return reason === 'Add SAN entries';
}

/** The route for a tier and (where it matters) a reason. */
export function routeFor(tier: Tier, reason: Reason | undefined): Route | undefined {
  if (tier === 'Self-Hosted') return 'certificate-management';
  if (tier === 'Standard' || tier === 'Basic') return 'fully-managed';
  if (!reason) return undefined;
  return isTlsReason(reason) ? 'managed-tls' : 'cmek-key-management';
}

export interface EncryptionContext {
  tier?: Tier;
  reason?: Reason;
  provider?: Provider;
}

const WHY = {
  tier: 'It decides who holds the keys and certificates. Self-Hosted clusters manage their own TLS certificates and encryption-at-rest store keys; Advanced and BYOC clusters on CockroachDB Cloud can use customer-managed keys (CMEK); Standard and Basic are fully managed and cannot use CMEK.',
  reason:
    'It picks the procedure: monitoring and audits only read; a scheduled rotation changes keys or certificates; a key compromise needs containment before anything else; adding SAN entries is a TLS task, not a key task.',
  provider:
    'CMEK key URIs, the principal CockroachDB uses and the grants differ per cloud (AWS key ARN + IAM role with External ID; GCP key name without version + service account; Azure versioned key id + tenant id), and so does the KMS audit log to check. The key must be in the same cloud as the cluster.',
};

const HOW_TO_FIND = {
  tier: 'If the operator is unsure: `list_clusters` shows each CockroachDB Cloud cluster with its plan (BASIC, STANDARD, ADVANCED) and BYOC account; a cluster that is not in CockroachDB Cloud is Self-Hosted. Confirm with the operator.',
  reason: '',
  provider:
    'If the operator is unsure: `list_clusters` or `check_cmek_eligibility {"cluster": "my-cluster"}` shows `cloud_provider`. Confirm with the operator.',
};

type Question = keyof typeof WHY;

/** Which arguments are still needed to choose (and carry out) a procedure. */
export function missingArguments(context: EncryptionContext): Question[] {
  const missing: Question[] = [];
  if (!context.tier) missing.push('tier');
  const needsReason = !context.tier || context.tier === 'Self-Hosted' || context.tier === 'Advanced' || context.tier === 'BYOC';
  if (needsReason && !context.reason) missing.push('reason');
  const mayBeCmekTier = !context.tier || context.tier === 'Advanced' || context.tier === 'BYOC';
  if (mayBeCmekTier && !context.provider && (!context.reason || !isTlsReason(context.reason))) missing.push('provider');
  return missing;
}

const VALUES: Record<Question, readonly string[]> = { tier: TIERS, reason: REASONS, provider: PROVIDERS };

function questionsPlan(context: EncryptionContext, missing: Question[]): PromptPlan {
  const known = Object.entries(context).filter(([, value]) => value !== undefined);
  const asks = missing.map((question) => {
    const label = question[0]!.toUpperCase() + question.slice(1);
    const condition = question === 'provider' && !context.tier ? ' (only if the tier is Advanced or BYOC)' : '';
    const lines = [`**${label}**${condition}: one of ${VALUES[question].join(', ')}.`, `   Why it matters: ${WHY[question]}`];
    if (HOW_TO_FIND[question]) lines.push(`   ${HOW_TO_FIND[question]}`);
    return lines.join('\n');
  });
  return {
    text: sections(
      '# Gather encryption context',
      `Before choosing a procedure, ask the operator for what is missing and wait for the answers. Do not guess: a wrong tier or provider leads to the wrong keys or certificates being changed.`,
      known.length ? `Known so far: ${known.map(([key, value]) => `${key} = ${value}`).join(', ')}.` : 'Nothing is known yet.',
      `Missing (${missing.length}):\n${steps(asks)}`,
      'Then call this prompt (`gather_encryption_context`) again with tier, reason and provider, and follow the procedure it returns.',
    ),
    embed: [],
  };
}

function fullyManagedPlan(context: EncryptionContext): PromptPlan {
  const tier = context.tier!;
  return {
    text: sections(
      `# Route: ${ROUTE_TITLES['fully-managed']}`,
      contextLine(context),
      `${tier} clusters are fully managed by Cockroach Labs: TLS certificates and encryption at rest are handled for you, with Cockroach Labs' keys. There are no customer keys to rotate and no certificates to renew.`,
      `Customer-managed encryption keys (CMEK) need an **Advanced** cluster created with the advanced security add-on. A ${tier} cluster cannot be switched to CMEK in place: the upgrade path is a new private Advanced cluster with advanced security, then migrating the data (for example with BACKUP and RESTORE), then moving clients.`,
      `Steps:\n${steps([
        '`list_clusters` to identify the cluster; `check_cmek_eligibility {"cluster": "my-cluster"}` confirms the plan and states the upgrade path.',
        'If CMEK is a requirement (compliance, key ownership), plan the Advanced cluster and use the `enable_cmek_guided` prompt on it once created.',
        'For audits: `audit_encryption_posture` lists these clusters as "CMEK not available on plan" (low severity) with the control mapping; request Cockroach Labs\' own compliance reports for the managed encryption.',
      ])}`,
      context.reason === 'Add SAN entries'
        ? 'SAN entries: node certificates on CockroachDB Cloud are managed; connect through the DNS names the cluster provides.'
        : undefined,
      'Next: confirm with the operator whether CMEK is a hard requirement; if not, nothing needs to change.',
    ),
    embed: [{ skill: CERTS_SKILL, file: 'managed-tls.md' }],
  };
}

function managedTlsPlan(context: EncryptionContext): PromptPlan {
  return {
    text: sections(
      `# Route: ${ROUTE_TITLES['managed-tls']}`,
      contextLine(context),
      `On ${context.tier} clusters Cockroach Labs issues, renews and rotates the node certificates, including their SAN entries; there is no API to change them. Only the **client CA** (for client certificate authentication) is customer-managed, through \`/api/v1/clusters/{id}/client-ca-cert\`.`,
      `Steps:\n${steps([
        'Ask which name or address the operator wants covered and why (a custom hostname, a load balancer, a private endpoint).',
        'Explain that node certificates cannot carry custom SANs on Cloud: clients must connect through the DNS names the cluster provides (public, or the private endpoint names for PrivateLink / Private Service Connect) with `sslmode=verify-full` and the cluster CA from the Cloud Console.',
        'If the goal is client certificate authentication, manage the client CA (set, update with a bundle of old + new during rotation, then remove the old one).',
        'If the real concern is the data-at-rest key, run `gather_encryption_context` again with a CMEK reason (Scheduled rotation, Key compromise, Compliance audit, Routine monitoring).',
      ])}`,
      `Skill: \`${skillUri(CERTS_SKILL)}\`; the managed TLS reference is embedded below.`,
      'Next: tell the operator which connection names to use, or whether the client CA is what needs changing.',
    ),
    embed: [{ skill: CERTS_SKILL, file: 'managed-tls.md' }],
  };
}

function contextLine(context: EncryptionContext): string {
  return `Context: tier = ${context.tier ?? 'not given'}, reason = ${context.reason ?? 'not given'}, provider = ${context.provider ?? 'not given'}.`;
}

function cmekPlan(context: EncryptionContext): PromptPlan {
  const { tier, reason, provider } = context as Required<EncryptionContext>;
  if (isTlsReason(reason)) return managedTlsPlan(context);
  const procedure = cmekProcedure(reason);
  const facts = providerFacts(provider);
  const embed: SkillRef[] = [{ skill: CMEK_SKILL, file: facts.reference }, ...procedure.embed];
  return {
    text: sections(
      `# Route: ${ROUTE_TITLES['cmek-key-management']} (${facts.kms})`,
      contextLine(context),
      tier === 'BYOC'
        ? 'BYOC: the cluster runs in your own cloud account (`customer_cloud_account`). CMEK works as on any Advanced cluster, with the key in your account.'
        : undefined,
      `## ${reason}\n${procedure.text}`,
      `## ${facts.kms} specifics\n${bullets(facts.lines)}`,
      `## Safety checkpoints\n${bullets(procedure.checkpoints)}`,
      `Skill: \`${skillUri(CMEK_SKILL)}\`; the ${facts.kms} procedure${procedure.embed.length ? ' and the procedure reference are' : ' is'} embedded below.`,
      `Next: ${procedure.next}`,
    ),
    embed,
  };
}

function certificatePlan(context: EncryptionContext): PromptPlan {
  const procedure = selfHostedProcedure(context.reason!);
  return {
    text: sections(
      `# Route: ${ROUTE_TITLES['certificate-management']}`,
      contextLine(context),
      "Self-hosted clusters own their TLS certificates and their encryption-at-rest store keys. You need a SQL connection (a URL or a target configured with `--sql-target`) and, to inspect files, the certs directory of a node. Ask for the CockroachDB version: from v26.1 `crdb_internal` needs `SET allow_unsafe_internals = true`, and CockroachDB logs each such access on the SENSITIVE_ACCESS channel; the tools say so and read `/_status/vars` (or `/_status/certificates`) instead when given an HTTP URL (`http_url`, a node's DB Console address). Client certificate expiry is per SQL user and only `/_status/vars` has it that way.",
      context.provider ? `Provider ${context.provider} does not change this procedure (self-hosted certificates are not cloud-managed).` : undefined,
      `## ${context.reason}\n${procedure.text}`,
      `## Safety checkpoints\n${bullets(procedure.checkpoints)}`,
      `Skill: \`${skillUri(CERTS_SKILL)}\`; the relevant reference is embedded below.`,
      `Next: ${procedure.next}`,
    ),
    embed: procedure.embed,
  };
}

/**
 * The gather_encryption_context prompt. Throws PromptArgumentError (listing the valid values) for
 * an argument outside its vocabulary.
 */
export function gatherEncryptionContext(args: { tier?: string; reason?: string; provider?: string }): PromptPlan {
  const problems: string[] = [];
  const context: EncryptionContext = {
    tier: parseChoice('tier', args.tier, TIERS, problems),
    reason: parseChoice('reason', args.reason, REASONS, problems),
    provider: parseChoice('provider', args.provider, PROVIDERS, problems),
  };
  throwIfProblems(problems);
  const missing = missingArguments(context);
  if (missing.length) return questionsPlan(context, missing);
  switch (routeFor(context.tier!, context.reason)) {
    case 'certificate-management':
      return certificatePlan(context);
    case 'fully-managed':
      return fullyManagedPlan(context);
    case 'managed-tls':
      return managedTlsPlan(context);
    default:
      return cmekPlan(context);
  }
}
