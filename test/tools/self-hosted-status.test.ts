/**
 * The sandbox's self-hosted cluster read through the tools as CockroachDB serves it: client
 * certificate expiry labelled per SQL user on each node's /_status/vars (its SQL aggregate is
 * meaningless and never reported), and V2 store encryption on /_status/stores/local and in SQL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { SEEDED_NODES } from '../../src/sandbox/sql-seed.js';
import { callTool, startTestServer, type TestServer } from '../helpers/harness.js';

let sandbox: Sandbox;
let server: TestServer;
const nodeUrl = (nodeId: number) => sandbox.nodeStatus.nodes.find((node) => node.nodeId === nodeId)!.url;

interface Item {
  node_id: string;
  type: string;
  sql_user: string | null;
  status: string;
  days_left: number | null;
  expires_at: string | null;
  next_action: string;
}
const clientItems = (structured: Record<string, unknown>) => (structured.certificates as Item[]).filter((item) => item.type === 'client');

beforeAll(async () => {
  sandbox = await startSandbox({ cmekTransitionMs: 20 });
  server = await startTestServer({ sandbox, config: { readOnly: true } });
});

afterAll(async () => {
  await server?.close();
  await sandbox?.stop();
});

describe('the sandbox node status endpoints', () => {
  it('serve the client metric as CockroachDB prints its aggregate: a top-level sum and one child per sql_user', async () => {
    const body = await (await fetch(`${nodeUrl(1)}/_status/vars`)).text();
    const lines = body.split('\n').filter((line) => line.startsWith('security_certificate_expiration_client{'));
    expect(lines).toHaveLength(3);
    const value = (line: string) => Number(line.split(' ').at(-1));
    const [aggregate, ...children] = lines;
    expect(aggregate).toMatch(/^security_certificate_expiration_client\{node_id="1"\} \d+$/);
    expect(children.map((line) => /sql_user="([^"]+)"/.exec(line)![1]).sort()).toEqual(['ledger_writer', 'root']);
    expect(value(aggregate!)).toBe(children.reduce((sum, line) => sum + value(line), 0));
  });
});

describe('check_certificate_expiry: client certificates per SQL user', () => {
  it('over SQL alone, reports no client certificate (the aggregate is meaningless) and says it cannot be read per user', async () => {
    const result = await callTool(server.client, 'check_certificate_expiry', { connection: 'selfhosted' });
    expect(result.isError).toBe(false);
    expect(clientItems(result.structured!)).toEqual([]);
    const notes = (result.structured!.notes as string[]).join(' ');
    expect(notes).toMatch(/sums every user's minimum expiry and means nothing/);
    expect(notes).toMatch(/cannot be read per user over SQL: pass http_url/);
    expect(notes).toContain('SENSITIVE_ACCESS');
    expect(result.text).toContain('logged on the SENSITIVE_ACCESS channel');
    // A sum of two future UNIX times lies decades ahead: no item may carry it.
    for (const item of result.structured!.certificates as Item[]) expect(item.days_left === null || item.days_left < 5000).toBe(true);
    // The next steps include the complete call that reads them per user, from the sandbox's node 1.
    const read = (result.structured!.next_actions as Array<{ tool: string; arguments: Record<string, unknown>; why: string }>).find(
      (action) => action.tool === 'check_certificate_expiry',
    );
    expect(read).toMatchObject({ arguments: { connection: 'selfhosted', http_url: nodeUrl(1) } });
    expect(read!.why).toContain(nodeUrl(3));
    const followed = await callTool(server.client, 'check_certificate_expiry', read!.arguments);
    expect(clientItems(followed.structured!).map((item) => item.sql_user)).toEqual(['ledger_writer', 'root']);
  });

  it('off the sandbox target, the per-user read names what only the operator knows: a node URL', async () => {
    const url = await sandbox.sql.connectionString();
    const result = await callTool(server.client, 'check_certificate_expiry', { connection: url });
    const read = (result.structured!.next_actions as Array<{ tool: string; arguments: Record<string, unknown>; needs?: Record<string, string> }>).find(
      (action) => action.tool === 'check_certificate_expiry',
    );
    expect(read).toMatchObject({ arguments: { connection: url }, needs: { http_url: expect.stringContaining('DB Console URL') } });
  });

  it('with http_url next to the connection, adds each SQL user of that node from /_status/vars', async () => {
    const result = await callTool(server.client, 'check_certificate_expiry', { connection: 'selfhosted', http_url: nodeUrl(1) });
    expect(result.isError).toBe(false);
    expect(result.structured!.source).toBe('sql');
    const clients = clientItems(result.structured!);
    expect(clients.map((item) => [item.node_id, item.sql_user, item.status])).toEqual([
      ['1', 'ledger_writer', 'rotate_now'],
      ['1', 'root', 'ok'],
    ]);
    expect(clients[0]!.days_left).toBe(SEEDED_NODES[0]!.clientCertDays.ledger_writer! - 1);
    expect(clients[0]!.next_action).toContain('plan_certificate_rotation kind=client user=ledger_writer');
    expect(result.text).toContain('client certificate of SQL user ledger_writer (client.ledger_writer.crt)');
    const plans = (result.structured!.next_actions as Array<{ tool: string; arguments: Record<string, unknown> }>).filter(
      (action) => action.tool === 'plan_certificate_rotation',
    );
    expect(plans.map((action) => action.arguments)).toEqual(expect.arrayContaining([{ kind: 'node' }, { kind: 'client', user: 'ledger_writer' }]));
    expect((result.structured!.notes as string[]).join(' ')).toMatch(/only after that user authenticated to it with a certificate/);
  });

  it("over http_url alone, reads another node's users (names with dots), and none on a node no user reached", async () => {
    const node2 = await callTool(server.client, 'check_certificate_expiry', { http_url: nodeUrl(2) });
    expect(node2.isError).toBe(false);
    expect(node2.structured!.source).toBe('http_vars');
    expect(clientItems(node2.structured!).map((item) => [item.node_id, item.sql_user, item.status])).toEqual([
      ['2', 'report.reader', 'schedule_rotation'],
      ['2', 'root', 'ok'],
    ]);
    const plan = (node2.structured!.next_actions as Array<{ tool: string; arguments: Record<string, unknown> }>).find(
      (action) => action.arguments.user === 'report.reader',
    );
    expect(plan).toMatchObject({ tool: 'plan_certificate_rotation', arguments: { kind: 'client', user: 'report.reader' } });
    const planned = await callTool(server.client, 'plan_certificate_rotation', plan!.arguments);
    expect(planned.isError).toBe(false);
    expect(planned.text).toContain('sql_user="report.reader"');
    expect(planned.text).not.toContain('security.certificate.expiration.node');

    const node3 = await callTool(server.client, 'check_certificate_expiry', { http_url: nodeUrl(3) });
    expect(node3.isError).toBe(false);
    expect(clientItems(node3.structured!)).toEqual([]);
    expect(node3.structured!.certificates).toEqual(
      expect.arrayContaining([expect.objectContaining({ node_id: '3', type: 'node', status: 'schedule_rotation' })]),
    );
  });
});

describe('verify_encryption_sql: V2 store encryption', () => {
  it('decodes the V2 algorithm of node 2 over SQL and over its /_status/stores/local, with the start-flag guidance', async () => {
    const sql = await callTool(server.client, 'verify_encryption_sql', { connection: 'selfhosted' });
    expect(sql.isError).toBe(false);
    expect(
      (sql.structured!.stores as Array<{ node_id: string; algorithm: string; algorithm_code: number }>).find((store) => store.node_id === '2'),
    ).toMatchObject({ algorithm_code: 6, algorithm: 'AES-256-CTR V2', encrypted: true });
    expect(sql.text).toContain('node 2 store 2: AES-256-CTR V2');
    expect(sql.text).toContain('node 3 store 3: PLAINTEXT — create a key (cockroach gen encryption-key -s 256 --version 2 <key file>)');
    expect(sql.text).toMatch(/must be given on every start/);
    expect(sql.text).toContain('cockroach debug encryption-active-key <store dir>');

    const http = await callTool(server.client, 'verify_encryption_sql', { http_url: nodeUrl(2) });
    expect(http.isError).toBe(false);
    expect(http.structured).toMatchObject({ source: 'http', stores: [{ store_id: 2, algorithm_code: 6, algorithm: 'AES-256-CTR V2', encrypted: true }] });
    const plain = await callTool(server.client, 'verify_encryption_sql', { http_url: nodeUrl(3) });
    expect(plain.structured).toMatchObject({ source: 'http', stores: [{ store_id: 3, algorithm_code: 0, encrypted: false }] });
    expect(plain.text).not.toMatch(/must be given on every start/);
  });
});
