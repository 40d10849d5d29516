/**
 * AWS KMS as the rest of the code sees it: key ARNs, IAM role principals, the account of a key or
 * role, deletion and remediation commands. The SDK-backed client is ./client.ts, loaded on connect.
 */
import { OperatorError } from '../../../errors.js';
import type { KmsProviderProfile } from '../types.js';
import type { AwsKmsOptions } from './client.js';
import { parseAwsKeyArn, type AwsKeyUri } from './key-uri.js';
import { CMEK_ACTIONS } from './policy.js';
import { KeyUriError } from '../../key-uri.js';

const ROLE_ARN = /^arn:aws(?:-[a-z]+)*:iam::(\d{12}):role\/[\w+=,.@/-]{1,512}$/;

const cli = (key: AwsKeyUri) => `--key-id ${key.arn} --region ${key.region}`;

/** AWS KMS: the provider of CMEK on AWS clusters. */
export const awsProfile: KmsProviderProfile<AwsKeyUri, AwsKmsOptions> = {
  type: 'AWS_KMS',
  cloud: 'AWS',
  label: 'AWS KMS',
  privateClusters: true,
  uriForm: 'an AWS KMS key ARN (arn:aws:kms:...)',

  ownsUri: (uri) => uri.startsWith('arn:'),
  parseUri: parseAwsKeyArn,
  checkCmekUri(parsed) {
    if (parsed.alias?.startsWith('alias/aws/')) {
      throw new KeyUriError(
        'alias',
        parsed.arn,
        `"${parsed.alias}" is an AWS managed key; its key policy cannot grant CockroachDB access.`,
        'create a customer managed key (provision_cmek_key does) and use its ARN.',
      );
    }
  },
  keyLocation: (parsed) => parsed.region,
  locationCheck(parsed, region) {
    if (parsed.region === region) return { result: 'pass', detail: `Key URI is well formed and in ${region}.` };
    if (parsed.multiRegion) {
      return {
        result: 'warn',
        detail: `Multi-Region key ${parsed.keyId} (ARN in ${parsed.region}) serving ${region}: a documented setup (one multi-Region key may serve several regions). A replica in ${region} keeps the region independent of ${parsed.region}; use its ARN if you created one.`,
      };
    }
    return {
      result: 'warn',
      detail: `The key is in ${parsed.region} and serves ${region}. Allowed (one key may serve several related regions), but a key in ${region} is recommended so the region does not depend on ${parsed.region}'s KMS.`,
    };
  },
  keyIdentity: (parsed) => `aws:${parsed.account}:${parsed.region}:${parsed.resource === 'key' ? `key/${parsed.keyId}` : parsed.alias}`,
  isAlias: (parsed) => parsed.resource === 'alias',
  confirmationName: (parsed) => parsed.keyId ?? parsed.alias!,
  keyAccount: (parsed) => parsed.account,
  principalAccount: (principal) => ROLE_ARN.exec(principal)?.[1],
  accountNames: { key: 'AWS account', principal: 'AWS account' },

  principal: {
    pattern: ROLE_ARN,
    expected: 'an IAM role ARN like arn:aws:iam::111122223333:role/crdb-cmek (the role CockroachDB assumes)',
  },
  provisioning: {
    defaultPrincipal(clusterName, placement) {
      if (placement.authPrincipal) return placement.authPrincipal;
      if (!placement.awsAccountId) {
        throw new OperatorError(
          'Missing auth_principal or aws_account_id',
          'AWS needs the IAM role CockroachDB assumes (arn:aws:iam::<account>:role/<name>).',
          'pass auth_principal or aws_account_id and call provision_cmek_key again.',
        );
      }
      return `arn:aws:iam::${placement.awsAccountId}:role/crdb-cmek-${clusterName}`.slice(0, 512);
    },
    container: (placement) => placement.awsAccountId ?? placement.authPrincipal?.split(':')[4] ?? '',
  },

  rotation: {
    changesUri: false,
    reason: 'New key version in the KMS (same URI), then PUT so CockroachDB re-wraps with it.',
  },

  deletion: {
    window: { minDays: 7, defaultDays: 30, maxDays: 30 },
    windowChosenAtDeletion: true,
    undo(action, parsed, deletionDate) {
      if (action === 'disable') return `Reversible at any time: aws kms enable-key ${cli(parsed)}`;
      const until = deletionDate ? `until ${deletionDate}` : 'until the waiting window ends';
      return `Recoverable ${until}: aws kms cancel-key-deletion, then aws kms enable-key (cancelling leaves the key Disabled). After that date the key material is destroyed permanently.`;
    },
  },

  remediation: {
    cancelDeletion: (key) => `aws kms cancel-key-deletion ${cli(key)}, then aws kms enable-key ${cli(key)} (cancelling leaves the key Disabled)`,
    enableKey: (key) => `aws kms enable-key ${cli(key)}`,
    enableRotation: (key) => `aws kms enable-key-rotation ${cli(key)} --rotation-period-in-days 365`,
    narrowGrant: `edit the key policy so CockroachDB's role gets only ${CMEK_ACTIONS.join(', ')} (no kms:*, no Principal "*")`,
  },

  connect: async (options) => (await import('./client.js')).createAwsKmsProvider(options),
};
