/**
 * The guided prompts: enable, rotate, respond to a key compromise, compliance audit. Each names the
 * tools to call in order, with the safety checkpoints between them.
 */
import { CMEK_CHECKPOINTS, providerFacts } from './cmek-procedures.js';
import { CERTS_SKILL, CMEK_SKILL, bullets, call, sections, steps, type PromptPlan, type SkillRef } from './plan.js';
import { skillUri } from '../skills/uri.js';
import { FRAMEWORKS, PROVIDERS, ROTATION_MODES, isMissing, parseChoice, parseFrameworks, throwIfProblems, type Provider } from './vocabulary.js';

const { KEEP_OLD_KEYS, PUT_NEEDED, DRY_RUN, NO_BLIND_RETRY } = CMEK_CHECKPOINTS;

const EXAMPLE_CLUSTER = 'my-cluster';

/** The cluster to write into the calls: the one given, or a stand-in the text names as such. */
function clusterOf(cluster: string | undefined): string {
  return isMissing(cluster) || !/^[A-Za-z0-9][A-Za-z0-9-]{0,99}$/.test(cluster.trim()) ? EXAMPLE_CLUSTER : cluster.trim();
}

function clusterStep(cluster: string | undefined): string {
  return isMissing(cluster)
    ? `Ask the operator which cluster (by name or id); \`list_clusters\` shows them. Do not pick one yourself. \`${EXAMPLE_CLUSTER}\` below stands for it.`
    : `Target cluster: \`${cluster.trim()}\`. Confirm it with \`list_clusters\` if the name could be ambiguous.`;
}

const FOLLOW_NEXT =
  'Every answer ends with `next_actions` (and a `Next:` line): the first entry is the recommended call with every argument the server knows filled in (region_specs, principals, key names); `needs` names what only the operator can supply.';

function providerSection(provider: Provider | undefined): { text: string; embed: SkillRef[] } {
  if (!provider) {
    return {
      text: "Provider not given: `check_cmek_eligibility` shows the cluster's `cloud_provider`; the key must be in that cloud. Read the matching reference: `skill://enabling-cmek-encryption/references/{aws,gcp,azure}.md`.",
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
  const cluster = clusterOf(args.cluster);
  const c = { cluster };
  const keyName = { ...c, key_name: `crdb-cmek-${cluster}` };
  return {
    text: sections(
      '# Enable CMEK (guided)',
      clusterStep(args.cluster),
      FOLLOW_NEXT,
      `## Steps\n${steps([
        `${call('check_cmek_eligibility', c)}: plan, cloud, regions, BYOC, running operations. It cannot see the advanced security add-on: ask the operator to confirm it was chosen when the cluster was created. If CMEK is already enabled, stop and use \`rotate_cmek_guided\` instead.`,
        `${call('provision_cmek_key', { ...keyName, dry_run: true })} plus where the keys live (aws_account_id, gcp_project, or azure_vault and auth_principal; eligibility's next_actions fill them in when known): the keys, grants and IAM documents for **every** cluster region. Show them to the operator.`,
        '**Checkpoint**: the operator approves the key plan (region per key, principal, grants).',
        `${call('provision_cmek_key', keyName)} with the same arguments and no dry_run: creates or reuses the keys and grants; returns \`region_specs\`. Azure: a tenant admin opens the admin-consent URL and the Key Vault Crypto Officer role is assigned before continuing.`,
        `\`enable_cmek\` with \`{"cluster": "${cluster}", "region_specs": <region_specs from provision_cmek_key>, "dry_run": true}\` (provision_cmek_key's next_actions give the complete call): checks every region is covered, key type, URI format and key reachability; shows the \`POST /cmek\` body.`,
        '**Checkpoint**: the operator approves the exact request.',
        'The same `enable_cmek` call without dry_run: sends it and waits until every region is `ENABLED` (retries while IAM grants propagate). A `*_FAILED` status is final: report each `user_message`.',
        `${call('get_cmek_status', c)}: every region \`ENABLED\` on the expected key.`,
        `Optional: ${call('verify_encryption_sql', { probe: true })} (on a SQL connection to the cluster) proves reads and writes still work.`,
        `${call('audit_encryption_posture', { clusters: [cluster], include_kms: true })}: rotation, deletion protection and key policy are as they should be.`,
      ])}`,
      providerPart.text,
      `## Safety checkpoints\n${bullets([
        DRY_RUN,
        '`POST /cmek` must cover every cluster region; new regions later go through `PATCH /api/v1/clusters/{id}` with `dedicated.cmek_region_specs` for the new regions only, sent together with `dedicated.region_nodes` adding them (and keeping every existing region): `enable_cmek` with `add_regions` builds that request, with a dry run.',
        'Say this to the operator BEFORE enabling: CMEK does not re-encrypt data already written (enable it before creating databases or loading data where possible), and managed backups taken before CMEK was enabled can no longer be restored.',
        NO_BLIND_RETRY,
        'Once enabled, the key must stay available: disabling it stops restarted nodes from rejoining and managed backups from running.',
      ])}`,
      `Skill: \`${skillUri(CMEK_SKILL)}\`.`,
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
  const cluster = clusterOf(args.cluster);
  const c = { cluster };
  const modeArgs = { mode: mode ?? 'new_version' };
  const modeLine = mode
    ? `Mode: \`${mode}\` (${mode === 'new_version' ? 'new key material under the same key' : 'a different key, provisioned and granted first'}).`
    : 'Mode not given: ask the operator. `new_version` for a scheduled rotation of the same key; `new_key` after a compromise, a policy change or when moving keys.';
  return {
    text: sections(
      '# Rotate CMEK (guided)',
      clusterStep(args.cluster),
      modeLine,
      FOLLOW_NEXT,
      `## Steps\n${steps([
        `${call('get_cmek_status', c)}: every region must be \`ENABLED\`. A \`ROTATE_FAILED\` region names its cause in \`user_message\`; fix that first.`,
        mode === 'new_version'
          ? 'No provisioning needed for `new_version`.'
          : `For \`new_key\`: ${call('provision_cmek_key', { ...c, key_name: `crdb-cmek-${cluster}-2`, dry_run: true })} (plus where the keys live), operator approval, then the same call without dry_run to create and grant the new keys. Its next_actions give the complete \`rotate_cmek\` call: \`new_keys\` (region -> key URI) and \`auth_principal\` from its region_specs.`,
        mode === 'new_key'
          ? `\`rotate_cmek\` with \`{"cluster": "${cluster}", "mode": "new_key", "new_keys": {<region>: <uri>}, "auth_principal": <from region_specs>, "dry_run": true}\`: preflight (new key reachable and granted) and the exact \`PUT /cmek\` body per region.`
          : `${call('rotate_cmek', { ...c, ...modeArgs, dry_run: true })}: preflight and the exact KMS calls and \`PUT /cmek\` body per region.`,
        '**Checkpoint**: the operator approves the plan.',
        'The same `rotate_cmek` call without dry_run: KMS side, then `PUT /cmek`, then waits and verifies each region is `ENABLED` on the new key. A failed region is reported with the others; re-running resumes.',
        `${call('get_cmek_status', c)}: new key (or new version: a fresh re-wrap date) current, old key listed as past.`,
        `Optional: ${call('verify_encryption_sql', { probe: true })} on a SQL connection to the cluster.`,
      ])}`,
      providerPart.text,
      `## Safety checkpoints\n${bullets([PUT_NEEDED, KEEP_OLD_KEYS, DRY_RUN, NO_BLIND_RETRY])}`,
      `Skill: \`${skillUri(CMEK_SKILL)}\`; the rotation reference is embedded below.`,
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
  const cluster = clusterOf(args.cluster);
  const c = { cluster };
  const auditLog = provider ? providerFacts(provider).auditLog : 'the KMS audit log (CloudTrail, Cloud Audit Logs or Key Vault diagnostic logs)';
  return {
    text: sections(
      '# Respond to a key compromise',
      clusterStep(args.cluster),
      'First establish what leaked: the KMS key policy / IAM (someone else can use the key), a credential that can use or manage the key, or the CockroachDB Cloud API key. Ask; do not assume. Self-hosted certificate or store keys: use `gather_encryption_context` with tier Self-Hosted and reason Key compromise instead.',
      FOLLOW_NEXT,
      `## Steps\n${steps([
        `${call('get_cmek_status', c)}: the current key per region and every past key. These are the keys to protect.`,
        `**Contain** (operator, in the cloud console or CLI): restrict the key policy / IAM to CockroachDB's principal and your administrators; disable or rotate leaked credentials; read ${auditLog} for unexpected use and note the time window.`,
        `${call('provision_cmek_key', { ...c, key_name: `crdb-cmek-${cluster}-2`, dry_run: true })} (plus where the keys live), operator approval, then the same call without dry_run: a **new** key per region, granted only to CockroachDB.`,
        `\`rotate_cmek\` with \`{"cluster": "${cluster}", "mode": "new_key", "new_keys": {<region>: <new key URI>}, "auth_principal": <from provision_cmek_key's region_specs>, "dry_run": true}\` (provision_cmek_key's next_actions give it complete), operator approval, then the same call without dry_run.`,
        `${call('get_cmek_status', c)}: every region \`ENABLED\` on the new key.`,
        'Keep the old key **enabled but locked down** (only CockroachDB and administrators). Data written under it still needs it.',
        `Only if the data owner decides CockroachDB itself must lose access: ${call('revoke_cmek', c)} after reading \`skill://enabling-cmek-encryption/references/revocation.md\`. It asks a human to type the cluster name; REVOKE restarts the cluster, which then stops serving at once, and restoring needs Cockroach Labs support.`,
        `${call('audit_encryption_posture', { clusters: [cluster], include_kms: true })} and ${call('verify_audit_log')} for the incident record.`,
      ])}`,
      providerPart.text,
      `## Safety checkpoints\n${bullets([
        'Containment and rotation to a new key come before any revocation.',
        KEEP_OLD_KEYS,
        DRY_RUN,
        NO_BLIND_RETRY,
        'If the CockroachDB Cloud API key leaked, revoke it in the Cloud Console (Service Accounts) and create a new one.',
      ])}`,
      `Skill: \`${skillUri(CMEK_SKILL)}\`; the safety guide (risk matrix) and rotation reference are embedded below.`,
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
  const auditArgs = { ...(frameworks.length ? { frameworks } : {}), ...scopeArgs(args.scope), include_kms: true, format: 'markdown' };
  return {
    text: sections(
      '# Compliance audit of encryption posture',
      frameworkLine,
      `Scope: ${scope}.`,
      `## Steps\n${steps([
        `${call('audit_encryption_posture', auditArgs)}: every cluster, CMEK status per region, key age and rotation, deletion protection, over-broad key policies, past keys scheduled for deletion (critical), failed operations, and the configured self-hosted SQL targets (certificate expiry, encryption at rest). Each finding has severity, evidence, control (SOC 2 CC6.1 / CC6.7; HIPAA 164.312(a)(2)(iv), (e)(2)(ii); PCI DSS v4 3.5-3.7) and the tool that fixes it.`,
        'Ask whether to write the report to a file (Markdown, plus HTML with a key and certificate age timeline).',
        `${call('verify_audit_log')}: proves the hash-chained trail of every write made through this server is intact.`,
        'For each critical or high finding: `get_cmek_status` on its cluster (Cloud) or `check_certificate_expiry` on its target (self-hosted) for current evidence.',
        "Propose fixes in order of severity: the audit's `next_actions` are the fixes as complete calls (the same as each finding's `fix`); make no change without the operator.",
      ])}`,
      `## Safety checkpoints\n${bullets([
        'Read-only: the audit changes nothing.',
        'A cluster that could not be checked is reported as such, never left out.',
        'Never "fix" a past key scheduled for deletion by deleting it: cancel the deletion and keep it enabled.',
      ])}`,
      `Skills: \`${skillUri(CMEK_SKILL)}\` and \`${skillUri(CERTS_SKILL)}\`.`,
      'Next: confirm frameworks and scope, then run `audit_encryption_posture`.',
    ),
    embed: [{ skill: CMEK_SKILL, file: 'safety-guide.md' }],
  };
}

/** The audit's scope arguments from the prompt's scope: label=value, or cluster names/ids (comma-separated). */
function scopeArgs(scope: string | undefined): Record<string, unknown> {
  if (isMissing(scope)) return {};
  const text = scope.trim();
  const label = /^([^=\s,]+)=([^=\s,]+)$/.exec(text);
  if (label) return { labels: { [label[1]!]: label[2]! } };
  const clusters = text.split(/[\s,]+/).filter((ref) => /^[A-Za-z0-9][A-Za-z0-9-]{0,99}$/.test(ref));
  return clusters.length ? { clusters } : {};
}
