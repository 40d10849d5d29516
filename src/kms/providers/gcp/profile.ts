/**
 * GCP Cloud KMS as the rest of the code sees it: crypto key names (without version for CMEK),
 * service account principals, the project of a key or account, deletion and remediation
 * commands. The gRPC client is ./client.ts, loaded on connect.
 */
import { OperatorError } from '../../../errors.js';
import type { KmsProviderProfile } from '../types.js';
import type { GcpKmsOptions } from './client.js';
import { ENCRYPTER_DECRYPTER } from './iam.js';
import { checkGcpCmekKeyName, parseGcpKeyName, type GcpKeyUri } from './key-uri.js';

const SERVICE_ACCOUNT = /^[a-z][a-z0-9-]{4,28}[a-z0-9]@([a-z][a-z0-9.:-]*[a-z0-9])\.iam\.gserviceaccount\.com$/;

const missingProject = () =>
  new OperatorError('Missing gcp_project', 'GCP keys live in a key ring of a project you own.', 'pass gcp_project and call provision_cmek_key again.');

const keyFlags = (key: GcpKeyUri) => `--key ${key.cryptoKey} --keyring ${key.keyRing} --location ${key.location} --project ${key.project}`;

/** GCP Cloud KMS: the provider of CMEK on GCP clusters. */
export const gcpProfile: KmsProviderProfile<GcpKeyUri, GcpKmsOptions> = {
  type: 'GCP_CLOUD_KMS',
  cloud: 'GCP',
  label: 'GCP Cloud KMS',
  privateClusters: true,
  uriForm: 'a GCP key name (projects/.../cryptoKeys/...)',

  ownsUri: (uri) => uri.startsWith('projects/'),
  parseUri: parseGcpKeyName,
  checkCmekUri: checkGcpCmekKeyName,
  keyLocation: (parsed) => parsed.location,
  locationCheck(parsed, region) {
    if (parsed.location === region) return { result: 'pass', detail: `Key URI is well formed and in ${region}.` };
    if (parsed.location === 'global')
      return {
        result: 'pass',
        detail: `Key ring in "global": allowed for every region (CockroachDB docs: the key ring's location is the cluster region or "global").`,
      };
    return {
      result: 'warn',
      detail: `The key ring is in ${parsed.location} and serves ${region}. Allowed (one key may serve several related regions), but CockroachDB's docs use a key ring in the cluster region or "global".`,
    };
  },
  keyIdentity: (parsed) => `gcp:${parsed.name}`,
  isAlias: () => false,
  confirmationName: (parsed) => parsed.cryptoKey,
  keyAccount: (parsed) => parsed.project,
  principalAccount: (principal) => SERVICE_ACCOUNT.exec(principal)?.[1],
  accountNames: { key: 'GCP project', principal: 'GCP project' },

  principal: {
    pattern: SERVICE_ACCOUNT,
    expected: 'the email of the cross-tenant service account in your project, like crdb-cmek@my-project.iam.gserviceaccount.com',
  },
  provisioning: {
    defaultPrincipal(_clusterName, placement) {
      if (placement.authPrincipal) return placement.authPrincipal;
      if (!placement.gcpProject) throw missingProject();
      return `crdb-cmek@${placement.gcpProject}.iam.gserviceaccount.com`;
    },
    container(placement) {
      if (!placement.gcpProject) throw missingProject();
      return placement.gcpProject;
    },
  },

  rotation: {
    changesUri: false,
    reason: 'New key version in the KMS (same URI), then PUT so CockroachDB re-wraps with it.',
  },

  deletion: {
    window: { minDays: 1, defaultDays: 30, maxDays: 120 },
    windowChosenAtDeletion: false,
    fixedWindow: { where: 'the key (destroy_scheduled_duration, set at creation)', setting: 'destroy_scheduled_duration, fixed at key creation' },
    undo(action, _parsed, deletionDate) {
      if (action === 'disable') return 'Reversible at any time: gcloud kms keys versions enable <version> --key ... (re-enable the disabled primary version).';
      const until = deletionDate ? `until ${deletionDate}` : 'until the waiting window ends';
      return `Recoverable ${until}: gcloud kms keys versions restore <version> for each version, then enable it (a restored version is DISABLED). After that date the versions are DESTROYED permanently.`;
    },
  },

  remediation: {
    cancelDeletion: (key) =>
      `restore every DESTROY_SCHEDULED version (gcloud kms keys versions restore VERSION ${keyFlags(key)}), then enable it (restored versions come back DISABLED)`,
    enableKey: (key) => `gcloud kms keys versions enable VERSION ${keyFlags(key)} (the primary version)`,
    enableRotation: (key) =>
      `gcloud kms keys update ${key.cryptoKey} --keyring ${key.keyRing} --location ${key.location} --project ${key.project} --rotation-period 365d --next-rotation-time <ISO time>`,
    narrowGrant: `replace broader roles on the key with ${ENCRYPTER_DECRYPTER} for CockroachDB's service account only`,
  },

  connect: async (options) => (await import('./client.js')).createGcpKmsProvider(options),
};
