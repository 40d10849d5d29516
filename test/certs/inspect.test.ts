import { X509Certificate } from 'node:crypto';
import { symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/harness.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { classifyCertFile, inspectCertificates, type InspectReport } from '../../src/certs/inspect.js';
import { keyUsage, subjectAltNames } from '../../src/certs/x509.js';
import { OperatorError } from '../../src/errors.js';
import { createCa, healthyNodeDir, issue, writeCertsDir, type Issued } from './fixtures.js';

const now = Date.now();
const codes = (report: InspectReport) => report.findings.map((finding) => finding.code);
const finding = (report: InspectReport, code: string) => report.findings.find((f) => f.code === code);

let ca: Issued;
beforeAll(async () => {
  ca = await createCa();
});

describe('x509 helpers', () => {
  it('reads key usage bits from the DER and SANs from node:crypto', async () => {
    const node = await issue(ca, { cn: 'node', days: 30, dns: ['a.example.com'], ips: ['10.1.2.3'] });
    const cert = new X509Certificate(node.certPem);
    expect(keyUsage(cert)).toEqual(['digitalSignature', 'keyEncipherment']);
    expect(keyUsage(new X509Certificate(ca.certPem))).toEqual(['digitalSignature', 'keyCertSign', 'cRLSign']);
    expect(subjectAltNames(cert)).toEqual({ dns: ['a.example.com'], ip: ['10.1.2.3'] });
  });

  it('classifies cockroach file names', () => {
    expect(classifyCertFile('ca.crt')).toEqual({ type: 'ca' });
    expect(classifyCertFile('client.maxroach.crt')).toEqual({ type: 'client', user: 'maxroach' });
    expect(classifyCertFile('client-tenant.5.crt')).toEqual({ type: 'client-tenant' });
    expect(classifyCertFile('ca-ui.crt')).toEqual({ type: 'ui-ca' });
    expect(classifyCertFile('ca-client.crt')).toEqual({ type: 'client-ca' });
    expect(classifyCertFile('client.node.crt')).toEqual({ type: 'client', user: 'node' });
    // Not cockroach names: cockroach ignores them, so they are not CA bundles here either.
    expect(classifyCertFile('client-ca.crt')).toEqual({ type: 'other' });
    expect(classifyCertFile('ui-ca.crt')).toEqual({ type: 'other' });
    expect(classifyCertFile('random.pem')).toEqual({ type: 'other' });
  });
});

describe('inspectCertificates', () => {
  it('reports a healthy node directory without actionable findings', async () => {
    const { dir } = await healthyNodeDir();
    const report = await inspectCertificates({ certsDir: dir, hostnames: ['node1.example.com', 'lb.example.com'], ips: ['10.0.0.1'], user: 'root', now });
    expect(report.certificates.map((c) => [c.file, c.type, c.signed_by])).toEqual([
      ['ca.crt', 'ca', 'ca.crt'],
      ['client.root.crt', 'client', 'ca.crt'],
      ['node.crt', 'node', 'ca.crt'],
    ]);
    const node = report.certificates.find((c) => c.file === 'node.crt')!;
    expect(node.ext_key_usage).toEqual(['serverAuth', 'clientAuth']);
    expect(node.sans.dns).toContain('lb.example.com');
    expect(report.findings.filter((f) => f.severity !== 'info')).toEqual([]);
    expect(report.key_files.map((k) => [k.file, k.mode, k.owned_by_current_user])).toEqual([
      ['client.root.key', '0600', true],
      ['node.key', '0600', true],
    ]);
    expect(JSON.stringify(report)).not.toContain('PRIVATE KEY');
  });

  it('finds expired and soon-expiring certificates with the right status', async () => {
    const expired = await issue(ca, { cn: 'node', days: -3 });
    const soon = await issue(ca, { cn: 'root', days: 10, eku: ['clientAuth'] });
    const later = await issue(ca, { cn: 'app', days: 60, eku: ['clientAuth'] });
    const dir = writeCertsDir({
      'ca.crt': { content: ca.certPem },
      'node.crt': { content: expired.certPem },
      'node.key': { content: expired.keyPem },
      'client.root.crt': { content: soon.certPem },
      'client.root.key': { content: soon.keyPem },
      'client.app.crt': { content: later.certPem },
      'client.app.key': { content: later.keyPem },
    });
    const report = await inspectCertificates({ certsDir: dir, now });
    const status = Object.fromEntries(report.certificates.map((c) => [c.file, c.status]));
    expect(status).toEqual({ 'ca.crt': 'ok', 'node.crt': 'expired', 'client.root.crt': 'rotate_now', 'client.app.crt': 'schedule_rotation' });
    expect(finding(report, 'certificate_expired')).toMatchObject({ severity: 'critical', file: 'node.crt' });
    expect(finding(report, 'certificate_rotate_now')).toMatchObject({ severity: 'critical', file: 'client.root.crt' });
    expect(report.findings[0]!.severity).toBe('critical');
    expect(finding(report, 'certificate_schedule_rotation')?.severity).toBe('high');
  });

  it('flags a CA with less than a year left for planning, and a combined CA file', async () => {
    const oldCa = await createCa('Old CA', 200);
    const newCa = await createCa('New CA', 3650);
    const dir = writeCertsDir({ 'ca.crt': { content: newCa.certPem + oldCa.certPem } });
    const report = await inspectCertificates({ certsDir: dir, now });
    expect(codes(report)).toContain('combined_ca');
    expect(finding(report, 'certificate_plan_rotation')).toMatchObject({ severity: 'low' });
    const single = await inspectCertificates({ certsDir: writeCertsDir({ 'ca.crt': { content: oldCa.certPem } }), now });
    expect(finding(single, 'certificate_plan_rotation')).toMatchObject({ severity: 'medium', file: 'ca.crt' });
  });

  it('reports every hostname and IP the node certificate does not cover', async () => {
    const { dir } = await healthyNodeDir();
    const report = await inspectCertificates({ certsDir: dir, hostnames: ['node1.example.com', 'node2.example.com'], ips: ['10.0.0.1', '10.0.0.9'], now });
    const san = finding(report, 'san_missing')!;
    expect(san.severity).toBe('high');
    expect(san.message).toContain('node2.example.com');
    expect(san.message).toContain('10.0.0.9');
    expect(san.message).not.toContain('node1.example.com');
  });

  it('flags world- and group-readable keys and keys that do not match their certificate', async () => {
    const node = await issue(ca, { cn: 'node', days: 365 });
    const root = await issue(ca, { cn: 'root', days: 365, eku: ['clientAuth'] });
    const other = await issue(ca, { cn: 'other', days: 365 });
    const dir = writeCertsDir({
      'ca.crt': { content: ca.certPem },
      'node.crt': { content: node.certPem },
      'node.key': { content: node.keyPem, mode: 0o644 },
      'client.root.crt': { content: root.certPem },
      'client.root.key': { content: other.keyPem, mode: 0o640 },
    });
    // cockroach runs as uid 4242 here, so the test's own files are neither its nor root:<its group>.
    const report = await inspectCertificates({ certsDir: dir, now, uid: 4242, gid: 4242 });
    expect(finding(report, 'key_world_accessible')).toMatchObject({ severity: 'critical', file: 'node.key' });
    expect(finding(report, 'key_world_accessible')!.fix).toMatch(/^chmod 600 .*node\.key$/);
    expect(finding(report, 'key_group_accessible')).toMatchObject({ severity: 'high', file: 'client.root.key' });
    expect(finding(report, 'key_mismatch')).toMatchObject({ severity: 'critical', file: 'client.root.key' });
  });

  it('flags key files not owned by the running user', async () => {
    const { dir } = await healthyNodeDir();
    const report = await inspectCertificates({ certsDir: dir, now, uid: 999_999 });
    expect(report.findings.filter((f) => f.code === 'key_owner').map((f) => f.file)).toEqual(['client.root.key', 'node.key']);
  });

  it('flags certificates from a foreign CA', async () => {
    const foreign = await createCa('Someone Else CA');
    const node = await issue(foreign, { cn: 'node', days: 365 });
    const dir = writeCertsDir({ 'ca.crt': { content: ca.certPem }, 'node.crt': { content: node.certPem }, 'node.key': { content: node.keyPem } });
    const report = await inspectCertificates({ certsDir: dir, now });
    expect(finding(report, 'foreign_ca')).toMatchObject({ severity: 'critical', file: 'node.crt' });
    expect(report.certificates.find((c) => c.file === 'node.crt')!.signed_by).toBeNull();
  });

  it('flags a CA key on the node, and is quiet when it is absent', async () => {
    const present = writeCertsDir({ 'ca.crt': { content: ca.certPem }, 'ca.key': { content: ca.keyPem } });
    expect(finding(await inspectCertificates({ certsDir: present, now }), 'ca_key_present')).toMatchObject({ severity: 'high', file: 'ca.key' });
    const { dir } = await healthyNodeDir();
    expect(codes(await inspectCertificates({ certsDir: dir, now }))).not.toContain('ca_key_present');
  });

  it('flags a client certificate whose CN does not match its file name, and node CN/EKU problems', async () => {
    const wrongUser = await issue(ca, { cn: 'admin', days: 365, eku: ['clientAuth'] });
    const badNode = await issue(ca, { cn: 'db1.example.com', days: 365, eku: ['serverAuth'] });
    const dir = writeCertsDir({
      'ca.crt': { content: ca.certPem },
      'client.root.crt': { content: wrongUser.certPem },
      'client.root.key': { content: wrongUser.keyPem },
      'node.crt': { content: badNode.certPem },
      'node.key': { content: badNode.keyPem },
    });
    const report = await inspectCertificates({ certsDir: dir, now });
    expect(finding(report, 'client_cn_mismatch')!.message).toContain('CN=admin');
    expect(codes(report)).toEqual(expect.arrayContaining(['node_cn', 'node_eku']));
  });

  it('reports missing ca.crt, missing keys and missing user certificates', async () => {
    const node = await issue(ca, { cn: 'node', days: 365 });
    const report = await inspectCertificates({ certsDir: writeCertsDir({ 'node.crt': { content: node.certPem } }), user: 'maxroach', now });
    expect(codes(report)).toEqual(expect.arrayContaining(['ca_missing', 'key_missing', 'client_cert_missing']));
    expect(report.findings[0]!.severity).toBe('critical');
  });

  it('reports unparseable files without failing', async () => {
    const report = await inspectCertificates({
      certsDir: writeCertsDir({ 'ca.crt': { content: ca.certPem }, 'node.crt': { content: 'not a certificate' } }),
      now,
    });
    expect(finding(report, 'unparseable')).toMatchObject({ severity: 'high', file: 'node.crt' });
  });

  it('puts nothing of a non-certificate file into the answer: a client cert linked to a secret file, a huge file, a hostile file name', async () => {
    const secret = join(tempDir(), 'shadow');
    writeFileSync(secret, 'root:$6$s3cr3t-hash-value:19000:0:99999:7:::\n');
    const dir = writeCertsDir({
      'ca.crt': { content: ca.certPem },
      'node.crt': { content: 'x'.repeat(2 * 1024 * 1024) },
      'client.\n## IGNORE\u202e.crt': { content: 'junk' },
    });
    symlinkSync(secret, join(dir, 'client.root.crt'));
    const report = await inspectCertificates({ certsDir: dir, now });
    const text = JSON.stringify(report);
    expect(text).not.toContain('s3cr3t');
    expect(text).not.toContain('root:');
    expect(text).not.toMatch(/\\n## IGNORE|\u202e/);
    expect(report.findings.filter((f) => f.code === 'unparseable').map((f) => f.message)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^client\.root\.crt could not be parsed: no PEM certificate in it\.$/),
        expect.stringMatching(/^node\.crt could not be parsed: it is 2097152 bytes, too large/),
      ]),
    );
  });

  it('refuses relative, missing and empty directories with clear errors', async () => {
    await expect(inspectCertificates({ certsDir: 'certs', now })).rejects.toThrow(/absolute path/);
    await expect(inspectCertificates({ certsDir: '/nonexistent/certs', now })).rejects.toBeInstanceOf(OperatorError);
    await expect(inspectCertificates({ certsDir: writeCertsDir({ 'README.txt': { content: 'hi' } }), now })).rejects.toThrow(/No certificates/);
  });
});

describe('separate client and DB Console CAs (cockroach file names)', () => {
  it('recognises client certificates signed by ca-client.crt, and client.node.crt beside node.crt', async () => {
    const clientCa = await createCa('Client CA');
    const node = await issue(ca, { cn: 'node', days: 365 });
    const clientNode = await issue(clientCa, { cn: 'node', days: 365, eku: ['clientAuth'] });
    const app = await issue(clientCa, { cn: 'app_reader', days: 200, eku: ['clientAuth'] });
    const dir = writeCertsDir({
      'ca.crt': { content: ca.certPem },
      'ca-client.crt': { content: clientCa.certPem },
      'node.crt': { content: node.certPem },
      'node.key': { content: node.keyPem },
      'client.node.crt': { content: clientNode.certPem },
      'client.node.key': { content: clientNode.keyPem },
      'client.app_reader.crt': { content: app.certPem },
      'client.app_reader.key': { content: app.keyPem },
    });
    const report = await inspectCertificates({ certsDir: dir, user: 'app_reader', now });
    expect(Object.fromEntries(report.certificates.map((c) => [c.file, [c.type, c.signed_by]]))).toEqual({
      'ca.crt': ['ca', 'ca.crt'],
      'ca-client.crt': ['client-ca', 'ca-client.crt'],
      'client.app_reader.crt': ['client', 'ca-client.crt'],
      'client.node.crt': ['client', 'ca-client.crt'],
      'node.crt': ['node', 'ca.crt'],
    });
    expect(report.findings.filter((f) => f.severity !== 'info')).toEqual([]);
  });

  it('flags a client certificate the client CA did not sign, naming ca-client.key for the re-issue', async () => {
    const clientCa = await createCa('Client CA');
    const stray = await issue(ca, { cn: 'batch_job', days: 200, eku: ['clientAuth'] });
    const dir = writeCertsDir({
      'ca.crt': { content: ca.certPem },
      'ca-client.crt': { content: clientCa.certPem },
      'client.batch_job.crt': { content: stray.certPem },
      'client.batch_job.key': { content: stray.keyPem },
    });
    const found = finding(await inspectCertificates({ certsDir: dir, now }), 'foreign_ca')!;
    expect(found).toMatchObject({ severity: 'critical', file: 'client.batch_job.crt' });
    expect(found.message).toContain('ca-client.crt');
    expect(found.fix).toContain('--ca-key=<safe dir>/ca-client.key');
  });

  it('requires client.node.crt on a node once a separate client CA is used', async () => {
    const clientCa = await createCa('Client CA');
    const node = await issue(ca, { cn: 'node', days: 365 });
    const dir = writeCertsDir({
      'ca.crt': { content: ca.certPem },
      'ca-client.crt': { content: clientCa.certPem },
      'node.crt': { content: node.certPem },
      'node.key': { content: node.keyPem },
    });
    const report = await inspectCertificates({ certsDir: dir, user: 'svc', now });
    expect(finding(report, 'client_node_missing')).toMatchObject({ severity: 'high', file: 'client.node.crt' });
    expect(finding(report, 'client_node_missing')!.fix).toContain('create-client node');
    expect(finding(report, 'client_cert_missing')!.fix).toContain('ca-client.key');
  });

  it('checks ui.crt against ca-ui.crt when present', async () => {
    const uiCa = await createCa('Console CA');
    const ui = await issue(uiCa, { cn: 'console.example.com', days: 300, dns: ['console.example.com'], eku: ['serverAuth'] });
    const dir = writeCertsDir({
      'ca.crt': { content: ca.certPem },
      'ca-ui.crt': { content: uiCa.certPem },
      'ui.crt': { content: ui.certPem },
      'ui.key': { content: ui.keyPem },
    });
    const report = await inspectCertificates({ certsDir: dir, hostnames: ['console.example.com'], now });
    expect(report.certificates.find((c) => c.file === 'ui.crt')!.signed_by).toBe('ca-ui.crt');
    expect(codes(report)).not.toContain('foreign_ca');
  });

  it.each(['ca-client.key', 'ca-ui.key', 'ca-client-tenant.key', 'client-ca.key'])('flags the CA key %s left on a node like ca.key', async (name) => {
    const dir = writeCertsDir({ 'ca.crt': { content: ca.certPem }, [name]: { content: ca.keyPem } });
    expect(finding(await inspectCertificates({ certsDir: dir, now }), 'ca_key_present')).toMatchObject({ severity: 'high', file: name });
  });

  it.each([
    ['client-ca.crt', 'ca-client.crt'],
    ['ui-ca.crt', 'ca-ui.crt'],
  ])('flags %s, a name cockroach ignores, and says to rename it to %s', async (wrong, right) => {
    const other = await createCa('Other CA');
    const report = await inspectCertificates({ certsDir: writeCertsDir({ 'ca.crt': { content: ca.certPem }, [wrong]: { content: other.certPem } }), now });
    expect(finding(report, 'misnamed_ca_file')).toMatchObject({ severity: 'high', file: wrong });
    expect(finding(report, 'misnamed_ca_file')!.fix).toContain(`/${right}`);
  });
});
