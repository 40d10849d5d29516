/**
 * Idempotent provisioning of a CMEK key on GCP: find-or-create the key ring and an
 * ENCRYPT_DECRYPT key (automatic rotation, destroy window), bind CockroachDB's service account to
 * roles/cloudkms.cryptoKeyEncrypterDecrypter (read-modify-write guarded by the policy etag), and
 * list the token-creator grant the operator must make on the service account.
 */
import { durationSeconds, isAmbiguous, versionId, type GcpKmsCalls } from './calls.js';
import { ENCRYPTER_DECRYPTER, memberOf, withBinding } from './iam.js';
import { parseGcpCmekKeyName } from './key-uri.js';
import { KmsError, type ProvisionAction, type ProvisionKeyRequest, type ProvisionKeyResult } from '../../provider.js';

/** Key ring used when the request names none. */
export const DEFAULT_KEY_RING = 'crdb-cmek';
const DAY_SECONDS = 86_400;
const SERVICE_ACCOUNT = /^[a-z][a-z0-9-]{4,28}[a-z0-9]@[a-z0-9.:-]+\.gserviceaccount\.com$/;
const POLICY_ATTEMPTS = 4;

function checkRequest(request: ProvisionKeyRequest): { rotationDays: number; windowDays: number } {
  if (!SERVICE_ACCOUNT.test(request.authPrincipal)) {
    throw new KmsError(
      'invalid',
      `auth_principal "${request.authPrincipal}" is not a service account email (name@project.iam.gserviceaccount.com). CockroachDB authenticates to GCP as a cross-tenant service account in your project (one CockroachDB Cloud impersonates from its own tenant); create one first.`,
      'INVALID_ARGUMENT',
    );
  }
  const rotationDays = request.rotationPeriodDays ?? 90;
  if (!Number.isInteger(rotationDays) || rotationDays < 1 || rotationDays > 36_500) {
    throw new KmsError(
      'invalid',
      `Rotation period must be a whole number of days from 1 (Cloud KMS minimum: 24 hours) to 36500; got ${rotationDays}.`,
      'INVALID_ARGUMENT',
    );
  }
  const windowDays = request.deletionWindowDays ?? 30;
  if (!Number.isInteger(windowDays) || windowDays < 1 || windowDays > 120) {
    throw new KmsError('invalid', `The destroy window must be 1 to 120 days (Cloud KMS limits); got ${windowDays}.`, 'INVALID_ARGUMENT');
  }
  return { rotationDays, windowDays };
}

async function ensureKeyRing(calls: GcpKmsCalls, location: string, ringId: string, dryRun: boolean, signal?: AbortSignal): Promise<ProvisionAction> {
  const name = `${location}/keyRings/${ringId}`;
  try {
    await calls.run('safe', 'GetKeyRing', name, (c, o) => c.getKeyRing({ name }, o), signal);
    return { action: 'reused', resource: name, detail: 'key ring exists' };
  } catch (error) {
    if (!(error instanceof KmsError && error.kind === 'not_found')) throw error;
  }
  const request = { parent: location, keyRingId: ringId, keyRing: {} };
  if (dryRun) return { action: 'would_create', resource: name, detail: `CreateKeyRing ${JSON.stringify(request)}` };
  try {
    await calls.run('safe', 'CreateKeyRing', name, (c, o) => c.createKeyRing(request, o), signal);
    return { action: 'created', resource: name, detail: 'key ring created' };
  } catch (error) {
    if (error instanceof KmsError && error.providerCode === 'ALREADY_EXISTS') {
      return { action: 'reused', resource: name, detail: 'key ring appeared while provisioning (a concurrent run or a retried create)' };
    }
    throw error;
  }
}

async function ensureBinding(calls: GcpKmsCalls, resource: string, member: string, dryRun: boolean, signal?: AbortSignal): Promise<ProvisionAction> {
  let attempted = false;
  for (let attempt = 0; attempt < POLICY_ATTEMPTS; attempt++) {
    const policy = await calls.getPolicy(resource, signal);
    const next = withBinding(policy, ENCRYPTER_DECRYPTER, member);
    const what = `${ENCRYPTER_DECRYPTER} for ${member}`;
    if (!next) return { action: attempted ? 'updated' : 'reused', resource, detail: attempted ? `granted ${what}` : `${what} already granted` };
    if (dryRun) return { action: 'would_update', resource, detail: `SetIamPolicy adding ${what} (read-modify-write with the current etag)` };
    attempted = true;
    try {
      await calls.run('once', 'SetIamPolicy', resource, (c, o) => c.setIamPolicy({ resource, policy: next } as never, o), signal);
      return { action: 'updated', resource, detail: `granted ${what}` };
    } catch (error) {
      // ABORTED: someone changed the policy; no answer: it may have applied. Both: re-read (the etag makes a repeat safe).
      if (!(error instanceof KmsError && (error.providerCode === 'ABORTED' || isAmbiguous(error)))) throw error;
    }
  }
  throw new KmsError('conflict', `The IAM policy of ${resource} kept changing while adding ${member}; retry provisioning in a minute.`, 'ABORTED');
}

function manualSteps(request: ProvisionKeyRequest, project: string): string[] {
  const account = request.authPrincipal;
  const accountProject = account.split('@')[1]?.split('.')[0] ?? project;
  const crlUser = `crl-kms-user-${request.clusterId.slice(-12)}@${request.clusterAccountId || '<cluster account_id>'}.iam.gserviceaccount.com`;
  return [
    `If the cross-tenant service account does not exist yet, create it in your project: gcloud iam service-accounts create ${account.split('@')[0]} --project=${accountProject} --display-name="CockroachDB CMEK (cross-tenant)"`,
    `Let CockroachDB Cloud's own service account impersonate it across tenants: gcloud iam service-accounts add-iam-policy-binding ${account} --member="serviceAccount:${crlUser}" --role="roles/iam.serviceAccountTokenCreator"`,
  ];
}

/** Finds or creates everything CMEK needs for one GCP location; nothing is written when dryRun. */
export async function provisionGcpKey(calls: GcpKmsCalls, request: ProvisionKeyRequest, signal?: AbortSignal): Promise<ProvisionKeyResult> {
  const project = request.container;
  const ringId = request.keyRing ?? DEFAULT_KEY_RING;
  const location = `projects/${project}/locations/${request.location}`;
  const name = `${location}/keyRings/${ringId}/cryptoKeys/${request.keyName}`;
  parseGcpCmekKeyName(name);
  const { rotationDays, windowDays } = checkRequest(request);
  const warnings: string[] = [];
  if (!request.clusterAccountId) warnings.push("The cluster's account_id is unknown; fill it into the token-creator grant below.");
  const actions: ProvisionAction[] = [await ensureKeyRing(calls, location, ringId, request.dryRun, signal)];
  const ringMissing = actions[0]!.action === 'would_create';

  let existing;
  if (!ringMissing) {
    try {
      existing = await calls.getKey(name, signal);
    } catch (error) {
      if (!(error instanceof KmsError && error.kind === 'not_found')) throw error;
    }
  }
  const rotation = {
    rotationPeriod: { seconds: rotationDays * DAY_SECONDS },
    nextRotationTime: { seconds: Math.floor(calls.now() / 1000) + rotationDays * DAY_SECONDS },
  };
  if (!existing) {
    const create = {
      parent: `${location}/keyRings/${ringId}`,
      cryptoKeyId: request.keyName,
      cryptoKey: {
        purpose: 'ENCRYPT_DECRYPT' as const,
        versionTemplate: { algorithm: 'GOOGLE_SYMMETRIC_ENCRYPTION' as const, protectionLevel: request.hsm ? ('HSM' as const) : ('SOFTWARE' as const) },
        ...rotation,
        destroyScheduledDuration: { seconds: windowDays * DAY_SECONDS },
      },
    };
    if (request.dryRun) {
      actions.push({ action: 'would_create', resource: name, detail: `CreateCryptoKey ${JSON.stringify(create)}` });
    } else {
      try {
        await calls.run('safe', 'CreateCryptoKey', name, (c, o) => c.createCryptoKey(create, o), signal);
        actions.push({
          action: 'created',
          resource: name,
          detail: `ENCRYPT_DECRYPT key, rotation every ${rotationDays} days, destroy window ${windowDays} days`,
        });
      } catch (error) {
        if (!(error instanceof KmsError && error.providerCode === 'ALREADY_EXISTS')) throw error;
        existing = await calls.getKey(name, signal);
      }
    }
  }
  if (existing) {
    if (existing.purpose !== 'ENCRYPT_DECRYPT') {
      throw new KmsError(
        'conflict',
        `${name} already exists with purpose ${String(existing.purpose)}; CMEK needs ENCRYPT_DECRYPT. Choose another key name.`,
        'FAILED_PRECONDITION',
      );
    }
    const notes: string[] = [];
    const actualWindow = (durationSeconds(existing.destroyScheduledDuration) ?? 30 * DAY_SECONDS) / DAY_SECONDS;
    if (actualWindow !== windowDays)
      warnings.push(`${name} keeps its destroy window of ${actualWindow} days (fixed when the key was created); ${windowDays} days was not applied.`);
    if (existing.primary?.state !== 'ENABLED') {
      warnings.push(
        `The primary version (${versionId(existing.primary?.name) || 'none'}) of ${name} is ${String(existing.primary?.state ?? 'missing')}; CMEK fails until an ENABLED version is primary.`,
      );
    }
    if (durationSeconds(existing.rotationPeriod) === undefined) {
      const update = { cryptoKey: { name, ...rotation }, updateMask: { paths: ['rotation_period', 'next_rotation_time'] } };
      if (request.dryRun) {
        actions.push({ action: 'would_update', resource: name, detail: `UpdateCryptoKey ${JSON.stringify(update)}` });
      } else {
        await calls.run('safe', 'UpdateCryptoKey', name, (c, o) => c.updateCryptoKey(update, o), signal);
        actions.push({ action: 'updated', resource: name, detail: `enabled automatic rotation every ${rotationDays} days` });
      }
    } else {
      notes.push(`rotation every ${(durationSeconds(existing.rotationPeriod) ?? 0) / DAY_SECONDS} days`);
    }
    if (!actions.some((a) => a.resource === name)) actions.push({ action: 'reused', resource: name, detail: ['key exists', ...notes].join('; ') });
  }

  const member = memberOf(request.authPrincipal);
  if (ringMissing || (request.dryRun && !existing)) {
    actions.push({ action: 'would_update', resource: name, detail: `SetIamPolicy granting ${ENCRYPTER_DECRYPTER} to ${member}` });
  } else {
    actions.push(await ensureBinding(calls, name, member, request.dryRun, signal));
  }
  const steps = manualSteps(request, project);
  actions.push({ action: 'manual', resource: request.authPrincipal, detail: steps[1]! });
  return { uri: name, authPrincipal: request.authPrincipal, actions, manualSteps: steps, warnings };
}
