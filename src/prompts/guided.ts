/**
 * The guided prompts: enable, rotate, respond to a key compromise, compliance audit. Each names the
 * tools to call in order, with the safety checkpoints between them.
 */
import { CMEK_CHECKPOINTS, providerFacts } from './cmek-procedures.js';
import { CERTS_SKILL, CMEK_SKILL, bullets, sections, steps, type PromptPlan, type SkillRef } from './plan.js';
import {
  FRAMEWORKS,
  PROVIDERS,
  ROTATION_MODES,
  isMissing,
  parseChoice,
  parseFrameworks,
  throwIfProblems,
  type Provider,
} from './vocabulary.js';

const { KEEP_OLD_KEYS, PUT_NEEDED, DRY_RUN, NO_BLIND_RETRY } = CMEK_CHECKPOINTS;

function clusterStep(cluster: string | undefined): string {
  return isMissing(cluster)
    ? 'Ask the operator which cluster (by name or id); `list_clusters` shows them. Do not pick one yourself.'
    : `Target cluster: \`${cluster.trim()}\`. Confirm it with \`list_clusters\` if the name could be ambiguous.`;
}

function providerSection(provider: Provider | undefined): { text: string; embed: SkillRef[] } {
  if (!provider) {
    return {
      text: 'Provider not given: `check_cmek_eligibility` shows the cluster\'s `cloud_provider`; the key must be in that cloud. Read the matching reference: `skill://enabling-cmek-encryption/references/{aws,gcp,azure}.md`.',
      embed: [],
    };
  }
  const facts = providerFacts(provider);
  return { text: `## ${facts.kms} specifics\n${bullets(facts.lines)}`, embed: [{ skill: CMEK_SKILL, file: facts.reference }] };
}

function parseProvider(value: string | undefined, problems: string[]): Provider | undefined {
  return parseChoice('provider', value, PROVIDERS, problems);
}

/** enable_cmek_guided */
export function enableCmekGuided(args: { cluster?: string; provider?: string }): PromptPlan {
  const problems: string[] = [];
  const provider = parseProvider(args.provider, problems);
  throwIfProblems(problems);
  const providerPart = providerSection(provider);
  return {
    text: sections(
      '# Enable CMEK (guided)',
      clusterStep(args.cluster),
      `## Steps\n${steps([
        '`check_cmek_eligibility {cluster}`: plan, cloud, regions, BYOC, running operations. It cannot see the advanced security add-on: ask the operator to confirm it was chosen when the cluster was created. If CMEK is already enabled, stop and use `rotate_cmek_guided` instead.',
        '`provision_cmek_key {cluster, dry_run: true}`: the keys, grants and IAM documents for **every** cluster region. Show them to the operator.',
        '**Checkpoint**: the operator approves the key plan (region per key, principal, grants).',
        '`provision_cmek_key {cluster}`: creates or reuses the keys and grants; returns `region_specs`. Azure: a tenant admin opens the admin-consent URL and the Key Vault Crypto Officer role is assigned before continuing.',
        '`enable_cmek {cluster, region_specs, dry_run: true}`: checks every region is covered, key type, URI format and key reachability; shows the `POST /cmek` body.',
        '**Checkpoint**: the operator approves the exact request.',
        '`enable_cmek {cluster, region_specs}`: sends it and waits until every region is `ENABLED` (retries while IAM grants propagate). A `*_FAILED` status is final: report each `user_message`.',
        '`get_cmek_status {cluster}`: every region `ENABLED` on the expected key.',
        'Optional: `verify_encryption_sql {connection, probe: true}` proves reads and writes still work.',
        '`audit_encryption_posture {scope: the cluster, include_kms: true}`: rotation, deletion protection and key policy are as they should be.',
      ])}`,
      providerPart.text,
      `## Safety checkpoints\n${bullets([
        DRY_RUN,
        '`POST /cmek` must cover every cluster region; new regions later go through `PATCH /api/v1/clusters/{id}` with `dedicated.cmek_region_specs` for the new regions only, sent together with `dedicated.region_nodes` adding them.',
        'Say this to the operator BEFORE enabling: CMEK does not re-encrypt data already written (enable it before creating databases or loading data where possible), and managed backups taken before CMEK was enabled can no longer be restored.',
        NO_BLIND_RETRY,
        'Once enabled, the key must stay available: disabling it stops restarted nodes from rejoining and managed backups from running.',
      ])}`,
      `Skill: \`skill://${CMEK_SKILL}\`.`,
      'Next: run `check_cmek_eligibility` for the cluster.',
    ),
    embed: providerPart.embed,
  };
}

/** rotate_cmek_guided */
export function rotateCmekGuided(args: { cluster?: string; mode?: string; provider?: string }): PromptPlan {
  const problems: string[] = [];
  const mode = parseChoice('mode', args.mode, ROTATION_MODES, problems);
  const provider = parseProvider(args.provider, problems);
  throwIfProblems(problems);
  const providerPart = providerSection(provider);
  const modeLine = mode
    ? `Mode: \`${mode}\` (${mode === 'new_version' ? 'new key material under the same key' : 'a different key, provisioned and granted first'}).`
    : 'Mode not given: ask the operator. `new_version` for a scheduled rotation of the same key; `new_key` after a compromise, a policy change or when moving keys.';
  return {
    text: sections(
      '# Rotate CMEK (guided)',
      clusterStep(args.cluster),
      modeLine,
      `## Steps\n${steps([
        '`get_cmek_status {cluster}`: every region must be `ENABLED`. A `ROTATE_FAILED` region names its cause in `user_message`; fix that first.',
        mode === 'new_version'
          ? 'No provisioning needed for `new_version`.'
          : 'For `new_key`: `provision_cmek_key {cluster, dry_run: true}`, operator approval, then `provision_cmek_key {cluster}` to create and grant the new keys.',
        '`rotate_cmek {cluster, mode, dry_run: true}`: preflight (new key reachable and granted) and the exact KMS calls and `PUT /cmek` body per region.',
        '**Checkpoint**: the operator approves the plan.',
        '`rotate_cmek {cluster, mode}`: KMS side, then `PUT /cmek`, then waits and verifies each region is `ENABLED` on the new key. A failed region is reported with the others; re-running resumes.',
        '`get_cmek_status {cluster}`: new key current, old key listed as past.',
        'Optional: `verify_encryption_sql {connection, probe: true}`.',
      ])}`,
      providerPart.text,
      `## Safety checkpoints\n${bullets([PUT_NEEDED, KEEP_OLD_KEYS, DRY_RUN, NO_BLIND_RETRY])}`,
      `Skill: \`skill://${CMEK_SKILL}\`; the rotation reference is embedded below.`,
      'Next: run `get_cmek_status` for the cluster.',
    ),
    embed: [{ skill: CMEK_SKILL, file: 'rotation.md' }, ...providerPart.embed],
  };
}

/** respond_to_key_compromise */
export function respondToKeyCompromise(args: { cluster?: string; provider?: string }): PromptPlan {
  const problems: string[] = [];
  const provider = parseProvider(args.provider, problems);
  throwIfProblems(problems);
  const providerPart = providerSection(provider);
  const auditLog = provider ? providerFacts(provider).auditLog : 'the KMS audit log (CloudTrail, Cloud Audit Logs or Key Vault diagnostic logs)';
  return {
    text: sections(
      '# Respond to a key compromise',
      clusterStep(args.cluster),
      'First establish what leaked: the KMS key policy / IAM (someone else can use the key), a credential that can use or manage the key, or the CockroachDB Cloud API key. Ask; do not assume. Self-hosted certificate or store keys: use `gather_encryption_context` with tier Self-Hosted and reason Key compromise instead.',
      `## Steps\n${steps([
        '`get_cmek_status {cluster}`: the current key per region and every past key. These are the keys to protect.',
        `**Contain** (operator, in the cloud console or CLI): restrict the key policy / IAM to CockroachDB's principal and your administrators; disable or rotate leaked credentials; read ${auditLog} for unexpected use and note the time window.`,
        '`provision_cmek_key {cluster, dry_run: true}`, operator approval, then `provision_cmek_key {cluster}`: a **new** key per region, granted only to CockroachDB.',
        '`rotate_cmek {cluster, mode: new_key, dry_run: true}`, operator approval, then `rotate_cmek {cluster, mode: new_key}`.',
        '`get_cmek_status {cluster}`: every region `ENABLED` on the new key.',
        'Keep the old key **enabled but locked down** (only CockroachDB and administrators). Data written under it still needs it.',
        'Only if the data owner decides CockroachDB itself must lose access: `revoke_cmek {cluster}` after reading `skill://enabling-cmek-encryption/references/revocation.md`. It asks a human to type the cluster name; REVOKE restarts the cluster, which then stops serving at once, and restoring needs Cockroach Labs support.',
        '`audit_encryption_posture {scope: the cluster, include_kms: true}` and `verify_audit_log` for the incident record.',
      ])}`,
      providerPart.text,
      `## Safety checkpoints\n${bullets([
        'Containment and rotation to a new key come before any revocation.',
        KEEP_OLD_KEYS,
        DRY_RUN,
        NO_BLIND_RETRY,
        'If the CockroachDB Cloud API key leaked, revoke it in the Cloud Console (Service Accounts) and create a new one.',
      ])}`,
      `Skill: \`skill://${CMEK_SKILL}\`; the safety guide (risk matrix) and rotation reference are embedded below.`,
      'Next: ask the operator what exactly leaked and when, then run `get_cmek_status`.',
    ),
    embed: [{ skill: CMEK_SKILL, file: 'safety-guide.md' }, { skill: CMEK_SKILL, file: 'rotation.md' }, ...providerPart.embed],
  };
}

/** compliance_audit */
export function complianceAudit(args: { frameworks?: string; scope?: string }): PromptPlan {
  const problems: string[] = [];
  const frameworks = parseFrameworks(args.frameworks, problems);
  throwIfProblems(problems);
  const frameworkLine = frameworks.length
    ? `Frameworks: ${frameworks.join(', ')}.`
    : `Frameworks not given: ask which apply (${FRAMEWORKS.join(', ')}); findings map to each framework's controls.`;
  const scope = isMissing(args.scope) ? 'all clusters (ask whether to narrow it to cluster ids or labels)' : `\`${args.scope.trim()}\``;
  return {
    text: sections(
      '# Compliance audit of encryption posture',
      frameworkLine,
      `Scope: ${scope}.`,
      `## Steps\n${steps([
        `\`audit_encryption_posture {frameworks: [${frameworks.join(', ') || '...'}], scope, include_kms: true, format: markdown}\`: every cluster, CMEK status per region, key age and rotation, deletion protection, over-broad key policies, past keys scheduled for deletion (critical), failed operations, and the configured self-hosted SQL targets (certificate expiry, encryption at rest). Each finding has severity, evidence, control (SOC 2 CC6.1 / CC6.7; HIPAA 164.312(a)(2)(iv), (e)(2)(ii); PCI DSS v4 3.5-3.7) and the tool that fixes it.`,
        'Ask whether to write the report to a file (Markdown, plus HTML with a key and certificate age timeline).',
        '`verify_audit_log`: proves the hash-chained trail of every write made through this server is intact.',
        'For each critical or high finding: `get_cmek_status {cluster}` (Cloud) or `check_certificate_expiry {connection}` (self-hosted) for current evidence.',
        'Propose fixes in order of severity, each with the tool it names; make no change without the operator.',
      ])}`,
      `## Safety checkpoints\n${bullets([
        'Read-only: the audit changes nothing.',
        'A cluster that could not be checked is reported as such, never left out.',
        'Never "fix" a past key scheduled for deletion by deleting it: cancel the deletion and keep it enabled.',
      ])}`,
      `Skills: \`skill://${CMEK_SKILL}\` and \`skill://${CERTS_SKILL}\`.`,
      'Next: confirm frameworks and scope, then run `audit_encryption_posture`.',
    ),
    embed: [{ skill: CMEK_SKILL, file: 'safety-guide.md' }],
  };
}
