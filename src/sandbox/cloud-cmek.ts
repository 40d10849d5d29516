/**
 * The Cloud API emulator's CMEK state machine: enable (POST), rotate (PUT), revoke (PATCH) and
 * adding regions with their keys (PATCH cluster), each moving through ENABLING / ROTATING /
 * REVOKING to a terminal state after `transitionMs`, asking the KMS emulators whether
 * CockroachDB could use each key. Rules follow DOMAIN.md and the OpenAPI excerpt.
 */
import { z } from 'zod';
import {
  cmekRegionSpecSchema,
  type Cluster,
  type CmekClusterInfo,
  type CmekKeyInfo,
  type CmekKeyType,
  type CmekRegionInfo,
  type CmekRegionSpec,
  type CmekStatus,
} from '../cloud/schemas.js';
import type { KeyAccessResult } from './index.js';

/** A rejected request: HTTP status, google.rpc code, message. */
export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

export const INVALID_ARGUMENT = 3;
export const NOT_FOUND = 5;
export const FAILED_PRECONDITION = 9;
export const ABORTED = 10;

const invalid = (message: string) => new ApiFailure(400, INVALID_ARGUMENT, message);
const precondition = (message: string) => new ApiFailure(400, FAILED_PRECONDITION, message);

/** The key type CockroachDB Cloud accepts on each cloud. */
export const KEY_TYPE_FOR_PROVIDER: Record<Cluster['cloud_provider'], CmekKeyType> = {
  AWS: 'AWS_KMS',
  GCP: 'GCP_CLOUD_KMS',
  AZURE: 'AZURE_KEY_VAULT',
};

const IN_PROGRESS: readonly CmekStatus[] = ['ENABLING', 'ROTATING', 'REVOKING', 'DISABLING'];

function formatIssue(field: string, error: z.ZodError): string {
  const issue = error.issues[0]!;
  const path = issue.path.map((part) => (typeof part === 'number' ? `[${part}]` : `.${String(part)}`)).join('');
  return `${field}${path}: ${issue.message}`;
}

/** Parses a region_specs array, rejecting malformed entries, duplicates and keys of the wrong cloud. */
export function parseRegionSpecs(value: unknown, field: string, cluster: Cluster): CmekRegionSpec[] {
  const parsed = z.array(cmekRegionSpecSchema).safeParse(value);
  if (!parsed.success) throw invalid(formatIssue(field, parsed.error));
  const seen = new Set<string>();
  const expected = KEY_TYPE_FOR_PROVIDER[cluster.cloud_provider];
  for (const [index, spec] of parsed.data.entries()) {
    if (seen.has(spec.region)) throw invalid(`${field} names region ${spec.region} more than once`);
    seen.add(spec.region);
    if (spec.key_spec.type !== expected) {
      throw invalid(
        `${field}[${index}].key_spec.type ${spec.key_spec.type} does not match the cluster's cloud provider ${cluster.cloud_provider} (expected ${expected})`,
      );
    }
    if (!spec.key_spec.uri.trim()) throw invalid(`${field}[${index}].key_spec.uri must not be empty`);
    if (!spec.key_spec.auth_principal.trim()) throw invalid(`${field}[${index}].key_spec.auth_principal must not be empty`);
  }
  return parsed.data;
}

/** Cluster status from its regions: any failure, else any operation in progress, else the common state. */
export function deriveClusterStatus(regions: readonly CmekRegionInfo[]): CmekStatus {
  const statuses = regions.map((region) => region.status ?? 'DISABLED');
  return (
    statuses.find((status) => status.endsWith('_FAILED')) ??
    statuses.find((status) => IN_PROGRESS.includes(status)) ??
    (statuses.every((status) => status === statuses[0]) ? statuses[0] : 'ENABLED') ??
    'DISABLED'
  );
}

export interface CmekEngineOptions {
  clusters: Map<string, Cluster>;
  cmek: Map<string, CmekClusterInfo>;
  checkKeyAccess(spec: CmekRegionSpec['key_spec']): Promise<KeyAccessResult>;
  /** Read at each operation, so tests can change it between operations. */
  transitionMs(): number;
}

/** One region's part of an operation: which key moves, and whether the sandbox forces a failure. */
interface RegionStep {
  region: CmekRegionInfo;
  key: CmekKeyInfo;
  spec: CmekRegionSpec['key_spec'];
  forcedFailure?: string;
}

const now = () => new Date().toISOString();

/** Owns the CMEK side of the Cloud API emulator's state. */
export class CmekEngine {
  /** Scheduled transitions: timer -> run it now. */
  private readonly pending = new Map<NodeJS.Timeout, () => Promise<void>>();
  private readonly failNextRotate = new Set<string>();
  private readonly mutations = new Map<string, number>();
  /** Bumped by reset()/close(): transitions scheduled before then are dropped. */
  private generation = 0;

  constructor(private readonly options: CmekEngineOptions) {}

  /** GET /cmek. */
  read(cluster: Cluster): CmekClusterInfo {
    const info = this.options.cmek.get(cluster.id);
    // Design choice: a cluster that never had CMEK answers 404 (the Terraform provider reads a 404
    // as "no CMEK"), with a message saying so; the client maps it to null.
    if (!info) throw new ApiFailure(404, NOT_FOUND, `CMEK is not enabled for cluster ${cluster.id}`);
    return info;
  }

  /** POST /cmek: every cluster region, nothing else, ADVANCED only, not already on. */
  enable(cluster: Cluster, body: unknown): CmekClusterInfo {
    if (cluster.plan !== 'ADVANCED') {
      throw precondition(`CMEK requires the ADVANCED plan; cluster ${cluster.name} is on ${cluster.plan}`);
    }
    this.assertIdle(cluster);
    if (cluster.state !== 'CREATED') throw precondition(`cluster ${cluster.name} is ${cluster.state}; CMEK can be enabled only on a CREATED cluster`);
    const existing = this.options.cmek.get(cluster.id);
    if (existing?.status === 'REVOKED' || existing?.status === 'REVOKING') {
      throw precondition(`CMEK on cluster ${cluster.name} was revoked; restoring it needs Cockroach Labs support`);
    }
    if (existing && existing.status !== 'ENABLE_FAILED' && existing.status !== 'DISABLED') {
      throw precondition(`CMEK is already enabled on cluster ${cluster.name} (status ${existing.status}); use PUT /cmek to rotate keys`);
    }
    const specs = parseRegionSpecs(field(body, 'region_specs'), 'region_specs', cluster);
    const regions = cluster.regions.map((region) => region.name);
    const unknown = specs.filter((spec) => !regions.includes(spec.region)).map((spec) => spec.region);
    if (unknown.length)
      throw invalid(`region_specs names ${unknown.join(', ')}, which is not a region of cluster ${cluster.name} (regions: ${regions.join(', ')})`);
    const missing = regions.filter((name) => !specs.some((spec) => spec.region === name));
    if (missing.length) throw invalid(`region_specs must include a key for every region of the cluster; missing: ${missing.join(', ')}`);
    const info: CmekClusterInfo = existing ?? { status: 'ENABLING', region_infos: [] };
    const steps = specs.map((spec) => {
      let region = info.region_infos!.find((candidate) => candidate.region === spec.region);
      if (!region) {
        region = { region: spec.region, status: 'ENABLING', key_infos: [] };
        info.region_infos!.push(region);
      }
      // Keys of a failed earlier attempt never protected data: drop them; keep any that did.
      region.key_infos = (region.key_infos ?? []).filter((key) => key.status !== 'ENABLE_FAILED');
      return this.target(region, spec.key_spec, 'ENABLING');
    });
    info.region_infos!.sort((a, b) => (a.region ?? '').localeCompare(b.region ?? ''));
    this.options.cmek.set(cluster.id, info);
    this.start(cluster, info, steps, 'ENABLED', 'ENABLE_FAILED');
    return info;
  }

  /** PUT /cmek: re-wrap or switch keys in the listed regions; allowed when ENABLED or resuming a ROTATE_FAILED. */
  rotate(cluster: Cluster, body: unknown): CmekClusterInfo {
    const info = this.options.cmek.get(cluster.id);
    if (!info) throw precondition(`CMEK is not enabled for cluster ${cluster.name}; enable it with POST /cmek first`);
    this.assertIdle(cluster);
    const blocking = (info.region_infos ?? []).filter((region) => region.status !== 'ENABLED' && region.status !== 'ROTATE_FAILED');
    if (blocking.length) {
      throw precondition(
        `CMEK keys can be rotated only when CMEK is ENABLED; cluster ${cluster.name} is ${info.status} (${blocking.map((r) => `${r.region} ${r.status}`).join(', ')})`,
      );
    }
    const specs = parseRegionSpecs(field(body, 'region_specs'), 'region_specs', cluster);
    if (specs.length === 0) throw invalid('region_specs must name at least one region to rotate');
    const steps = specs.map((spec) => {
      const region = info.region_infos!.find((candidate) => candidate.region === spec.region);
      if (!region) {
        const known = info.region_infos!.map((candidate) => candidate.region).join(', ');
        throw invalid(
          `region ${spec.region} has no CMEK configuration on cluster ${cluster.name} (regions: ${known}); add new regions with PATCH /clusters/{id}`,
        );
      }
      return region;
    });
    const planned = specs.map((spec, index) => {
      const step = this.target(steps[index]!, spec.key_spec, 'ROTATING');
      if (this.failNextRotate.delete(spec.region)) {
        step.forcedFailure = `The KMS refused the request: CockroachDB Cloud could not re-wrap the store key in ${spec.region} with ${spec.key_spec.uri} (sandbox fault injected by failRegionOnNextRotate). Check the key's state and grants, then retry the rotation for this region.`;
      }
      return step;
    });
    this.start(cluster, info, planned, 'ENABLED', 'ROTATE_FAILED');
    return info;
  }

  /** PATCH /cmek {"action":"REVOKE"}: only from ENABLED. */
  revoke(cluster: Cluster, body: unknown): CmekClusterInfo {
    const action = field(body, 'action');
    if (action !== 'REVOKE') throw invalid(`action must be "REVOKE" (the only CMEKCustomerAction); got ${JSON.stringify(action ?? null)}`);
    const info = this.options.cmek.get(cluster.id);
    if (!info) throw precondition(`CMEK is not enabled for cluster ${cluster.name}; there is nothing to revoke`);
    this.assertIdle(cluster);
    if (info.status !== 'ENABLED') throw precondition(`CMEK can be revoked only when ENABLED; cluster ${cluster.name} is ${info.status}`);
    const regions = info.region_infos ?? [];
    for (const region of regions) {
      region.status = 'REVOKING';
      for (const key of region.key_infos ?? []) if (key.status === 'ENABLED') Object.assign(key, { status: 'REVOKING', updated_at: now() });
    }
    info.status = 'REVOKING';
    this.count(cluster.id);
    cluster.operation_status = 'CRDB_CMEK_OPERATION_RUNNING';
    this.later(async () => {
      for (const region of regions) {
        region.status = 'REVOKED';
        for (const key of region.key_infos ?? []) if (key.status === 'REVOKING') Object.assign(key, { status: 'REVOKED', updated_at: now() });
      }
      info.status = 'REVOKED';
      cluster.operation_status = 'UNSPECIFIED';
    });
    return info;
  }

  /**
   * PATCH /clusters/{id} with dedicated.region_nodes / cmek_region_specs: adds NEW regions (with
   * their keys when CMEK is on) and updates node counts. A spec for an existing region is invalid,
   * as is a spec without region_nodes adding its region; a map leaving a region out is refused.
   */
  updateCluster(cluster: Cluster, body: unknown): Cluster {
    const spec = z
      .strictObject({
        dedicated: z.strictObject({
          region_nodes: z.record(z.string().min(1), z.number().int().min(1)).optional(),
          cmek_region_specs: z.unknown().optional(),
        }),
      })
      .safeParse(body);
    if (!spec.success) throw invalid(`${formatIssue('body', spec.error)} (the sandbox supports dedicated.region_nodes and dedicated.cmek_region_specs)`);
    if (cluster.plan !== 'ADVANCED') throw precondition(`dedicated settings apply only to ADVANCED clusters; ${cluster.name} is ${cluster.plan}`);
    this.assertIdle(cluster);
    const regionNodes = spec.data.dedicated.region_nodes ?? {};
    const existing = new Set(cluster.regions.map((region) => region.name));
    const added = Object.keys(regionNodes).filter((name) => !existing.has(name));
    // region_nodes is the cluster's whole region map: a region left out would be removed, which the sandbox does not emulate.
    const omitted = spec.data.dedicated.region_nodes ? [...existing].filter((name) => regionNodes[name] === undefined) : [];
    if (omitted.length)
      throw precondition(
        `dedicated.region_nodes leaves out ${omitted.join(', ')}, which would remove them from cluster ${cluster.name}; the sandbox does not remove regions (list every existing region with its node count)`,
      );
    const cmekSpecs =
      spec.data.dedicated.cmek_region_specs === undefined
        ? []
        : parseRegionSpecs(spec.data.dedicated.cmek_region_specs, 'dedicated.cmek_region_specs', cluster);
    for (const cmekSpec of cmekSpecs) {
      if (existing.has(cmekSpec.region))
        throw invalid(`dedicated.cmek_region_specs must name only newly added regions; ${cmekSpec.region} already exists (rotate its key with PUT /cmek)`);
      if (!added.includes(cmekSpec.region))
        throw invalid(`dedicated.cmek_region_specs names ${cmekSpec.region}, which is not being added in dedicated.region_nodes`);
    }
    const info = this.options.cmek.get(cluster.id);
    const cmekOn = info !== undefined && info.status !== 'DISABLED';
    if (!cmekOn && cmekSpecs.length) throw precondition(`CMEK is not enabled for cluster ${cluster.name}; enable it with POST /cmek first`);
    const uncovered = added.filter((name) => !cmekSpecs.some((cmekSpec) => cmekSpec.region === name));
    if (cmekOn && uncovered.length)
      throw invalid(
        `CMEK is enabled on cluster ${cluster.name}: dedicated.cmek_region_specs must include a key for each new region; missing: ${uncovered.join(', ')}`,
      );

    for (const region of cluster.regions) if (regionNodes[region.name] !== undefined) region.node_count = regionNodes[region.name];
    for (const name of added) cluster.regions.push(newRegion(name, cluster.cloud_provider, regionNodes[name]!));
    cluster.updated_at = now();
    if (cmekOn && cmekSpecs.length) {
      const steps = cmekSpecs.map((cmekSpec) => {
        const region: CmekRegionInfo = { region: cmekSpec.region, status: 'ENABLING', key_infos: [] };
        info.region_infos = [...(info.region_infos ?? []), region].sort((a, b) => (a.region ?? '').localeCompare(b.region ?? ''));
        return this.target(region, cmekSpec.key_spec, 'ENABLING');
      });
      this.start(cluster, info, steps, 'ENABLED', 'ENABLE_FAILED');
    } else if (added.length) {
      cluster.operation_status = 'CRDB_SCALE_RUNNING';
      this.later(async () => {
        cluster.operation_status = 'UNSPECIFIED';
      });
    }
    return cluster;
  }

  /** The next PUT /cmek touching `region` fails there (and only there). */
  failRegionOnNextRotate(region: string): void {
    this.failNextRotate.add(region);
  }

  /** Accepted CMEK mutations, for one cluster or all. */
  mutationCount(clusterId?: string): number {
    if (clusterId !== undefined) return this.mutations.get(clusterId) ?? 0;
    return [...this.mutations.values()].reduce((sum, n) => sum + n, 0);
  }

  /** Cancels pending transitions and forgets injected rotate failures and counts (also on close). */
  reset(): void {
    this.generation += 1;
    for (const timer of this.pending.keys()) clearTimeout(timer);
    this.pending.clear();
    this.failNextRotate.clear();
    this.mutations.clear();
  }

  private assertIdle(cluster: Cluster): void {
    if (cluster.operation_status?.endsWith('_RUNNING')) {
      throw new ApiFailure(409, ABORTED, `cluster ${cluster.name} has an operation in progress (${cluster.operation_status}); wait for it to finish and retry`);
    }
  }

  /**
   * Picks (or appends) the key_info for `spec` in `region` and marks it in progress. A rotation to
   * the same URI (a new AWS/GCP key version) keeps its key_info and bumps `updated_at` when the
   * re-wrap succeeds; a new URI gets a new key_info. lastWrappedAt (src/cmek/key-infos.ts) reads
   * rotation recency from exactly this.
   */
  private target(region: CmekRegionInfo, spec: CmekRegionSpec['key_spec'], status: CmekStatus): RegionStep {
    const keys = (region.key_infos ??= []);
    let key = keys.find((candidate) => candidate.spec?.uri === spec.uri);
    if (!key) {
      key = { spec: { ...spec }, created_at: now() };
      keys.push(key);
    }
    Object.assign(key, { spec: { ...spec }, status, updated_at: now() });
    delete key.user_message;
    region.status = status;
    return { region, key, spec };
  }

  /** Marks the operation running, then settles every step after the transition delay. */
  private start(cluster: Cluster, info: CmekClusterInfo, steps: RegionStep[], success: CmekStatus, failure: CmekStatus): void {
    info.status = deriveClusterStatus(info.region_infos ?? []);
    cluster.operation_status = 'CRDB_CMEK_OPERATION_RUNNING';
    this.count(cluster.id);
    this.later(async (generation) => {
      const results = await Promise.all(
        steps.map((step) => (step.forcedFailure ? { ok: false as const, message: step.forcedFailure } : this.check(step.spec))),
      );
      if (generation !== this.generation) return;
      steps.forEach((step, index) => {
        const result = results[index]!;
        const at = now();
        if (result.ok) {
          for (const other of step.region.key_infos ?? []) {
            if (other !== step.key && other.status !== 'DISABLED') Object.assign(other, { status: 'DISABLED', updated_at: at });
          }
          Object.assign(step.key, { status: success, updated_at: at });
          step.region.status = success;
        } else {
          Object.assign(step.key, { status: failure, updated_at: at, user_message: result.message });
          step.region.status = failure;
        }
      });
      info.status = deriveClusterStatus(info.region_infos ?? []);
      cluster.operation_status = results.every((result) => result.ok) ? 'UNSPECIFIED' : 'CRDB_CMEK_OPERATION_FAILED';
    });
  }

  private async check(spec: CmekRegionSpec['key_spec']): Promise<KeyAccessResult> {
    try {
      return await this.options.checkKeyAccess(spec);
    } catch (error) {
      return { ok: false, message: `CockroachDB Cloud could not reach the KMS for ${spec.uri}: ${error instanceof Error ? error.message : String(error)}` };
    }
  }

  /** Runs every scheduled transition now (and any they schedule), for deterministic tests. */
  async settle(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending.values()].map((run) => run()));
  }

  private later(work: (generation: number) => Promise<void>): void {
    const generation = this.generation;
    const run = () => {
      clearTimeout(timer);
      this.pending.delete(timer);
      return work(generation);
    };
    const timer = setTimeout(run, this.options.transitionMs());
    timer.unref();
    this.pending.set(timer, run);
  }

  private count(clusterId: string): void {
    this.mutations.set(clusterId, (this.mutations.get(clusterId) ?? 0) + 1);
  }
}

function field(body: unknown, name: string): unknown {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw invalid('request body must be a JSON object');
  const value = (body as Record<string, unknown>)[name];
  if (value === undefined) throw invalid(`${name} is required`);
  return value;
}

/** A dedicated region as the API lists it. */
export function newRegion(name: string, provider: Cluster['cloud_provider'], nodes: number): Cluster['regions'][number] {
  const cloud = provider.toLowerCase();
  return {
    name,
    node_count: nodes,
    sql_dns: `${name}.${cloud}.crdb.example`,
    ui_dns: `ui.${name}.${cloud}.crdb.example`,
    internal_dns: `internal.${name}.${cloud}.crdb.example`,
    private_endpoint_dns: '',
  };
}
