/**
 * Every prompt this server offers, as data: name, title, description, arguments (all optional
 * strings, each with a completion source) and the plan builder. registerPrompts and the README
 * generator both read this list.
 */
import type { PromptPlan } from './plan.js';

/** Procedure texts load on first use, keeping start-up light. */
const guided = () => import('./guided.js');

/** Where an argument's completions come from. */
export type CompletionSource = 'tier' | 'reason' | 'provider' | 'mode' | 'frameworks' | 'cluster';

export interface PromptArgumentDef {
  name: string;
  description: string;
  complete: CompletionSource;
}

export interface PromptDef {
  name: string;
  title: string;
  description: string;
  arguments: PromptArgumentDef[];
  /** Builds the plan; rejects with PromptArgumentError for a value outside its vocabulary. */
  build(args: Record<string, string | undefined>): Promise<PromptPlan>;
}

const CLUSTER: PromptArgumentDef = { name: 'cluster', description: 'Cluster name or id (see list_clusters).', complete: 'cluster' };
const PROVIDER: PromptArgumentDef = { name: 'provider', description: 'Cloud KMS provider: AWS, GCP or Azure.', complete: 'provider' };

/** All prompts, in prompts/list order. */
export const PROMPTS: readonly PromptDef[] = [
  {
    name: 'gather_encryption_context',
    title: 'Gather encryption context',
    description:
      'Routes by tier, reason and provider to the right procedure (self-hosted certificate management, CMEK key management, managed TLS, or fully managed) and asks for whatever is missing. Start here.',
    arguments: [
      { name: 'tier', description: 'Deployment tier: Self-Hosted, Advanced, BYOC, Standard or Basic.', complete: 'tier' },
      {
        name: 'reason',
        description: 'Why now: Routine monitoring, Scheduled rotation, Key compromise, Compliance audit or Add SAN entries.',
        complete: 'reason',
      },
      PROVIDER,
    ],
    build: async (args) => (await import('./routing.js')).gatherEncryptionContext(args),
  },
  {
    name: 'enable_cmek_guided',
    title: 'Enable CMEK (guided)',
    description: 'Step-by-step CMEK enablement on a CockroachDB Cloud Advanced cluster: eligibility, key provisioning, dry runs, enable, verify.',
    arguments: [CLUSTER, PROVIDER],
    build: async (args) => (await guided()).enableCmekGuided(args),
  },
  {
    name: 'rotate_cmek_guided',
    title: 'Rotate CMEK (guided)',
    description: 'Step-by-step CMEK rotation (new key version or new key) with the PUT /cmek step the KMS alone does not do, and old keys kept.',
    arguments: [CLUSTER, { name: 'mode', description: 'new_version (same key, new material) or new_key.', complete: 'mode' }, PROVIDER],
    build: async (args) => (await guided()).rotateCmekGuided(args),
  },
  {
    name: 'respond_to_key_compromise',
    title: 'Respond to a key compromise',
    description:
      'Incident runbook for a suspected CMEK key compromise: contain in the KMS, rotate to a new key, verify; revocation only as a human-approved last resort.',
    arguments: [CLUSTER, PROVIDER],
    build: async (args) => (await guided()).respondToKeyCompromise(args),
  },
  {
    name: 'compliance_audit',
    title: 'Compliance audit',
    description: 'Fleet-wide encryption posture audit mapped to SOC 2, HIPAA and PCI DSS controls, with audit-log verification and the fix for each finding.',
    arguments: [
      { name: 'frameworks', description: 'Comma-separated: SOC2, HIPAA, PCI_DSS.', complete: 'frameworks' },
      { name: 'scope', description: 'Clusters (names or ids) or label=value to audit; default all clusters.', complete: 'cluster' },
    ],
    build: async (args) => (await guided()).complianceAudit(args),
  },
];
