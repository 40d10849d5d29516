import { describe, expect, it } from 'vitest';
import { certTypeInfo, nextAction } from '../../src/certs/cert-types.js';
import { planCertificateRotation, type PlanRequest } from '../../src/certs/plan.js';
import { classifyExpiry, worstSeverity } from '../../src/certs/thresholds.js';

const DAY = 86_400_000;
const now = Date.UTC(2026, 5, 1);
const base: PlanRequest = { kind: 'node', certsDir: 'certs', caKey: 'my-safe-directory/ca.key', hosts: [], user: 'root', k8s: 'none', namespace: 'default', cluster: 'cockroachdb' };
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
    expect(all).toContain('cockroach cert create-node node1.example.com 10.0.0.1 lb.example.com --certs-dir=certs --ca-key=my-safe-directory/ca.key --overwrite');
    expect(all).toContain('pkill -SIGHUP -x cockroach');
    expect(plan.verification.join('\n')).toContain("SET allow_unsafe_internals = true; SELECT node_id, to_timestamp((metrics->>'security.certificate.expiration.node')");
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
    expect(commands({ kind: 'client', user: 'maxroach' })).toContain('cockroach cert create-client maxroach --certs-dir=certs --ca-key=my-safe-directory/ca.key --overwrite');
    const ui = commands({ kind: 'ui', hosts: ['console.example.com', '10.0.0.5'] });
    expect(ui.join('\n')).toContain("subjectAltName=DNS:console.example.com,IP:10.0.0.5");
    expect(ui.join('\n')).not.toContain('create-ui');
  });

  it('gives Kubernetes variants', () => {
    const operator = commands({ k8s: 'operator', namespace: 'crdb', cluster: 'prod' });
    expect(operator.join('\n')).toContain('kubectl create secret generic prod.node.2 -n crdb --from-file=tls.crt=certs/node.crt');
    expect(operator.join('\n')).toContain('"nodeTLSSecret":"prod.node.2"');
    expect(operator.join('\n')).toContain("'*.prod.crdb.svc.cluster.local'");
    expect(commands({ k8s: 'cert-manager' }).join('\n')).toContain('cmctl renew');
    expect(commands({ k8s: 'helm' }).join('\n')).toContain('tls.certs.selfSigner.rotateCerts=true');
  });
});
