/**
 * IAM policy reasoning for Cloud KMS keys: does CockroachDB's service account hold
 * roles/cloudkms.cryptoKeyEncrypterDecrypter on the key (directly or through the key ring), which
 * grants are broader than CMEK needs, and the read-modify-write that adds the binding.
 */
import type { AccessCheck } from '../../provider.js';

/** The role CockroachDB's service account needs on the key. */
export const ENCRYPTER_DECRYPTER = 'roles/cloudkms.cryptoKeyEncrypterDecrypter';

/** Roles that let a principal do far more than encrypt and decrypt with one key. */
const BROAD_ROLES = new Set(['roles/owner', 'roles/editor', 'roles/cloudkms.admin', 'roles/cloudkms.cryptoOperator']);
const PUBLIC_MEMBERS = new Set(['allUsers', 'allAuthenticatedUsers']);

export interface PolicyBinding {
  role?: string | null;
  members?: string[] | null;
  condition?: { title?: string | null; expression?: string | null } | null;
}

export interface IamPolicy {
  version?: number | null;
  bindings?: PolicyBinding[] | null;
  etag?: Uint8Array | string | null;
}

/** A resource's policy; `policy` undefined when it could not be read. */
export interface ResourcePolicy {
  label: string;
  policy?: IamPolicy;
}

/** IAM member string for a principal given as an email (or already as `type:email`). */
export function memberOf(principal: string): string {
  return principal.includes(':') || PUBLIC_MEMBERS.has(principal) ? principal : `serviceAccount:${principal}`;
}

function holds(binding: PolicyBinding, role: string, member: string): boolean {
  return binding.role === role && (binding.members ?? []).includes(member);
}

/** Whether `policy` grants `role` to `member` without a condition. */
export function grants(policy: IamPolicy | undefined, role: string, member: string): boolean {
  return (policy?.bindings ?? []).some((binding) => !binding.condition?.expression && holds(binding, role, member));
}

/** Access of `principal` to a key given the key's and its key ring's policies. */
export function analyzeAccess(principal: string, key: ResourcePolicy, ring: ResourcePolicy): AccessCheck {
  const member = memberOf(principal);
  const broader: string[] = [];
  const notes: string[] = [];
  for (const { label, policy } of [key, ring]) {
    for (const binding of policy?.bindings ?? []) {
      for (const publicMember of (binding.members ?? []).filter((m) => PUBLIC_MEMBERS.has(m))) {
        broader.push(`${publicMember} has ${binding.role} on ${label}`);
      }
      if (BROAD_ROLES.has(binding.role ?? '') && (binding.members ?? []).includes(member)) broader.push(`${member} has ${binding.role} on ${label}`);
      if (binding.condition?.expression && holds(binding, ENCRYPTER_DECRYPTER, member)) {
        notes.push(`the grant on ${label} has condition "${binding.condition.title || binding.condition.expression}"; CMEK needs it unconditionally`);
      }
    }
  }
  const onKey = grants(key.policy, ENCRYPTER_DECRYPTER, member);
  const onRing = grants(ring.policy, ENCRYPTER_DECRYPTER, member);
  if (onRing) broader.push(`${member} has ${ENCRYPTER_DECRYPTER} on ${ring.label}, which covers every key in the ring; grant it on the key instead`);
  if (!ring.policy) notes.push(`the policy of ${ring.label} could not be read, so an inherited grant may be missed`);
  const granted = onKey || onRing;
  if (!granted) notes.push('grants at project or folder level are not visible through Cloud KMS');
  const summary = granted
    ? `${member} has ${ENCRYPTER_DECRYPTER} on ${onKey ? key.label : ring.label}.`
    : `${member} lacks ${ENCRYPTER_DECRYPTER} on ${key.label}.`;
  return {
    granted,
    missing: granted ? [] : [ENCRYPTER_DECRYPTER],
    broader,
    verified: true,
    detail: [summary, ...notes.map((note) => `Note: ${note}.`)].join(' '),
  };
}

/** The policy with `member` added to `role`, or undefined when it already holds it unconditionally. */
export function withBinding(policy: IamPolicy, role: string, member: string): IamPolicy | undefined {
  if (grants(policy, role, member)) return undefined;
  const bindings = (policy.bindings ?? []).map((binding) => ({ ...binding, members: [...(binding.members ?? [])] }));
  const target = bindings.find((binding) => binding.role === role && !binding.condition?.expression);
  if (target) target.members.push(member);
  else bindings.push({ role, members: [member] });
  return { ...policy, bindings };
}
