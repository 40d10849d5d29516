/**
 * AWS KMS provider: @aws-sdk/client-kms, imported when the provider is first built. Real mode uses
 * the SDK's default credential chain; the sandbox passes its emulator endpoint and static credentials.
 */
import { AwsKmsApi, iso } from './api.js';
import { CMEK_ACTIONS, evaluateCmekGrant, parseKeyPolicy } from './policy.js';
import { provisionAwsKey } from './provision.js';
import { rotateOnDemand } from './rotation.js';
import { parseAwsKeyArn, type AwsKeyUri } from './key-uri.js';
import { awsProfile } from './profile.js';
import { KmsError, type AccessCheck, type KeyDescription, type KmsProvider } from '../../provider.js';

export interface AwsKmsOptions {
  /** Emulator endpoint (sandbox); omitted in real mode. */
  endpoint?: string;
  /** Static credentials (sandbox); omitted in real mode, where the default provider chain applies. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** SDK attempts for idempotent calls (default 3). CreateKey and RotateKeyOnDemand are never retried. */
  maxAttempts?: number;
  /** Per-request timeout in milliseconds (default 15 000). */
  requestTimeoutMs?: number;
  /** Between GetKeyRotationStatus polls while an on-demand rotation runs (default 2 000). */
  rotationPollMs?: number;
  /** How long to wait for an on-demand rotation's new material (default 10 minutes). */
  rotationWaitMs?: number;
}

const DELETION_WINDOW = awsProfile.deletion.window;

/** Builds the AWS KMS provider, loading the SDK now. */
export async function createAwsKmsProvider(options: AwsKmsOptions = {}): Promise<KmsProvider> {
  const api = new AwsKmsApi(await import('@aws-sdk/client-kms'), options);

  /** The key's metadata; alias ARNs resolve to their target key. */
  const metadata = (key: AwsKeyUri, signal?: AbortSignal) => api.describeKey(key.region, key.arn, signal);
  const keyArnOf = async (key: AwsKeyUri, signal?: AbortSignal) => (key.resource === 'key' ? key.arn : (await metadata(key, signal)).Arn!);

  async function describe(uri: string, signal?: AbortSignal): Promise<KeyDescription> {
    const key = parseAwsKeyArn(uri);
    const meta = await metadata(key, signal);
    let rotation: KeyDescription['rotation'] = { automatic: false };
    try {
      const status = await api.getKeyRotationStatus(key.region, meta.Arn!, signal);
      rotation = {
        automatic: Boolean(status.KeyRotationEnabled),
        ...(status.RotationPeriodInDays ? { periodDays: status.RotationPeriodInDays } : {}),
        ...(status.NextRotationDate ? { nextRotationAt: iso(status.NextRotationDate) } : {}),
      };
    } catch (error) {
      // Asymmetric keys have no rotation; a key pending deletion may refuse the call.
      if (!(error instanceof KmsError && (error.kind === 'invalid' || error.kind === 'conflict'))) throw error;
    }
    const scheduled = meta.KeyState === 'PendingDeletion' || meta.KeyState === 'PendingReplicaDeletion';
    return {
      uri,
      type: 'AWS_KMS',
      location: key.region,
      state: meta.KeyState ?? 'Unknown',
      usable: meta.KeyState === 'Enabled',
      ...(meta.CreationDate ? { createdAt: iso(meta.CreationDate) } : {}),
      rotation,
      deletion: {
        scheduled,
        ...(meta.DeletionDate ? { scheduledFor: iso(meta.DeletionDate) } : {}),
        ...(meta.PendingDeletionWindowInDays ? { windowDays: meta.PendingDeletionWindowInDays } : {}),
      },
    };
  }

  return {
    type: 'AWS_KMS',
    deletionWindow: DELETION_WINDOW,

    describeKey: (uri, signal) => describe(uri, signal),

    async checkAccess(uri, principal, signal): Promise<AccessCheck> {
      const key = parseAwsKeyArn(uri);
      const arn = await keyArnOf(key, signal);
      let policyText: string;
      try {
        policyText = await api.getKeyPolicy(key.region, arn, signal);
      } catch (error) {
        if (error instanceof KmsError && error.kind === 'access_denied') {
          return {
            granted: false,
            missing: [],
            broader: [],
            verified: false,
            detail: `Could not read the key policy, so access was not verified: ${error.message}`,
          };
        }
        throw error;
      }
      const grant = evaluateCmekGrant(parseKeyPolicy(policyText), principal);
      const notes: string[] = [];
      if (!/^arn:aws[a-z-]*:iam::\d{12}:role\//.test(principal))
        notes.push(`${principal} is not an IAM role ARN; CMEK's auth_principal must be the role CockroachDB assumes.`);
      if (grant.missing.length > 0) {
        notes.push(
          `The key policy does not allow ${principal}: ${grant.missing.join(', ')}. Add a statement granting it ${CMEK_ACTIONS.join(', ')} (provision_cmek_key does this).`,
        );
        if (grant.delegatedToAccount)
          notes.push(
            "The policy delegates to the account's IAM policies, which this check cannot see; CockroachDB's setup expects the key policy to name the role.",
          );
      }
      if (grant.conditional.length > 0) notes.push(`Conditions in ${grant.conditional.join(', ')} were not evaluated.`);
      return {
        granted: grant.missing.length === 0,
        missing: grant.missing,
        broader: grant.broader,
        verified: true,
        ...(notes.length ? { detail: notes.join(' ') } : {}),
      };
    },

    provisionKey: (request, signal) => provisionAwsKey(api, request, signal),

    rotateKey: (uri, signal) =>
      rotateOnDemand(
        api,
        parseAwsKeyArn(uri),
        {
          ...(options.rotationPollMs !== undefined ? { pollMs: options.rotationPollMs } : {}),
          ...(options.rotationWaitMs !== undefined ? { waitMs: options.rotationWaitMs } : {}),
        },
        signal,
      ),

    async disableKey(uri, signal) {
      const key = parseAwsKeyArn(uri);
      const arn = await keyArnOf(key, signal);
      await api.disableKey(key.region, arn, signal);
      return describe(uri, signal);
    },

    async scheduleDeletion(uri, windowDays, signal) {
      if (!Number.isInteger(windowDays) || windowDays < DELETION_WINDOW.minDays || windowDays > DELETION_WINDOW.maxDays) {
        throw new KmsError(
          'invalid',
          `AWS KMS deletion waiting periods are ${DELETION_WINDOW.minDays} to ${DELETION_WINDOW.maxDays} days; ${windowDays} is refused (never shortened to fit). Use ${DELETION_WINDOW.defaultDays} days, the default, to keep the most time to undo.`,
          'InvalidPendingWindow',
        );
      }
      const key = parseAwsKeyArn(uri);
      const arn = await keyArnOf(key, signal);
      const out = await api.scheduleKeyDeletion(key.region, arn, windowDays, signal);
      const deletionDate = iso(out.DeletionDate) ?? '';
      return {
        state: out.KeyState ?? 'PendingDeletion',
        deletionDate,
        undo:
          `Before ${deletionDate}: aws kms cancel-key-deletion --key-id ${arn} --region ${key.region}, then aws kms enable-key --key-id ${arn} --region ${key.region} ` +
          '(cancelling leaves the key Disabled). After that date the key material is gone and data encrypted under it cannot be recovered.',
      };
    },
  };
}
