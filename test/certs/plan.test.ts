import { describe, expect, it } from 'vitest';
import { certTypeInfo, nextAction } from '../../src/certs/cert-types.js';
import { planCertificateRotation, type PlanRequest } from '../../src/certs/plan.js';
import { classifyExpiry, worstSeverity } from '../../src/certs/thresholds.js';

const DAY = 86_400_000;
const now = Date.UTC(2026, 5, 1);
const base: PlanRequest = {
  kind: 'node',
  certsDir: 'certs',
  caKey: 'my-safe-directory/ca.key',
  hosts: [],
  user: 'root',
  k8s: 'none',
  namespace: 'default',
  cluster: 'cockroachdb',
};
const commands = (request: Partial<PlanRequest>) => planCertificateRotation({ ...base, ...request }).steps.flatMap((step) => step.commands);

describe('expiry thresholds', () => {
  it('applies the DOMAIN thresholds to CA and leaf certificates', () => {
    const at = (days: number) => now + days * DAY + 1000;
    expect(classifyExpiry('leaf', at(-1), now).status).toBe('expired');
    expect(classifyExpiry('leaf', at(12), now)).toEqual({ status: 'rotate_now', severity: 'critical', daysLeft: 12 });
    expect(classifyExpiry('leaf', at(60), now)).toEqual({ status: 'schedule_rotation', severity: 'high', daysLeft: 60 });
    expect(classifyExpiry('leaf', at(200), now).status).toBe('ok');
    expect(classifyExpiry('leaf', at(200), now, 365).status).toBe('schedule_rotation');
    expect(classifyExpiry('ca', at(200), now)).toEqual({ status: 'plan_rotation', severity: 'medium', daysLeft: 200 });
    expect(classifyExpiry('ca', at(400), now).status).toBe('ok');
    expect(classifyExpiry('ca', at(60), now).status).toBe('schedule_rotation');
    expect(classifyExpiry('ca', null, now)).toEqual({ status: 'missing', severity: 'info', daysLeft: null });
    expect(worstSeverity(['info', 'high', 'medium'])).toBe('high');
  });

  it('names the next action per certificate type', () => {
    expect(certTypeInfo('ui-ca')).toMatchObject({ role: 'ca', rotation: 'ui', optional: true });
    expect(certTypeInfo('security-new-type').optional).toBe(true);
    expect(nextAction('node', { status: 'rotate_now', severity: 'critical', daysLeft: 5 })).toContain('plan_certificate_rotation kind=node');
    expect(nextAction('ca', { status: 'plan_rotation', severity: 'medium', daysLeft: 200 })).toContain('combined CA');
    expect(nextAction('node', { status: 'missing', severity: 'info', daysLeft: null })).toContain('insecure mode');
  });
});

describe('planCertificateRotation', () => {
  it('plans a node rotation with every SAN, backups, SIGHUP and verification', () => {
    const plan = planCertificateRotation({ ...base, hosts: ['node1.example.com', '10.0.0.1', 'lb.example.com'] });
    const all = plan.steps.flatMap((step) => step.commands);
    expect(all[0]).toMatch(/^cp -a certs certs\.bak-/);
    expect(all).toContain(
      'cockroach cert create-node node1.example.com 10.0.0.1 lb.example.com --certs-dir=certs --ca-key=my-safe-directory/ca.key --overwrite',
    );
    expect(all).toContain('pkill -SIGHUP -x cockroach');
    expect(plan.verification.join('\n')).toContain(
      "SET allow_unsafe_internals = true; SELECT node_id, to_timestamp((metrics->>'security.certificate.expiration.node')",
    );
    expect(plan.verification.find((line) => line.includes('allow_unsafe_internals'))).toContain('SENSITIVE_ACCESS');
    expect(plan.warnings.join(' ')).toContain('Nothing has been executed');
  });

  it('uses placeholders and warns when no hosts are given', () => {
    const plan = planCertificateRotation(base);
    expect(plan.steps[1]!.commands[0]).toContain('<node hostname> <node IP> <load balancer address>');
    expect(plan.warnings.join(' ')).toContain('No hosts given');
  });

  it('plans the combined-CA procedure in two phases', () => {
    const plan = planCertificateRotation({ ...base, kind: 'ca' });
    const all = plan.steps.flatMap((step) => step.commands);
    const move = all.indexOf('mv my-safe-directory/ca.key my-safe-directory/ca.old.key');
    const create = all.indexOf('cockroach cert create-ca --certs-dir=certs --ca-key=my-safe-directory/ca.key --overwrite');
    const reissue = all.findIndex((command) => command.startsWith('cockroach cert create-node'));
    expect(move).toBeGreaterThan(0);
    expect(create).toBeGreaterThan(move);
    expect(reissue).toBeGreaterThan(create);
    expect(plan.steps.map((step) => step.title).join(' ')).toMatch(/combined ca\.crt to every node and every client/);
    expect(plan.warnings.join(' ')).toContain('BEFORE any certificate signed by the new CA');
  });

  it('plans client and UI rotations', () => {
    expect(commands({ kind: 'client', user: 'maxroach' })).toContain(
      'cockroach cert create-client maxroach --certs-dir=certs --ca-key=my-safe-directory/ca.key --overwrite',
    );
    const ui = commands({ kind: 'ui', hosts: ['console.example.com', '10.0.0.5'] });
    expect(ui.join('\n')).toContain('subjectAltName=DNS:console.example.com,IP:10.0.0.5');
    expect(ui.join('\n')).not.toContain('create-ui');
  });

  it('gives Kubernetes variants, naming the operator each one is for', () => {
    const publicOperator = planCertificateRotation({ ...base, k8s: 'public-operator', namespace: 'crdb', cluster: 'prod' });
    const operator = publicOperator.steps.flatMap((step) => step.commands).join('\n');
    expect(publicOperator.summary).toContain('public operator, CrdbCluster nodeTLSSecret/clientTLSSecret');
    expect(operator).toContain('kubectl create secret generic prod.node.2 -n crdb --from-file=tls.crt=certs/node.crt');
    expect(operator).toContain(`kubectl patch crdbcluster prod -n crdb --type merge -p '{"spec":{"nodeTLSSecret":"prod.node.2"}}'`);
    expect(operator).toContain("'*.prod.crdb.svc.cluster.local'");
    expect(operator).not.toContain('externalCertificates');
    expect(publicOperator.steps.flatMap((step) => step.notes).join(' ')).toMatch(
      /public operator \(CrdbCluster\) then terminates and restarts the pods one at a time/,
    );

    const newOperator = planCertificateRotation({ ...base, kind: 'client', k8s: 'cockroachdb-operator', namespace: 'db', cluster: 'ledger' });
    const helm = newOperator.steps.flatMap((step) => step.commands).join('\n');
    expect(newOperator.summary).toContain('CockroachDB operator, Helm cockroachdb.tls.externalCertificates');
    expect(helm).toContain('kubectl create secret generic ledger.client.root.2 -n db --from-file=tls.crt=certs/client.root.crt');
    expect(helm).toContain(
      'helm upgrade --reuse-values ledger ./cockroachdb-parent/charts/cockroachdb -n db --set cockroachdb.tls.externalCertificates.enabled=true --set cockroachdb.tls.externalCertificates.certificates.nodeClientSecretName=ledger.client.root.2',
    );
    expect(helm).not.toMatch(/crdbcluster|clientTLSSecret/);
    expect(newOperator.steps.flatMap((step) => step.notes).join(' ')).toMatch(/CockroachDB operator .* restarts the pods one at a time/);
    expect(newOperator.steps[0]!.notes.join(' ')).toContain('the pods must still be restarted');

    const renewed = planCertificateRotation({ ...base, k8s: 'cert-manager' });
    expect(renewed.steps.flatMap((step) => step.commands).join('\n')).toContain('cmctl renew');
    expect(renewed.steps[1]!.notes.join(' ')).toMatch(/StatefulSet .*CockroachDB operator .* restarting the pods/);
    expect(commands({ k8s: 'helm' }).join('\n')).toContain('tls.certs.selfSigner.rotateCerts=true');
  });

  it('rotates the CA through an operator in two phases: combined ca.crt first, then re-issued certificates', () => {
    for (const k8s of ['public-operator', 'cockroachdb-operator'] as const) {
      const plan = planCertificateRotation({ ...base, kind: 'ca', k8s, cluster: 'crdb2' });
      const all = plan.steps.flatMap((step) => step.commands);
      const phase1 = all.findIndex((command) => command.includes('crdb2.node.2'));
      const reissue = all.findIndex((command) => command.startsWith('cockroach cert create-node'));
      const phase2 = all.findIndex((command) => command.includes('crdb2.node.3'));
      expect(all.indexOf('cockroach cert create-ca --certs-dir=certs --ca-key=my-safe-directory/ca.key --overwrite')).toBeLessThan(phase1);
      expect(phase1).toBeLessThan(reissue);
      expect(reissue).toBeLessThan(phase2);
    }
  });

  it("plans an application user's client certificate without the operator secrets, which hold only root's", () => {
    const plan = planCertificateRotation({ ...base, kind: 'client', user: 'billing_svc', k8s: 'public-operator' });
    const all = plan.steps.flatMap((step) => step.commands).join('\n');
    expect(all).toContain('cockroach cert create-client billing_svc');
    expect(all).not.toMatch(/crdbcluster|clientTLSSecret/);
    expect(plan.warnings.join(' ')).toContain("billing_svc's certificate lives with its application");
  });

  it('verifies a client rotation with the per-user client metric, never the node metric', () => {
    for (const user of ['root', 'report_writer', 'svc.batch-1']) {
      const plan = planCertificateRotation({ ...base, kind: 'client', user });
      const text = plan.verification.join('\n');
      expect(text).toContain(`security_certificate_expiration_client{.*sql_user="${user}"`);
      expect(text).not.toContain('security.certificate.expiration.node');
      expect(text).not.toMatch(/SELECT .*kv_node_status/);
      expect(text).toMatch(/sums the minimum expiry of every SQL user/);
      expect(plan.summary).toContain(`client certificate of ${user}`);
    }
  });

  it("names cockroach's separate-CA files: ca-client.key for client certificates, ca-ui.crt for the DB Console CA", () => {
    const client = planCertificateRotation({ ...base, kind: 'client', user: 'maxroach' });
    expect(client.steps.flatMap((step) => step.notes).join(' ')).toContain(
      'ca-client.crt on the nodes), sign with its key instead: --ca-key=<safe dir>/ca-client.key',
    );
    const ui = planCertificateRotation({ ...base, kind: 'ui' });
    expect(ui.steps.flatMap((step) => step.notes).join(' ')).toContain('ca-ui.crt');
    const ca = planCertificateRotation({ ...base, kind: 'ca' });
    expect(ca.steps.flatMap((step) => step.notes).join(' ')).toContain('cockroach cert create-client node');
    expect(ca.verification.join(' ')).toContain('security_certificate_expiration_(ca|client_ca|ui_ca)');
    const all = JSON.stringify([client, ui, ca]);
    expect(all).not.toMatch(/client-ca\.(crt|key)|ui-ca\.(crt|key)/);
  });
});
