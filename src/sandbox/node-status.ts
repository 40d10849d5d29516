/**
 * The DB Console HTTP side of the sandbox's self-hosted cluster: one listener per seeded node
 * (as each CockroachDB node serves its own port 8080), answering
 * - `GET /_status/vars`: Prometheus text of that node's metrics, with the client certificate
 *   metric as CockroachDB's aggregate prints it: a top-level value (the meaningless sum) and one
 *   child per SQL user labelled `sql_user`;
 * - `GET /_status/stores/local`: a StoresResponse whose `encryption_status` is a serialized
 *   enginepb.EncryptionStatus (absent for a plaintext store).
 * Real nodes require a DB Console admin login for /_status/stores; the stand-in does not.
 */
import { FaultPlan, RequestLog, type FaultRule } from './faults.js';
import { startHttpEmulator, type HttpReply, type RunningHttpEmulator } from './http-server.js';
import { clientCertExpirations, nodeMetrics, SEEDED_NODES, storeMetrics, type SeededNode } from './sql-seed.js';

export interface NodeStatusEmulator {
  /** Each seeded node's DB Console URL (http://127.0.0.1:PORT), for http_url. */
  nodes: Array<{ nodeId: number; url: string }>;
  faults: FaultPlan;
  log: RequestLog;
  close(): Promise<void>;
}

/** Prometheus name of a CockroachDB metric name. */
const promName = (name: string) => name.replace(/[.-]/g, '_');

/** /_status/vars of one node. */
export function prometheusVars(node: SeededNode, nowSeconds: number): string {
  const label = `node_id="${node.nodeId}"`;
  const lines: string[] = [];
  for (const [name, value] of Object.entries(nodeMetrics(node, nowSeconds))) {
    const prom = promName(name);
    lines.push(`# HELP ${prom} ${name}`, `# TYPE ${prom} gauge`, `${prom}{${label}} ${value}`);
    if (name === 'security.certificate.expiration.client') {
      for (const [user, expires] of Object.entries(clientCertExpirations(node, nowSeconds))) lines.push(`${prom}{${label},sql_user="${user}"} ${expires}`);
    }
  }
  for (const [name, value] of Object.entries(storeMetrics(node))) lines.push(`${promName(name)}{store="${node.nodeId}",${label}} ${value}`);
  return `${lines.join('\n')}\n`;
}

/** A protobuf base-128 varint. */
export function varint(value: number): number[] {
  const out: number[] = [];
  let rest = value;
  while (rest >= 0x80) {
    out.push((rest & 0x7f) | 0x80);
    rest = Math.floor(rest / 128);
  }
  out.push(rest);
  return out;
}

/** enginepb.KeyInfo {encryption_type = 1, key_id = 2, creation_time = 3, source = 4}. */
function keyInfo(type: number, keyId: string, createdSeconds: number, source: string): number[] {
  const bytes = (text: string) => [...Buffer.from(text, 'utf8')];
  const field = (tag: number, value: number[]) => [tag, ...varint(value.length), ...value];
  return [0x08, ...varint(type), ...field(0x12, bytes(keyId)), 0x18, ...varint(createdSeconds), ...field(0x22, bytes(source))];
}

/** /_status/stores/local of one node (one store per node, store id = node id). */
export function storesResponse(node: SeededNode, nowSeconds: number): unknown {
  const store: Record<string, unknown> = {
    store_id: node.nodeId,
    node_id: node.nodeId,
    total_files: '212',
    total_bytes: '134217728',
    active_key_files: '212',
    active_key_bytes: '134217728',
  };
  if (node.storeEncryption !== 0) {
    const storeKey = keyInfo(node.storeEncryption, `store-key-${node.nodeId}`, nowSeconds - 30 * 86_400, `/mnt/keys/aes-256.key`);
    const dataKey = keyInfo(node.storeEncryption, `data-key-${node.nodeId}`, nowSeconds - 86_400, 'data key manager');
    store.encryption_status = Buffer.from([0x0a, ...varint(storeKey.length), ...storeKey, 0x12, ...varint(dataKey.length), ...dataKey]).toString('base64');
  }
  return { stores: [store] };
}

function faultReply(rule: FaultRule): HttpReply {
  return rule.kind === 'throttle' ? { status: 429, body: { error: 'too many requests' } } : { status: rule.status ?? 503, body: { error: 'node unavailable' } };
}

/** Starts one listener per seeded node; metrics are relative to the moment it starts. */
export async function startNodeStatusEmulator(now: () => number = Date.now): Promise<NodeStatusEmulator> {
  const faults = new FaultPlan();
  const log = new RequestLog();
  const nowSeconds = Math.floor(now() / 1000);
  const servers: RunningHttpEmulator[] = [];
  try {
    for (const node of SEEDED_NODES) {
      servers.push(
        await startHttpEmulator({
          name: `CockroachDB node ${node.nodeId} status`,
          faults,
          log,
          contentType: 'text/plain; version=0.0.4',
          operationOf: (request) => `GET ${new URL(request.url ?? '/', 'http://node').pathname}`,
          handle(request, _body, operation) {
            if (request.method !== 'GET') return { status: 405, body: 'method not allowed' };
            if (operation === 'GET /_status/vars') return { status: 200, body: prometheusVars(node, nowSeconds) };
            if (operation === 'GET /_status/stores/local')
              return { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(storesResponse(node, nowSeconds)) };
            return { status: 404, body: 'not found' };
          },
          faultReply,
        }),
      );
    }
  } catch (error) {
    await Promise.all(servers.map((server) => server.close()));
    throw error;
  }
  return {
    nodes: servers.map((server, index) => ({ nodeId: SEEDED_NODES[index]!.nodeId, url: server.url })),
    faults,
    log,
    close: async () => {
      await Promise.all(servers.map((server) => server.close()));
    },
  };
}
