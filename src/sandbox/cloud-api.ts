/**
 * CockroachDB Cloud API emulator (HTTP): organization, clusters (keyset pagination, sorted by
 * name), cluster PATCH for new regions, /cmek GET/POST/PUT/PATCH (state machine in
 * cloud-cmek.ts) and the client CA certificate (GET/POST/PATCH, DELETE without a body). Bearer
 * auth with roles, Cc-Version (echoed; malformed -> 400), 10 req/s per API key (429 +
 * Retry-After), errors as Status {code, message, details}, `x-request-id` on every answer. Each emulator starts from a deep copy of the seeded world (plus a generated fleet).
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Cluster, CmekClusterInfo, CmekKeySpec } from '../cloud/schemas.js';
import { ApiFailure, CmekEngine, INVALID_ARGUMENT, NOT_FOUND } from './cloud-cmek.js';
import { FaultPlan, RequestLog, type FaultRule } from './faults.js';
import { generateFleet } from './fleet.js';
import { startHttpEmulator, type HttpReply } from './http-server.js';
import type { KeyAccessResult } from './index.js';
import { CLUSTERS, CMEK, ORGANIZATION, SANDBOX_API_KEY } from './seed.js';

/** A second sandbox key with a read-only role (CLUSTER_DEVELOPER): /cmek answers it 403. */
export const SANDBOX_VIEWER_API_KEY = 'CCDB1_sandbox_viewer_only_000000000000000';

export type CloudRole = 'CLUSTER_ADMIN' | 'CLUSTER_OPERATOR_WRITER' | 'CLUSTER_DEVELOPER';

export interface CloudApiEmulatorOptions {
  checkKeyAccess(spec: CmekKeySpec): Promise<KeyAccessResult>;
  /** How long ENABLING/ROTATING/REVOKING last before the terminal state. */
  cmekTransitionMs: number;
  /** Requests per second per API key before 429 + Retry-After. */
  rateLimitPerSecond: number;
  /** Extra generated clusters (for fleet benchmarks). */
  fleetSize: number;
  /** API keys and their roles (default: SANDBOX_API_KEY as CLUSTER_ADMIN, SANDBOX_VIEWER_API_KEY as CLUSTER_DEVELOPER). */
  apiKeys?: Record<string, CloudRole>;
}

export interface CloudApiEmulator {
  url: string;
  apiKey: string;
  rateLimitPerSecond: number;
  /** Faults applied before a request is handled (it is then not processed). */
  faults: FaultPlan;
  /**
   * Faults applied after a mutation was applied (server_error, hang, reset): the change happened
   * but the client sees a failure — the ambiguous case a client must reconcile.
   */
  commitFaults: FaultPlan;
  log: RequestLog;
  /** The next PUT /cmek touching `region` ends in ROTATE_FAILED for that region. */
  failRegionOnNextRotate(region: string): void;
  /** Accepted CMEK mutations (POST/PUT/PATCH /cmek), for one cluster or all. */
  cmekMutations(clusterId?: string): number;
  /** Copies of the current state, for assertions. */
  cluster(clusterId: string): Cluster | undefined;
  cmek(clusterId: string): CmekClusterInfo | undefined;
  /** Edits the live world in place (hostile-upstream tests: names, labels, messages); reset() restores it. */
  edit(change: (world: ReturnType<typeof freshWorld>) => void): void;
  /** Changes how long the next CMEK operations take (reset() restores the started value). */
  setCmekTransitionMs(ms: number): void;
  /** Completes every pending CMEK transition now (deterministic tests). */
  settle(): Promise<void>;
  /** Back to the seeded world: state, faults, log, rate windows, pending transitions. */
  reset(): void;
  close(): Promise<void>;
}

const DEFAULT_CC_VERSION = '2022-03-31';
const CMEK_ROLES: readonly CloudRole[] = ['CLUSTER_ADMIN', 'CLUSTER_OPERATOR_WRITER'];
const DEFAULT_PAGE = 100;
const MAX_PAGE = 500;
const CODE_FOR_STATUS: Record<number, number> = { 400: 3, 401: 16, 403: 7, 404: 5, 409: 10, 429: 8, 500: 13, 501: 12, 502: 14, 503: 14, 504: 4 };

function status(http: number, code: number, message: string, headers: Record<string, string> = {}): HttpReply {
  return { status: http, headers, body: { code, message, details: [] } };
}

function route(method: string, pathname: string): { operation: string; clusterId?: string } {
  const parts = pathname.replace(/\/+$/, '').split('/').slice(1);
  if (parts[0] !== 'api' || parts[1] !== 'v1') return { operation: `${method} ${pathname}` };
  const rest = parts.slice(2);
  if (rest.length === 1 && rest[0] === 'organization') return { operation: `${method} /organization` };
  if (rest[0] !== 'clusters') return { operation: `${method} ${pathname}` };
  if (rest.length === 1) return { operation: `${method} /clusters` };
  let clusterId: string;
  try {
    clusterId = decodeURIComponent(rest[1]!);
  } catch {
    return { operation: `${method} ${pathname}` };
  }
  if (rest.length === 2) return { operation: `${method} /cluster`, clusterId };
  if (rest.length === 3 && rest[2] === 'cmek') return { operation: `${method} /cmek`, clusterId };
  if (rest.length === 3 && rest[2] === 'client-ca-cert') return { operation: `${method} /client-ca-cert`, clusterId };
  return { operation: `${method} ${pathname}` };
}

function freshWorld(fleetSize: number) {
  const fleet = generateFleet(fleetSize);
  const clusters = new Map<string, Cluster>([...CLUSTERS, ...fleet.clusters].map((cluster) => [cluster.id, structuredClone(cluster)]));
  const cmek = new Map<string, CmekClusterInfo>(Object.entries({ ...CMEK, ...fleet.cmek }).map(([id, info]) => [id, structuredClone(info)]));
  /** Client CA certificate (PEM) per cluster id; absent: NOT_SET. */
  const clientCa = new Map<string, string>();
  return { organization: structuredClone(ORGANIZATION), clusters, cmek, clientCa };
}

const PEM_CERT = /^-----BEGIN CERTIFICATE-----\r?\n[\s\S]+?\r?\n-----END CERTIFICATE-----\s*$/;

/** The x509_pem_cert of a client CA POST/PATCH body, or an INVALID_ARGUMENT failure. */
function pemOf(body: unknown): string {
  const pem = (body as { x509_pem_cert?: unknown } | undefined)?.x509_pem_cert;
  if (typeof pem !== 'string' || !PEM_CERT.test(pem))
    throw new ApiFailure(400, INVALID_ARGUMENT, 'x509_pem_cert must hold a PEM-encoded certificate (-----BEGIN CERTIFICATE----- ...)');
  return pem;
}

function encodePage(cluster: Cluster): string {
  return Buffer.from(JSON.stringify([cluster.name, cluster.id])).toString('base64url');
}

function decodePage(token: string): [string, string] {
  try {
    const value: unknown = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    if (Array.isArray(value) && value.length === 2 && value.every((part) => typeof part === 'string')) return value as [string, string];
  } catch {
    // fall through to the error below
  }
  throw new ApiFailure(400, INVALID_ARGUMENT, 'pagination.page is not a valid page token; pass next_page from the previous response');
}

/** Starts the emulator on 127.0.0.1 with an ephemeral port. */
export async function startCloudApiEmulator(options: CloudApiEmulatorOptions): Promise<CloudApiEmulator> {
  const apiKeys = options.apiKeys ?? { [SANDBOX_API_KEY]: 'CLUSTER_ADMIN', [SANDBOX_VIEWER_API_KEY]: 'CLUSTER_DEVELOPER' };
  const faults = new FaultPlan();
  const commitFaults = new FaultPlan();
  const log = new RequestLog();
  let world = freshWorld(options.fleetSize);
  let transitionMs = options.cmekTransitionMs;
  const windows = new Map<string, number[]>();
  const engineFor = () =>
    new CmekEngine({ clusters: world.clusters, cmek: world.cmek, checkKeyAccess: options.checkKeyAccess, transitionMs: () => transitionMs });
  let engine = engineFor();

  const faultReply = (rule: FaultRule): HttpReply => {
    const http = rule.kind === 'throttle' ? 429 : (rule.status ?? 503);
    const headers: Record<string, string> = { 'x-request-id': randomUUID() };
    if (http === 429) headers['retry-after'] = String(rule.retryAfterSeconds ?? 1);
    const message = http === 429 ? 'rate limit exceeded: too many requests for this API key' : (rule.message ?? `sandbox fault: injected HTTP ${http}`);
    return status(http, CODE_FOR_STATUS[http] ?? 2, message, headers);
  };

  /** Admits a request under the per-key sliding window, or answers 429 with Retry-After. */
  const throttle = (apiKey: string): HttpReply | undefined => {
    const now = Date.now();
    const starts = (windows.get(apiKey) ?? []).filter((at) => now - at < 1000);
    windows.set(apiKey, starts);
    if (starts.length >= options.rateLimitPerSecond) {
      const retryAfter = Math.max(1, Math.ceil((starts[0]! + 1000 - now) / 1000));
      return status(429, 8, `rate limit exceeded: at most ${options.rateLimitPerSecond} requests per second per API key`, {
        'retry-after': String(retryAfter),
      });
    }
    starts.push(now);
    return undefined;
  };

  const clusterOf = (clusterId: string | undefined): Cluster => {
    const cluster = clusterId === undefined ? undefined : world.clusters.get(clusterId);
    if (!cluster) throw new ApiFailure(404, NOT_FOUND, `cluster ${clusterId} not found`);
    return cluster;
  };

  const listClusters = (url: URL): HttpReply => {
    const limitText = url.searchParams.get('pagination.limit');
    const limit = limitText === null ? DEFAULT_PAGE : Number(limitText);
    if (!Number.isInteger(limit) || limit < 1)
      throw new ApiFailure(400, INVALID_ARGUMENT, `pagination.limit must be a positive integer, got ${JSON.stringify(limitText)}`);
    const sortBy = url.searchParams.get('pagination.sort_by') ?? 'NAME';
    if (sortBy !== 'NAME') throw new ApiFailure(400, INVALID_ARGUMENT, `pagination.sort_by ${sortBy} is not supported by the sandbox; use NAME`);
    const order = url.searchParams.get('pagination.sort_order') ?? 'ASC';
    if (order !== 'ASC' && order !== 'DESC') throw new ApiFailure(400, INVALID_ARGUMENT, `pagination.sort_order must be ASC or DESC, got ${order}`);
    const direction = order === 'ASC' ? 1 : -1;
    const key = (cluster: Cluster): [string, string] => [cluster.name, cluster.id];
    const compare = (a: [string, string], b: [string, string]) => direction * (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0);
    const sorted = [...world.clusters.values()].sort((a, b) => compare(key(a), key(b)));
    const token = url.searchParams.get('pagination.page');
    const after = token ? decodePage(token) : undefined;
    const remaining = after ? sorted.filter((cluster) => compare(key(cluster), after) > 0) : sorted;
    const page = remaining.slice(0, Math.min(limit, MAX_PAGE));
    const more = remaining.length > page.length;
    return { status: 200, body: { clusters: page, pagination: more ? { next_page: encodePage(page.at(-1)!) } : {} } };
  };

  const dispatch = (method: string, operation: string, url: URL, clusterId: string | undefined, body: unknown): HttpReply => {
    const ok = (value: unknown): HttpReply => ({ status: 200, body: value });
    switch (operation) {
      case 'GET /organization':
        return ok(world.organization);
      case 'GET /clusters':
        return listClusters(url);
      case 'GET /cluster':
        return ok(clusterOf(clusterId));
      case 'PATCH /cluster':
        return ok(engine.updateCluster(clusterOf(clusterId), body));
      case 'GET /cmek':
        return ok(engine.read(clusterOf(clusterId)));
      case 'POST /cmek':
        return ok(engine.enable(clusterOf(clusterId), body));
      case 'PUT /cmek':
        return ok(engine.rotate(clusterOf(clusterId), body));
      case 'PATCH /cmek':
        return ok(engine.revoke(clusterOf(clusterId), body));
      case 'GET /client-ca-cert': {
        const pem = world.clientCa.get(clusterOf(clusterId).id);
        return ok(pem ? { status: 'IS_SET', x509_pem_cert: pem } : { status: 'NOT_SET' });
      }
      case 'POST /client-ca-cert':
      case 'PATCH /client-ca-cert': {
        const cluster = clusterOf(clusterId);
        const set = world.clientCa.has(cluster.id);
        if (method === 'POST' && set) throw new ApiFailure(409, 6, `a client CA certificate is already set on cluster ${cluster.name}; update it with PATCH`);
        if (method === 'PATCH' && !set) throw new ApiFailure(400, 9, `no client CA certificate is set on cluster ${cluster.name}; set one with POST`);
        const pem = pemOf(body);
        world.clientCa.set(cluster.id, pem);
        return ok({ status: 'IS_SET', x509_pem_cert: pem });
      }
      case 'DELETE /client-ca-cert': {
        const cluster = clusterOf(clusterId);
        if (!world.clientCa.delete(cluster.id)) throw new ApiFailure(400, 9, `no client CA certificate is set on cluster ${cluster.name}`);
        return ok({ status: 'NOT_SET' });
      }
      default:
        if (/^\w+ \/(organization|clusters|cluster|cmek|client-ca-cert)$/.test(operation))
          return status(405, 12, `method ${method} is not allowed on ${url.pathname}`);
        return status(404, NOT_FOUND, 'Not Found');
    }
  };

  const handle = async (request: IncomingMessage, rawBody: string, operation: string): Promise<HttpReply> => {
    const method = request.method ?? 'GET';
    const headers: Record<string, string> = { 'x-request-id': randomUUID() };
    const answer = (reply: HttpReply): HttpReply => ({ ...reply, headers: { ...headers, ...reply.headers } });
    const auth = request.headers.authorization;
    if (!auth) return answer(status(401, 16, 'missing credentials: send Authorization: Bearer <API key>'));
    const apiKey = /^Bearer (.+)$/.exec(auth)?.[1];
    const role = apiKey === undefined ? undefined : apiKeys[apiKey];
    if (!apiKey || !role) return answer(status(401, 16, 'invalid API key: the bearer token is not a valid API key for this organization'));
    const throttled = throttle(apiKey);
    if (throttled) return answer(throttled);
    const ccVersion = request.headers['cc-version'];
    if (typeof ccVersion === 'string' && (!/^\d{4}-\d{2}-\d{2}$/.test(ccVersion) || Number.isNaN(Date.parse(ccVersion)))) {
      return answer(status(400, INVALID_ARGUMENT, `invalid Cc-Version header ${JSON.stringify(ccVersion)}: expected a version date such as 2024-09-16`));
    }
    headers['cc-version'] = typeof ccVersion === 'string' ? ccVersion : DEFAULT_CC_VERSION;
    const url = new URL(request.url ?? '/', 'http://sandbox');
    const { clusterId } = route(method, url.pathname);
    const mutation = method !== 'GET';
    if (operation.endsWith(' /cmek') || operation.endsWith(' /client-ca-cert') || operation === 'PATCH /cluster') {
      if (!CMEK_ROLES.includes(role))
        return answer(status(403, 7, `permission denied: ${operation} needs role CLUSTER_ADMIN or CLUSTER_OPERATOR_WRITER; this API key has ${role}`));
    }
    // DeleteClientCACert declares no request body (OpenAPI): a strict server refuses one rather than guess at it.
    if (method === 'DELETE' && rawBody.length > 0) return answer(status(400, INVALID_ARGUMENT, `${operation} takes no request body`));
    let body: unknown;
    if (mutation && rawBody.trim()) {
      try {
        body = JSON.parse(rawBody);
      } catch {
        return answer(status(400, INVALID_ARGUMENT, 'request body is not valid JSON'));
      }
    }
    let reply: HttpReply;
    try {
      reply = dispatch(method, operation, url, clusterId, body);
    } catch (error) {
      if (!(error instanceof ApiFailure)) throw error;
      return answer(status(error.status, error.code, error.message));
    }
    if (mutation && reply.status === 200) {
      const fault = commitFaults.take({ method, operation });
      if (fault?.kind === 'hang' || fault?.kind === 'reset') {
        log.record({ at: Date.now(), method, operation, status: 0 });
        if (fault.kind === 'reset') request.socket.destroy();
        return new Promise<HttpReply>(() => {});
      }
      if (fault) return answer(faultReply(fault));
    }
    return answer({ ...reply, body: structuredClone(reply.body) });
  };

  const server = await startHttpEmulator({
    name: 'CockroachDB Cloud API',
    faults,
    log,
    operationOf: (request) => route(request.method ?? 'GET', new URL(request.url ?? '/', 'http://sandbox').pathname).operation,
    handle,
    faultReply,
  });

  return {
    url: server.url,
    apiKey: SANDBOX_API_KEY,
    rateLimitPerSecond: options.rateLimitPerSecond,
    faults,
    commitFaults,
    log,
    failRegionOnNextRotate: (region) => engine.failRegionOnNextRotate(region),
    cmekMutations: (clusterId) => engine.mutationCount(clusterId),
    cluster: (clusterId) => structuredClone(world.clusters.get(clusterId)),
    cmek: (clusterId) => structuredClone(world.cmek.get(clusterId)),
    edit: (change) => change(world),
    setCmekTransitionMs(ms) {
      transitionMs = ms;
    },
    settle: () => engine.settle(),
    reset() {
      transitionMs = options.cmekTransitionMs;
      engine.reset();
      world = freshWorld(options.fleetSize);
      engine = engineFor();
      windows.clear();
      faults.reset();
      commitFaults.reset();
      log.clear();
    },
    async close() {
      engine.reset();
      await server.close();
    },
  };
}
