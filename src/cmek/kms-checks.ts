/**
 * Live KMS checks with the server's own cloud credentials: the key exists, is usable, and grants
 * CockroachDB's principal what it needs. When our credentials cannot look (permission denied,
 * throttled, provider not configured) the check is a warning ("could not verify"), not a block:
 * CockroachDB Cloud will test access itself.
 */
import type { CmekRegionSpec } from '../cloud/schemas.js';
import { errorMessage } from '../errors.js';
import { KmsError, type KmsKeyType } from '../kms/provider.js';
import { mapLimited, type Check, type CmekEnv } from './context.js';

function couldNotVerify(check: string, region: string, error: unknown): Check {
  if (error instanceof KmsError && (error.kind === 'not_found' || error.kind === 'invalid')) {
    return { check, result: 'fail', region, detail: `${error.message}. Check the URI, or create the key with provision_cmek_key.` };
  }
  return {
    check,
    result: 'warn',
    region,
    detail: `Could not verify in the KMS with this server's credentials: ${errorMessage(error)}. CockroachDB Cloud checks access itself when the request is sent.`,
  };
}

/** describeKey + checkAccess for each spec (a few at a time). */
export async function checkKeysInKms(env: CmekEnv, specs: readonly CmekRegionSpec[]): Promise<Check[]> {
  const perSpec = await mapLimited(specs, 3, async (spec): Promise<Check[]> => {
    const { region } = spec;
    const type = spec.key_spec.type as KmsKeyType;
    let provider;
    try {
      provider = await env.kms.get(type);
    } catch (error) {
      return [couldNotVerify('key_usable', region, error)];
    }
    const checks: Check[] = [];
    try {
      const key = await provider.describeKey(spec.key_spec.uri, env.signal);
      if (!key.usable) {
        checks.push({
          check: 'key_usable',
          result: 'fail',
          region,
          detail: `The key is ${key.state} and cannot encrypt/decrypt; enable it (or pick another key) first.`,
        });
      } else if (key.deletion.scheduled) {
        checks.push({
          check: 'key_usable',
          result: 'fail',
          region,
          detail: `The key is scheduled for deletion${key.deletion.scheduledFor ? ` on ${key.deletion.scheduledFor}` : ''}; cancel the deletion or use another key.`,
        });
      } else {
        checks.push({ check: 'key_usable', result: 'pass', region, detail: `Key exists and is ${key.state}.` });
      }
    } catch (error) {
      if (env.signal.aborted) throw error;
      checks.push(couldNotVerify('key_usable', region, error));
    }
    try {
      const access = await provider.checkAccess(spec.key_spec.uri, spec.key_spec.auth_principal, env.signal);
      if (!access.verified) {
        checks.push({
          check: 'key_access',
          result: 'warn',
          region,
          detail: `Could not verify the grant${access.detail ? `: ${access.detail}` : ''}. CockroachDB Cloud checks access itself.`,
        });
      } else if (!access.granted) {
        checks.push({
          check: 'key_access',
          result: 'fail',
          region,
          detail: `${spec.key_spec.auth_principal} lacks ${access.missing.join(', ') || 'the permissions CockroachDB needs'} on the key; grant them (provision_cmek_key does) and retry.`,
        });
      } else {
        checks.push({ check: 'key_access', result: 'pass', region, detail: 'The principal has what CockroachDB needs on the key.' });
      }
      if (access.broader.length) {
        checks.push({ check: 'key_access_scope', result: 'warn', region, detail: `Grants broader than CockroachDB needs: ${access.broader.join(', ')}.` });
      }
    } catch (error) {
      if (env.signal.aborted) throw error;
      checks.push(couldNotVerify('key_access', region, error));
    }
    return checks;
  });
  return perSpec.flat();
}

/** A past or outgoing key that must stay usable. */
export interface KeptKey {
  region: string;
  type: KmsKeyType;
  uri: string;
}

/**
 * Warns about keys CockroachDB still needs (past and current) that are disabled or scheduled for
 * deletion. Never blocks: losing them makes data unreadable, so the operator must hear about it.
 */
export async function checkKeptKeys(env: CmekEnv, keys: readonly KeptKey[]): Promise<Check[]> {
  const unique = [...new Map(keys.map((key) => [`${key.type} ${key.uri}`, key])).values()];
  const results = await mapLimited(unique, 3, async (key): Promise<Check | undefined> => {
    try {
      const provider = await env.kms.get(key.type);
      const description = await provider.describeKey(key.uri, env.signal);
      if (description.deletion.scheduled) {
        return {
          check: 'kept_key_deletion',
          result: 'warn',
          region: key.region,
          detail: `${key.uri} is still referenced in key_infos but is scheduled for deletion${description.deletion.scheduledFor ? ` on ${description.deletion.scheduledFor}` : ''}: cancel the deletion now, or data written under it becomes unreadable.`,
        };
      }
      if (!description.usable) {
        return {
          check: 'kept_key_usable',
          result: 'warn',
          region: key.region,
          detail: `${key.uri} is still referenced in key_infos but is ${description.state}; re-enable it.`,
        };
      }
      return undefined;
    } catch (error) {
      if (env.signal.aborted) throw error;
      return { check: 'kept_key_deletion', result: 'warn', region: key.region, detail: `Could not check ${key.uri} in the KMS: ${errorMessage(error)}.` };
    }
  });
  return results.filter((check): check is Check => check !== undefined);
}
