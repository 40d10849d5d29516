/**
 * AWS KMS emulator: the JSON 1.1 protocol (`X-Amz-Target: TrentService.<Op>`) over HTTP, so the
 * real @aws-sdk/client-kms talks to it with `endpoint` + static credentials. Every request's SigV4
 * signature is verified; the region comes from its credential scope, as in AWS. Seeded with the
 * keys of src/sandbox/seed.ts.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { KeyUriError } from '../kms/key-uri.js';
import { parseAwsKeyArn } from '../kms/providers/aws/key-uri.js';
import { CMEK_ACTIONS, cmekKeyPolicy, evaluateCmekGrant, parseKeyPolicy, rootStatement } from '../kms/providers/aws/policy.js';
import { AWS_OPERATIONS } from './aws-kms-ops.js';
import { parseSigV4Authorization, verifySigV4 } from './aws-sigv4.js';
import { AwsApiError, AwsKmsStore, DAY_MS, type AwsKeyState, type AwsKmsKey } from './aws-kms-store.js';
import { FaultPlan, RequestLog, type FaultRule } from './faults.js';
import { startHttpEmulator, type HttpReply } from './http-server.js';
import type { KeyAccessResult } from './index.js';
import { AWS_ACCOUNT, AWS_CMEK_ROLE, AWS_KEYS } from './seed.js';

export interface AwsKmsEmulator {
  /** http://127.0.0.1:PORT, for the AWS SDK's `endpoint`. */
  url: string;
  /** Static credentials the emulator accepts. */
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** The account every key lives in. */
  account: string;
  faults: FaultPlan;
  log: RequestLog;
  /** Operations (e.g. "GetKeyPolicy") the caller is denied: they answer AccessDeniedException. */
  deny: Set<string>;
  /** Provider-native state of the key at a key ARN, alias ARN, or undefined when absent. */
  keyState(uri: string): AwsKeyState | undefined;
  /** Whether CockroachDB (as principal) could use the key at uri now. */
  checkCmekAccess(uri: string, principal: string): Promise<KeyAccessResult>;
  /** How long an on-demand rotation stays in progress (GetKeyRotationStatus shows its start date until then). */
  onDemandRotationMs: number;
  /** Rotation history of the key at a key ARN (a replica reports its primary's): completed rotations, and the start of one in progress. */
  rotationsOf(uri: string): { completed: Array<{ at: number; type: 'AUTOMATIC' | 'ON_DEMAND' }>; inProgressSince?: number } | undefined;
  close(): Promise<void>;
}

export interface AwsKmsEmulatorOptions {
  /** Clock, in epoch milliseconds. */
  now?: () => number;
  /** How long an on-demand rotation stays in progress (default 300 ms; the real service takes seconds to minutes). */
  onDemandRotationMs?: number;
}

const CREDENTIALS = { accessKeyId: 'AKIASANDBOX000000001', secretAccessKey: 'sandbox-secret-not-a-real-key-000000000000' };
const CALLER = `arn:aws:iam::${AWS_ACCOUNT}:user/sandbox-operator`;
const REPORTS_ROLE = `arn:aws:iam::${AWS_ACCOUNT}:role/crdb-cmek-reports`;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;

function error(type: string, message: string, status = 400): HttpReply {
  return { status, headers: { 'x-amzn-requestid': randomUUID() }, body: { __type: type, message } };
}

function operationOf(request: IncomingMessage): string {
  const target = request.headers['x-amz-target'];
  return typeof target === 'string' && target.startsWith('TrentService.') ? target.slice('TrentService.'.length) : 'Unknown';
}

/** Authenticates a request (credential scope, then signature) and returns its region; throws the AWS auth errors. */
function authenticate(request: IncomingMessage, body: string): string {
  const authorization = parseSigV4Authorization(request.headers.authorization);
  const { accessKeyId, region, service } = authorization;
  if (accessKeyId !== CREDENTIALS.accessKeyId) throw new AwsApiError('UnrecognizedClientException', 'The security token included in the request is invalid.');
  if (service !== 'kms') throw new AwsApiError('InvalidSignatureException', `Credential should be scoped to correct service: 'kms'.`);
  if (!REGION.test(region)) throw new AwsApiError('InvalidSignatureException', 'Credential should be scoped to a valid region.');
  verifySigV4(request, body, authorization, CREDENTIALS.secretAccessKey);
  return region;
}

function seed(store: AwsKmsStore): void {
  const now = store.now();
  const grant = (role: string, actions: readonly string[] | string = CMEK_ACTIONS) => {
    const policy = cmekKeyPolicy(AWS_ACCOUNT, role);
    policy.Statement[1] = { ...policy.Statement[1]!, Action: typeof actions === 'string' ? actions : [...actions] };
    return JSON.stringify(policy);
  };
  const rootOnly = JSON.stringify({ Version: '2012-10-17', Id: 'key-default-1', Statement: [rootStatement(AWS_ACCOUNT)] });
  const add = (
    seedKey: { id: string; region: string; alias: string },
    fields: { createdAt: string; policy: string; rotation?: boolean; state?: AwsKeyState; rotations?: string[]; description: string },
  ) => {
    const createdAt = Date.parse(fields.createdAt);
    const key: AwsKmsKey = {
      id: seedKey.id,
      arn: store.keyArn(seedKey.region, seedKey.id),
      region: seedKey.region,
      account: AWS_ACCOUNT,
      description: fields.description,
      keySpec: 'SYMMETRIC_DEFAULT',
      keyUsage: 'ENCRYPT_DECRYPT',
      multiRegion: false,
      state: 'Enabled',
      createdAt,
      policy: fields.policy,
      tags: [{ TagKey: 'team', TagValue: 'platform' }],
      rotation: { enabled: false },
      rotations: (fields.rotations ?? []).map((at) => ({ at: Date.parse(at), type: 'AUTOMATIC' as const })),
    };
    store.keys.set(key.arn, key);
    if (fields.rotation) AWS_OPERATIONS.EnableKeyRotation!(store, key.region, { KeyId: key.id });
    key.state = fields.state ?? 'Enabled';
    if (key.state === 'PendingDeletion') {
      key.pendingWindowDays = 30;
      key.deletionDate = now + 12 * DAY_MS;
    }
    store.aliases.set(store.aliasArn(key.region, seedKey.alias), {
      name: seedKey.alias,
      arn: store.aliasArn(key.region, seedKey.alias),
      region: key.region,
      targetKeyId: key.id,
      createdAt,
      updatedAt: createdAt,
    });
  };
  add(AWS_KEYS.prodEastUsEast1, {
    createdAt: '2025-02-20T09:00:00Z',
    policy: grant(AWS_CMEK_ROLE),
    rotation: true,
    rotations: ['2026-02-20T09:00:00Z'],
    description: 'prod-east CMEK us-east-1',
  });
  add(AWS_KEYS.prodEastUsWest2, { createdAt: '2024-01-20T09:00:00Z', policy: grant(AWS_CMEK_ROLE, 'kms:*'), description: 'prod-east CMEK us-west-2' });
  add(AWS_KEYS.prodEastPast, {
    createdAt: '2024-01-20T09:00:00Z',
    policy: grant(AWS_CMEK_ROLE),
    state: 'PendingDeletion',
    description: 'prod-east CMEK us-east-1 (2024)',
  });
  add(AWS_KEYS.unused, { createdAt: '2025-06-01T09:00:00Z', policy: rootOnly, description: 'unused test key' });
  add(AWS_KEYS.wrongRegion, {
    createdAt: '2025-06-01T09:00:00Z',
    policy: grant(AWS_CMEK_ROLE),
    rotation: true,
    description: 'prod-east key created in the wrong region',
  });
  add(AWS_KEYS.reportsDisabled, {
    createdAt: '2024-05-20T09:00:00Z',
    policy: grant(REPORTS_ROLE),
    rotation: true,
    state: 'Disabled',
    description: 'reports-aws CMEK eu-west-1',
  });
  add(AWS_KEYS.prodEastNext, { createdAt: '2026-09-01T09:00:00Z', policy: grant(AWS_CMEK_ROLE), rotation: true, description: 'prod-east next CMEK us-east-1' });
  add(AWS_KEYS.prodEastNextWest, {
    createdAt: '2026-09-01T09:00:00Z',
    policy: grant(AWS_CMEK_ROLE),
    rotation: true,
    description: 'prod-east next CMEK us-west-2',
  });
}

function cmekAccess(store: AwsKmsStore, uri: string, principal: string): KeyAccessResult {
  let parsed;
  try {
    parsed = parseAwsKeyArn(uri);
  } catch (error) {
    return { ok: false, message: `${uri} is not a valid AWS KMS key ARN: ${error instanceof KeyUriError ? error.why : String(error)}` };
  }
  if (!/^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/.test(principal))
    return { ok: false, message: `auth_principal ${principal} is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)` };
  let key: AwsKmsKey;
  try {
    if (parsed.account !== store.account) throw new AwsApiError('NotFoundException', 'other account');
    key = store.resolve(parsed.region, uri, true);
  } catch {
    return { ok: false, message: `KMS key ${uri} was not found in region ${parsed.region} of account ${parsed.account}, or role ${principal} cannot see it` };
  }
  if (key.state === 'Disabled') return { ok: false, message: `KMS key ${uri} is disabled; enable it and retry` };
  if (key.state === 'PendingDeletion') {
    return {
      ok: false,
      message: `KMS key ${uri} is pending deletion (scheduled for ${new Date(key.deletionDate!).toISOString()}); cancel the deletion, enable it and retry`,
    };
  }
  const { missing } = evaluateCmekGrant(parseKeyPolicy(key.policy), principal);
  if (missing.length > 0)
    return { ok: false, message: `role ${principal} is not allowed ${missing.join(', ')} on key ${uri}; grant it in the key policy and retry` };
  return { ok: true };
}

/** Starts the AWS KMS emulator on 127.0.0.1 with an ephemeral port. */
export async function startAwsKmsEmulator(options: AwsKmsEmulatorOptions = {}): Promise<AwsKmsEmulator> {
  const store = new AwsKmsStore(AWS_ACCOUNT, options.now ?? Date.now, options.onDemandRotationMs ?? 300);
  seed(store);
  const deny = new Set<string>();
  const faults = new FaultPlan();
  const log = new RequestLog();
  const server = await startHttpEmulator({
    name: 'AWS KMS',
    faults,
    log,
    contentType: 'application/x-amz-json-1.1',
    operationOf: (request) => operationOf(request),
    handle(request, body, operation) {
      try {
        const region = authenticate(request, body);
        const run = AWS_OPERATIONS[operation];
        if (!run) throw new AwsApiError('UnknownOperationException', `Unknown operation ${String(request.headers['x-amz-target'] ?? '')}`);
        let input: Record<string, unknown>;
        try {
          input = body.length === 0 ? {} : (JSON.parse(body) as Record<string, unknown>);
        } catch {
          throw new AwsApiError('SerializationException', 'Start of structure or map found where not expected.');
        }
        if (deny.has(operation)) {
          const resource = typeof input.KeyId === 'string' && input.KeyId.startsWith('arn:') ? input.KeyId : `arn:aws:kms:${region}:${AWS_ACCOUNT}:key/*`;
          throw new AwsApiError(
            'AccessDeniedException',
            `User: ${CALLER} is not authorized to perform: kms:${operation} on resource: ${resource} because no identity-based policy allows the kms:${operation} action`,
          );
        }
        return { status: 200, headers: { 'x-amzn-requestid': randomUUID() }, body: run(store, region, input) };
      } catch (caught) {
        if (caught instanceof AwsApiError) return error(caught.type, caught.message, caught.status);
        return error(
          'KMSInternalException',
          `The request failed because of an internal error: ${caught instanceof Error ? caught.message : String(caught)}`,
          500,
        );
      }
    },
    faultReply: (rule: FaultRule) =>
      rule.kind === 'throttle'
        ? error('ThrottlingException', 'Rate exceeded', 400)
        : error(
            'KMSInternalException',
            rule.message ?? 'The request was rejected because an internal exception occurred. The request can be retried.',
            rule.status ?? 503,
          ),
  });
  return {
    url: server.url,
    credentials: { ...CREDENTIALS },
    account: AWS_ACCOUNT,
    faults,
    log,
    deny,
    keyState(uri) {
      try {
        const parsed = parseAwsKeyArn(uri);
        return parsed.account === store.account ? store.resolve(parsed.region, uri, true).state : undefined;
      } catch {
        return undefined;
      }
    },
    checkCmekAccess: async (uri, principal) => cmekAccess(store, uri, principal),
    get onDemandRotationMs() {
      return store.onDemandRotationMs;
    },
    set onDemandRotationMs(ms: number) {
      store.onDemandRotationMs = ms;
    },
    rotationsOf(uri) {
      const key = store.keys.get(uri);
      if (!key) return undefined;
      store.settleRotation(key);
      const holder = store.rotationHolder(key);
      return { completed: [...holder.rotations], ...(holder.onDemand ? { inProgressSince: holder.onDemand.startedAt } : {}) };
    },
    close: () => server.close(),
  };
}
