import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callTool, startTestServer, type TestServer } from '../helpers/harness.js';
import { createCa, healthyNodeDir, issue, writeCertsDir } from '../certs/fixtures.js';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ config: { readOnly: true, toolsets: ['certs'] } });
});

afterAll(async () => {
  await server?.close();
});

describe('certs tools in tools/list', () => {
  it('lists both as read-only, local tools with described inputs, even in read-only mode', async () => {
    const { tools } = await server.client.listTools();
    for (const name of ['inspect_certificates', 'plan_certificate_rotation']) {
      const tool = tools.find((t) => t.name === name)!;
      expect(tool.annotations).toMatchObject({ readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false });
      expect(tool.description!.length).toBeLessThanOrEqual(400);
      for (const property of Object.values(tool.inputSchema.properties ?? {})) expect((property as { description?: string }).description).toBeTruthy();
    }
  });
});

describe('inspect_certificates', () => {
  it('inspects a healthy directory and says what to do next', async () => {
    const { dir } = await healthyNodeDir();
    const result = await callTool(server.client, 'inspect_certificates', { certs_dir: dir, hostnames: ['node1.example.com'], ips: ['10.0.0.1'], user: 'root' });
    expect(result.isError).toBe(false);
    expect(result.structured!.summary).toMatchObject({ certificates: 3, key_files: 2, worst: 'info' });
    expect(result.text).toContain('0 finding(s)');
    expect(result.text).not.toContain('PRIVATE KEY');
    expect(result.text.trim().split('\n').at(-1)).toMatch(/^Next: check_certificate_expiry .* Nothing to fix in this directory\.$/);
  });

  it('finds expired certificates, wrong SANs, bad key permissions, a foreign CA, a CA key and a CN mismatch', async () => {
    const ca = await createCa();
    const foreign = await createCa('Rogue CA');
    const node = await issue(ca, { cn: 'node', days: -1, dns: ['node1.example.com'] });
    const client = await issue(foreign, { cn: 'admin', days: 200, eku: ['clientAuth'] });
    const dir = writeCertsDir({
      'ca.crt': { content: ca.certPem },
      'ca.key': { content: ca.keyPem },
      'node.crt': { content: node.certPem },
      'node.key': { content: node.keyPem, mode: 0o644 },
      'client.root.crt': { content: client.certPem },
      'client.root.key': { content: client.keyPem },
    });
    const result = await callTool(server.client, 'inspect_certificates', { certs_dir: dir, hostnames: ['node1.example.com', 'lb.example.com'] });
    expect(result.isError).toBe(false);
    const codes = result.structured!.findings.map((f: { code: string }) => f.code);
    expect(codes).toEqual(
      expect.arrayContaining(['certificate_expired', 'san_missing', 'key_world_accessible', 'foreign_ca', 'ca_key_present', 'client_cn_mismatch']),
    );
    expect(result.structured!.summary.worst).toBe('critical');
    expect(result.text).toContain('[critical]');
    expect(result.text).toMatch(/Next: .+/);
  });

  it('answers a missing directory with a clear error', async () => {
    const result = await callTool(server.client, 'inspect_certificates', { certs_dir: '/nonexistent/certs' });
    expect(result.isError).toBe(true);
    expect(result.text).toContain('Cannot open /nonexistent/certs');
    expect(result.text).toMatch(/Next: check the path/);
  });
});

describe('plan_certificate_rotation', () => {
  it('returns a numbered plan with exact commands, executing nothing', async () => {
    const result = await callTool(server.client, 'plan_certificate_rotation', { kind: 'node', hosts: ['node1.example.com', '10.0.0.1'] });
    expect(result.isError).toBe(false);
    expect(result.text).toContain('$ cockroach cert create-node node1.example.com 10.0.0.1 --certs-dir=certs --ca-key=my-safe-directory/ca.key --overwrite');
    expect(result.text).toContain('$ pkill -SIGHUP -x cockroach');
    expect(result.structured!.warnings[0]).toContain('Nothing has been executed');
    expect(result.text.trim().split('\n').at(-1)).toMatch(/^Next: check_certificate_expiry .* Run steps 1 to \d+ above yourself, in order/);
  });

  it('plans the combined-CA rotation and Kubernetes variants', async () => {
    const ca = await callTool(server.client, 'plan_certificate_rotation', { kind: 'ca' });
    expect(ca.text).toContain('mv my-safe-directory/ca.key my-safe-directory/ca.old.key');
    const k8s = await callTool(server.client, 'plan_certificate_rotation', { kind: 'client', k8s: 'public-operator', namespace: 'crdb' });
    expect(k8s.text).toContain('kubectl create secret generic cockroachdb.client.root.2 -n crdb');
    expect(k8s.text).toContain('"clientTLSSecret":"cockroachdb.client.root.2"');
    const helm = await callTool(server.client, 'plan_certificate_rotation', { kind: 'node', k8s: 'cockroachdb-operator', namespace: 'crdb' });
    expect(helm.text).toContain('--set cockroachdb.tls.externalCertificates.certificates.nodeSecretName=cockroachdb.node.2');
    expect(helm.text).toContain('restarts the pods one at a time');
  });
});

describe('malformed input (property-based)', () => {
  const junk = fc.oneof(fc.string({ maxLength: 30 }), fc.integer(), fc.boolean(), fc.constant(null), fc.array(fc.integer(), { maxLength: 2 }));
  const inspectArgs = fc.oneof(
    fc.record({ certs_dir: junk.filter((v) => typeof v !== 'string' || !v.startsWith('/')) }),
    fc.record({
      certs_dir: fc.constant('/tmp'),
      hostnames: fc.oneof(junk, fc.array(fc.constantFrom('bad host', '-x', 'a..b', ''), { minLength: 1, maxLength: 3 })),
    }),
    fc.record({ certs_dir: fc.constant('/tmp'), ips: fc.array(fc.constantFrom('999.1.1.1', 'localhost', '1.2.3'), { minLength: 1, maxLength: 3 }) }),
    fc.record({ certs_dir: fc.constant('/tmp'), user: fc.constantFrom('bad user', '', 'a;rm -rf /') }),
    fc.record({ certs_dir: fc.constant('/tmp'), extra: junk }),
  );
  const planArgs = fc.oneof(
    fc.record({ kind: junk.filter((v) => !['node', 'client', 'ca', 'ui'].includes(v as string)) }),
    fc.record({ kind: fc.constant('node'), hosts: fc.array(fc.constantFrom('$(reboot)', 'a b', '`id`', 'x;y'), { minLength: 1, maxLength: 2 }) }),
    fc.record({ kind: fc.constant('ca'), certs_dir: fc.constantFrom('certs; rm -rf /', 'c d', '$HOME') }),
    fc.record({ kind: fc.constant('ca'), k8s: fc.constantFrom('nomad', 'swarm', '') }),
    fc.record({ kind: fc.constant('client'), user: fc.constantFrom('x y', '"root"', '') }),
  );

  it('answers isError for each tool and keeps serving', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          inspectArgs.map((args) => ['inspect_certificates', args] as const),
          planArgs.map((args) => ['plan_certificate_rotation', args] as const),
        ),
        async ([tool, args]) => {
          const result = await callTool(server.client, tool, args as Record<string, unknown>);
          expect(result, result.text).toMatchObject({ isError: true });
        },
      ),
      { numRuns: 80 },
    );
    expect((await server.client.listTools()).tools.length).toBeGreaterThan(0);
  });
});
