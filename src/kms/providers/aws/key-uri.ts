/**
 * Parsing an AWS KMS key ARN or alias ARN (multi-Region `mrk-` keys included): each malformed part gets its own error, naming the
 * part and what a valid one looks like.
 */
import { checkUriText, KeyUriError, type KeyUriPart } from '../../key-uri.js';

/** An AWS KMS key ARN or alias ARN (multi-Region `mrk-` keys included). */
export type AwsKeyUri = {
  type: 'AWS_KMS';
  arn: string;
  partition: string;
  region: string;
  account: string;
  resource: 'key' | 'alias';
  keyId?: string;
  alias?: string;
  multiRegion: boolean;
};

const AWS_PARTITIONS = ['aws', 'aws-cn', 'aws-us-gov', 'aws-iso', 'aws-iso-b', 'aws-iso-e', 'aws-iso-f', 'aws-eusc'] as const;
const AWS_REGION = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;
const AWS_ACCOUNT = /^\d{12}$/;
const AWS_KEY_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const AWS_MRK_ID = /^mrk-[0-9a-f]{32}$/;
const AWS_ALIAS_NAME = /^[a-zA-Z0-9/_-]{1,250}$/;

const AWS_EXAMPLE = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';

/** Parses an AWS KMS key ARN (`...:key/<uuid|mrk-...>`) or alias ARN (`...:alias/<name>`). */
export function parseAwsKeyArn(uri: string): AwsKeyUri {
  checkUriText(uri, AWS_EXAMPLE);
  const fail = (field: KeyUriPart, why: string, next = `use the key ARN shown by "aws kms describe-key", e.g. ${AWS_EXAMPLE}.`) => {
    throw new KeyUriError(field, uri, why, next);
  };
  const parts = uri.split(':');
  if (parts[0] !== 'arn') {
    const hint =
      AWS_KEY_UUID.test(uri) || AWS_MRK_ID.test(uri) || uri.startsWith('alias/') ? ' A bare key id or alias name is not enough: CMEK needs the full ARN.' : '';
    fail('prefix', `An AWS KMS key URI is an ARN starting with "arn:"; got "${uri.slice(0, 40)}".${hint}`);
  }
  if (parts.length !== 6) fail('uri', `An AWS KMS ARN has 6 colon-separated parts (arn:partition:kms:region:account:resource); got ${parts.length}.`);
  const [, partition, service, region, account, resourcePart] = parts as [string, string, string, string, string, string];
  if (!(AWS_PARTITIONS as readonly string[]).includes(partition)) {
    fail('partition', `Partition "${partition}" is not an AWS partition (${AWS_PARTITIONS.join(', ')}).`);
  }
  if (service !== 'kms')
    fail('service', `The ARN is for service "${service}", not "kms".`, 'use the ARN of a KMS key, not of an IAM role or another resource.');
  if (!AWS_REGION.test(region)) fail('region', `Region "${region}" is not an AWS region code like us-east-1.`);
  if (!AWS_ACCOUNT.test(account)) fail('account', `Account "${account}" is not a 12-digit AWS account id.`);
  const slash = resourcePart.indexOf('/');
  const resource = slash < 0 ? resourcePart : resourcePart.slice(0, slash);
  const id = slash < 0 ? '' : resourcePart.slice(slash + 1);
  const base = { type: 'AWS_KMS' as const, arn: uri, partition, region, account };
  if (resource === 'key') {
    if (!AWS_KEY_UUID.test(id) && !AWS_MRK_ID.test(id)) {
      fail(
        'keyId',
        `Key id "${id}" is neither a key UUID (1234abcd-12ab-34cd-56ef-1234567890ab) nor a multi-Region id (mrk- followed by 32 hex digits, lowercase).`,
      );
    }
    return { ...base, resource: 'key', keyId: id, multiRegion: id.startsWith('mrk-') };
  }
  if (resource === 'alias') {
    if (!AWS_ALIAS_NAME.test(id)) {
      fail('alias', `Alias name "${id}" must be 1-250 characters of letters, digits, "/", "_" and "-" (the ARN ends in alias/<name>).`);
    }
    return { ...base, resource: 'alias', alias: `alias/${id}`, multiRegion: false };
  }
  return fail('resource', `Resource "${resource}" must be "key/<key id>" or "alias/<alias name>".`);
}
