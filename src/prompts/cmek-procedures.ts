/**
 * CMEK procedures on CockroachDB Cloud (Advanced / BYOC), per reason, and the per-provider facts
 * they need. Shared by gather_encryption_context and the guided prompts.
 */
import { CMEK_SKILL, steps, type SkillRef } from './plan.js';
import type { Provider, Reason } from './vocabulary.js';

export interface ProviderFacts {
  kms: string;
  /** Reference file in the CMEK skill. */
  reference: string;
  /** Where to look for who used the key. */
  auditLog: string;
  lines: string[];
}

const PROVIDER_FACTS: Record<Provider, ProviderFacts> = {
  AWS: {
    kms: 'AWS KMS',
    reference: 'aws.md',
    auditLog: 'CloudTrail (kms.amazonaws.com events for the key)',
    lines: [
      'Key: symmetric (`SYMMETRIC_DEFAULT`, `ENCRYPT_DECRYPT`); a key in each cluster region is recommended, not required (a multi-Region `mrk-` key or one key may serve several regions); `uri` = the key ARN.',
      "`auth_principal` = ARN of an IAM role in your account that trusts the cluster's `account_id`, with External ID = your CockroachDB Cloud organization id.",
      'Key policy for that role: `kms:Encrypt`, `kms:Decrypt`, `kms:GenerateDataKey*`, `kms:DescribeKey`, `kms:ReEncrypt*`; nothing broader.',
      'Deletion waits 7-30 days (`PendingDeletion`, undo with `CancelKeyDeletion`, then `EnableKey`). `RotateKeyOnDemand`: at most 25 per key, asynchronous (wait for `GetKeyRotationStatus` before `PUT /cmek`), through the primary of a multi-Region key. Key audit trail: CloudTrail.',
    ],
  },
  GCP: {
    kms: 'GCP Cloud KMS',
    reference: 'gcp.md',
    auditLog: 'Cloud Audit Logs (Data Access logs for cloudkms.googleapis.com)',
    lines: [
      'Key: `ENCRYPT_DECRYPT` in a key ring in the cluster region or `global` (both documented); `uri` = the key name **without** `/cryptoKeyVersions/N`.',
      '`auth_principal` = a cross-tenant service account created in your project (CockroachDB Cloud impersonates it from its own tenant); grant it `roles/cloudkms.cryptoKeyEncrypterDecrypter` on the key.',
      'Grant `roles/iam.serviceAccountTokenCreator` on that service account to `crl-kms-user-<last 12 characters of the cluster id>@<account_id>.iam.gserviceaccount.com`.',
      'Destroyed versions wait `destroy_scheduled_duration` (default 30 days; `RestoreCryptoKeyVersion` before then). Key audit trail: Cloud Audit Logs.',
    ],
  },
  Azure: {
    kms: 'Azure Key Vault',
    reference: 'azure.md',
    auditLog: 'Key Vault diagnostic logs (Azure Monitor)',
    lines: [
      'Key: RSA 2048/3072/4096 or RSA-HSM in a vault with purge protection (soft delete is mandatory on every vault since February 2025); `uri` = the key identifier **with** its version.',
      '`auth_principal` = your tenant id. The identity is the enterprise app "CockroachDB Cloud - <cluster id>", created by admin consent at `https://login.microsoftonline.com/<tenant>/adminconsent?client_id=<azure_cluster_identity_client_id>`.',
      'Give that app the **Key Vault Crypto Officer** role on the vault or key.',
      'Azure CMEK is in Preview; Azure has no private clusters, so a public Azure cluster is not a problem. If enabling is refused, ask Cockroach Labs whether it is available for the organization.',
    ],
  },
};

/** What CockroachDB Cloud needs from one provider. */
export function providerFacts(provider: Provider): ProviderFacts {
  return PROVIDER_FACTS[provider];
}

export interface Procedure {
  text: string;
  checkpoints: string[];
  /** Extra skill files to embed (besides the provider reference). */
  embed: SkillRef[];
  next: string;
}

const KEEP_OLD_KEYS =
  'Keep every previous key and key version enabled: past keys stay in `key_infos` and are needed to read data written under them. Never disable, schedule deletion, destroy or purge them.';
const PUT_NEEDED = 'A new KMS key version (manual or automatic rotation) is not used until `PUT /cmek` is sent for each region; `rotate_cmek` does both steps.';
const DRY_RUN = 'Run every write with `dry_run: true` first and show the operator the exact requests before running it for real.';
const NO_BLIND_RETRY = 'If a write times out, do not re-send it: re-read `get_cmek_status` and reconcile.';

const PROCEDURES: Record<Exclude<Reason, 'Add SAN entries'>, Procedure> = {
  'Routine monitoring': {
    text: steps([
      '`list_clusters` to pick the cluster(s); CMEK status shows for Advanced clusters.',
      '`get_cmek_status {"cluster": "my-cluster"}`: every region should be `ENABLED`; any `*_FAILED` carries a `user_message` to act on.',
      '`audit_encryption_posture {"clusters": ["my-cluster"], "include_kms": true}`: key age and rotation, deletion protection, over-broad key policies, past keys scheduled for deletion.',
      'For each finding, call the tool the finding names; otherwise report "healthy" with the key ages.',
    ]),
    checkpoints: ['Read-only: nothing here changes a key or a cluster.', PUT_NEEDED, KEEP_OLD_KEYS],
    embed: [],
    next: 'run `get_cmek_status` for the cluster and report each region with its current key and age.',
  },
  'Scheduled rotation': {
    text: steps([
      '`get_cmek_status {"cluster": "my-cluster"}`: every region must be `ENABLED` before rotating.',
      '`rotate_cmek {"cluster": "my-cluster", "mode": "new_version", "dry_run": true}`: the KMS call and the `PUT /cmek` body per region.',
      'Show the plan to the operator and get a go-ahead.',
      '`rotate_cmek {"cluster": "my-cluster", "mode": "new_version"}`: creates the new version, sends `PUT /cmek`, waits and verifies each region is `ENABLED` on it.',
      '`get_cmek_status {"cluster": "my-cluster"}`: the new version is current; the previous one is listed as a past key.',
      'Optional: `verify_encryption_sql {"connection": "my-target", "probe": true}` proves reads and writes still work.',
    ]),
    checkpoints: [DRY_RUN, PUT_NEEDED, KEEP_OLD_KEYS, NO_BLIND_RETRY],
    embed: [{ skill: CMEK_SKILL, file: 'rotation.md' }],
    next: 'run `get_cmek_status` for the cluster, then the dry run of `rotate_cmek`.',
  },
  'Key compromise': {
    text: steps([
      'Use the `respond_to_key_compromise` prompt for the full runbook. In short:',
      '`get_cmek_status {"cluster": "my-cluster"}`: which key is current in each region, and which past keys exist.',
      "Contain in the KMS (operator): restrict the key policy / IAM to CockroachDB's principal and your administrators, rotate any leaked credentials, and read the KMS audit log for unexpected use.",
      '`provision_cmek_key {"cluster": "my-cluster", "key_name": "crdb-cmek-my-cluster", "aws_account_id": "111122223333", "dry_run": true}`, then without `dry_run`: a **new** key per region, granted to CockroachDB.',
      '`rotate_cmek {"cluster": "my-cluster", "mode": "new_key", "new_keys": {"us-east-1": "arn:aws:kms:us-east-1:111122223333:key/1a2b3c4d-0007-4e5f-8a9b-000000000007"}, "auth_principal": "arn:aws:iam::111122223333:role/crdb-cmek-my-cluster", "dry_run": true}`, operator go-ahead, then `rotate_cmek {"cluster": "my-cluster", "mode": "new_key", "new_keys": {"us-east-1": "arn:aws:kms:us-east-1:111122223333:key/1a2b3c4d-0007-4e5f-8a9b-000000000007"}, "auth_principal": "arn:aws:iam::111122223333:role/crdb-cmek-my-cluster"}`.',
      '`get_cmek_status {"cluster": "my-cluster"}`: every region `ENABLED` on the new key.',
      'Keep the old key enabled but locked down; `revoke_cmek` only if the data owner decides CockroachDB must lose access (REVOKE restarts the cluster, which then stops serving at once; support needed to restore).',
      '`audit_encryption_posture` and `verify_audit_log` for the incident record.',
    ]),
    checkpoints: [
      'Containment first, then rotation to a new key; revocation is a last resort and needs a human to type the cluster name.',
      DRY_RUN,
      KEEP_OLD_KEYS,
      NO_BLIND_RETRY,
    ],
    embed: [{ skill: CMEK_SKILL, file: 'rotation.md' }],
    next: 'run `get_cmek_status` for the cluster and ask the operator what exactly leaked (key policy, a credential, a principal).',
  },
  'Compliance audit': {
    text: steps([
      'Ask which frameworks apply (SOC2, HIPAA, PCI_DSS) and the scope (all clusters, some ids, or labels).',
      '`audit_encryption_posture {"frameworks": ["SOC2", "HIPAA", "PCI_DSS"], "include_kms": true, "format": "markdown"}`: findings with severity, evidence, control mapping (SOC 2 CC6.1/CC6.7, HIPAA 164.312(a)(2)(iv) and (e)(2)(ii), PCI DSS v4 3.5-3.7) and the tool that fixes each.',
      '`verify_audit_log`: proves the trail of every write made through this server is intact.',
      '`get_cmek_status {"cluster": "my-cluster"}` for each flagged cluster, to attach current evidence.',
    ]),
    checkpoints: ['Read-only: an audit changes nothing.', 'Report failures to check a cluster as such; never drop them silently.', KEEP_OLD_KEYS],
    embed: [],
    next: 'ask for the frameworks and scope, then run `audit_encryption_posture`.',
  },
};

/** The CMEK procedure for a key-related reason. */
export function cmekProcedure(reason: Exclude<Reason, 'Add SAN entries'>): Procedure {
  return PROCEDURES[reason];
}

/** Shared safety lines for the guided prompts. */
export const CMEK_CHECKPOINTS = { KEEP_OLD_KEYS, PUT_NEEDED, DRY_RUN, NO_BLIND_RETRY };
