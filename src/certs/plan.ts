/**
 * Certificate rotation plans for self-hosted CockroachDB: exact `cockroach cert` commands,
 * the combined-CA procedure, SIGHUP reloads, backups, verification, and Kubernetes variants.
 * Produces text only; executes nothing.
 */
import type { K8sMode, RotationKind } from './cert-types.js';

export interface PlanRequest {
  kind: RotationKind;
  certsDir: string;
  caKey: string;
  /** Every hostname, IP and load-balancer address the node certificate must cover. */
  hosts: string[];
  user: string;
  k8s: K8sMode;
  namespace: string;
  /** StatefulSet / CrdbCluster name on Kubernetes. */
  cluster: string;
}

export interface PlanStep {
  title: string;
  commands: string[];
  notes: string[];
}

export interface RotationPlan {
  kind: RotationKind;
  k8s: K8sMode;
  summary: string;
  steps: PlanStep[];
  verification: string[];
  warnings: string[];
}

const step = (title: string, commands: string[], notes: string[] = []): PlanStep => ({ title, commands, notes });

function safeDir(caKey: string): string {
  const at = caKey.lastIndexOf('/');
  return at > 0 ? caKey.slice(0, at) : '.';
}

function hostList(request: PlanRequest): string {
  if (request.hosts.length) return request.hosts.join(' ');
  if (request.k8s !== 'none') {
    const c = request.cluster;
    const ns = request.namespace;
    return `localhost 127.0.0.1 ${c}-public ${c}-public.${ns} ${c}-public.${ns}.svc.cluster.local '*.${c}' '*.${c}.${ns}' '*.${c}.${ns}.svc.cluster.local'`;
  }
  return '<node hostname> <node IP> <load balancer address> localhost 127.0.0.1';
}

function backup(request: PlanRequest): PlanStep {
  return step(
    'Back up the current certificates (on every node and on the machine holding the CA key)',
    [`cp -a ${request.certsDir} ${request.certsDir}.bak-$(date +%Y%m%d%H%M%S)`, `cp -a ${safeDir(request.caKey)} ${safeDir(request.caKey)}.bak-$(date +%Y%m%d%H%M%S)`],
    ['Keep the backups until the new certificates are verified on every node; they are the rollback.'],
  );
}

const SIGHUP = step(
  'Reload certificates on each node without a restart (one node at a time)',
  ['pkill -SIGHUP -x cockroach', '# or: kill -HUP "$(pgrep -x cockroach)"'],
  ['Send the signal as the user that runs cockroach (sudo -u <that user> if needed). Running nodes pick up new files only on SIGHUP, not by themselves.'],
);

function verification(request: PlanRequest): string[] {
  const metric = request.kind === 'ca' ? 'ca' : request.kind === 'client' ? 'node' : request.kind;
  return [
    'check_certificate_expiry (this server) on the cluster, and inspect_certificates on each node\'s certs directory.',
    `SET allow_unsafe_internals = true; SELECT node_id, to_timestamp((metrics->>'security.certificate.expiration.${metric}')::FLOAT8) AS expires FROM crdb_internal.kv_node_status ORDER BY node_id;`,
    `curl -s --cacert ${request.certsDir}/ca.crt https://<node>:8080/_status/vars | grep security_certificate_expiration`,
    `openssl s_client -connect <node>:26257 -starttls postgres -CAfile ${request.certsDir}/ca.crt </dev/null 2>/dev/null | openssl x509 -noout -subject -enddate -ext subjectAltName`,
    `cockroach cert list --certs-dir=${request.certsDir}`,
  ];
}

function nodeSteps(request: PlanRequest): PlanStep[] {
  return [
    backup(request),
    step(
      'Create the new node certificate and key on the machine that holds the CA key (never on a node)',
      [
        `cockroach cert create-node ${hostList(request)} --certs-dir=${request.certsDir} --ca-key=${request.caKey} --overwrite`,
        `cockroach cert list --certs-dir=${request.certsDir}`,
      ],
      [
        'List EVERY address clients and peers use: each hostname, IP, and load-balancer name/IP. A missing SAN breaks sslmode=verify-full.',
        'Run it once per node, with that node\'s own addresses plus the shared load-balancer addresses.',
      ],
    ),
    step(
      'Install node.crt and node.key on the node',
      [`scp ${request.certsDir}/node.crt ${request.certsDir}/node.key <user>@<node>:${request.certsDir}/`, `ssh <user>@<node> 'chmod 600 ${request.certsDir}/node.key && chmod 644 ${request.certsDir}/node.crt'`],
      ['The key must be owned by the user running cockroach.'],
    ),
    SIGHUP,
  ];
}

function clientSteps(request: PlanRequest): PlanStep[] {
  return [
    backup(request),
    step(
      `Create the new client certificate for ${request.user}`,
      [`cockroach cert create-client ${request.user} --certs-dir=${request.certsDir} --ca-key=${request.caKey} --overwrite`, '# Java/JDBC clients also need: --also-generate-pkcs8-key'],
      ['If the cluster uses a separate client CA (client-ca.crt), sign with that CA\'s key instead of ca.key.'],
    ),
    step(
      'Install it on each client and switch the client over',
      [`scp ${request.certsDir}/client.${request.user}.crt ${request.certsDir}/client.${request.user}.key <user>@<client>:<client certs dir>/`, `chmod 600 <client certs dir>/client.${request.user}.key`],
      ['Clients are not reloaded by SIGHUP: restart or reconnect the application (application-specific).'],
    ),
    step('Check the new certificate authenticates', [`cockroach sql --certs-dir=${request.certsDir} --host=<node> --user=${request.user} -e 'SELECT current_user'`]),
  ];
}

function caSteps(request: PlanRequest): PlanStep[] {
  const dir = safeDir(request.caKey);
  return [
    backup(request),
    step(
      'Create the new CA; cockroach writes a combined ca.crt (new CA first, then the old one)',
      [`mv ${request.caKey} ${dir}/ca.old.key`, `cockroach cert create-ca --certs-dir=${request.certsDir} --ca-key=${request.caKey} --overwrite`, `grep -c 'BEGIN CERTIFICATE' ${request.certsDir}/ca.crt   # expect 2`],
      ['Keep ca.old.key offline until every certificate signed by the old CA is gone. The CA keys never go on nodes.'],
    ),
    step(
      'Distribute the combined ca.crt to every node and every client, then reload',
      [`scp ${request.certsDir}/ca.crt <user>@<node>:${request.certsDir}/`, 'pkill -SIGHUP -x cockroach   # on each node, as the cockroach user'],
      ['Restart or reconnect clients so they trust the combined CA. Do not continue until EVERY node and client has it.'],
    ),
    step(
      'Re-issue every node and client certificate with the new CA, install them, and reload',
      [
        `cockroach cert create-node ${hostList(request)} --certs-dir=${request.certsDir} --ca-key=${request.caKey} --overwrite`,
        `cockroach cert create-client ${request.user} --certs-dir=${request.certsDir} --ca-key=${request.caKey} --overwrite`,
        'pkill -SIGHUP -x cockroach   # on each node after installing its new node.crt/node.key',
      ],
      ['Once inspect_certificates shows every certificate signed by the new CA, the old CA can leave ca.crt (and ca.old.key can be destroyed) — not before.'],
    ),
  ];
}

function uiSteps(request: PlanRequest): PlanStep[] {
  return [
    backup(request),
    step(
      'Get a new DB Console certificate from the CA browsers trust (cockroach cert has no create-ui)',
      [`openssl req -new -newkey rsa:2048 -nodes -keyout ${request.certsDir}/ui.key -out ui.csr -subj '/CN=${request.hosts[0] ?? '<console hostname>'}' -addext 'subjectAltName=${request.hosts.length ? request.hosts.map((h) => (/^[\d.]+$|:/.test(h) ? `IP:${h}` : `DNS:${h}`)).join(',') : 'DNS:<console hostname>'}'`, '# submit ui.csr to your CA; save the signed certificate as ui.crt'],
      ['If that CA is not in ca.crt, install its certificate as ui-ca.crt.'],
    ),
    step('Install ui.crt and ui.key on each node', [`chmod 600 ${request.certsDir}/ui.key && chmod 644 ${request.certsDir}/ui.crt`]),
    SIGHUP,
  ];
}

function k8sSteps(request: PlanRequest): PlanStep[] {
  const ns = request.namespace;
  const c = request.cluster;
  if (request.k8s === 'operator') {
    const isClient = request.kind === 'client';
    const secret = isClient ? `${c}.client.${request.user}.2` : `${c}.node.2`;
    const crt = isClient ? `client.${request.user}` : 'node';
    return [
      step(`Create the new ${isClient ? 'client' : 'node'} certificate locally (as in the non-Kubernetes plan)`, [isClient ? `cockroach cert create-client ${request.user} --certs-dir=${request.certsDir} --ca-key=${request.caKey} --overwrite` : `cockroach cert create-node ${hostList(request)} --certs-dir=${request.certsDir} --ca-key=${request.caKey} --overwrite`]),
      step('Store it as a new secret with the names the operator expects', [`kubectl create secret generic ${secret} -n ${ns} --from-file=tls.crt=${request.certsDir}/${crt}.crt --from-file=tls.key=${request.certsDir}/${crt}.key --from-file=ca.crt=${request.certsDir}/ca.crt`]),
      step('Point the CrdbCluster at the new secret; the operator rolls the pods', [`kubectl patch crdbcluster ${c} -n ${ns} --type merge -p '{"spec":{"${isClient ? 'clientTLSSecret' : 'nodeTLSSecret'}":"${secret}"}}'`, `kubectl rollout status statefulset/${c} -n ${ns}`], ['Keep the old secret until the rollout finished and verification passed.']),
    ];
  }
  if (request.k8s === 'cert-manager') {
    return [
      step('Renew the certificates now (cert-manager otherwise renews at renewBefore)', [`kubectl get certificates -n ${ns}`, `cmctl renew -n ${ns} <certificate name>`], request.kind === 'ca' ? ['For a CA rotation, first distribute a bundle holding both CAs (e.g. a trust-manager Bundle into ca.crt), then switch the Issuer to the new CA secret, then renew every Certificate.'] : []),
      step('Reload the pods so cockroach reads the renewed secret files', [`kubectl rollout restart statefulset/${c} -n ${ns}`, `kubectl rollout status statefulset/${c} -n ${ns}`], ['A rolling restart keeps the cluster available; it is the safe reload on Kubernetes.']),
    ];
  }
  return [
    step('Let the chart\'s self-signer rotate (it rotates before expiry when rotateCerts is on)', [`helm upgrade <release> cockroachdb/cockroachdb -n ${ns} --reuse-values --set tls.certs.selfSigner.rotateCerts=true`], ['Tune tls.certs.selfSigner.{ca,node,client}CertDuration and *ExpiryWindow to control when it rotates.']),
    step('To rotate now, run the chart\'s rotation CronJob once', [`kubectl get cronjobs -n ${ns}`, `kubectl create job --from=cronjob/<rotation cronjob> rotate-now-$(date +%s) -n ${ns}`, `kubectl rollout status statefulset/${c} -n ${ns}`]),
  ];
}

/** Builds the plan. */
export function planCertificateRotation(request: PlanRequest): RotationPlan {
  const byKind = { node: nodeSteps, client: clientSteps, ca: caSteps, ui: uiSteps } as const;
  const steps = request.k8s === 'none' || request.kind === 'ui' ? byKind[request.kind](request) : k8sSteps(request);
  const warnings = [
    'Nothing has been executed: review each command, then run it yourself.',
    'Never put a CA key (ca.key) on a node; create certificates where the CA key lives and copy only certificates and their own keys.',
  ];
  if (request.kind === 'ca') warnings.push('CA rotation is two-phase: the combined ca.crt must reach every node and client BEFORE any certificate signed by the new CA is deployed.');
  if (request.kind === 'node' && request.hosts.length === 0 && request.k8s === 'none') warnings.push('No hosts given: replace the placeholders with every address of each node (hostnames, IPs, load balancers).');
  return {
    kind: request.kind,
    k8s: request.k8s,
    summary: `Rotate ${request.kind === 'ca' ? 'the cluster CA (combined-CA procedure)' : `${request.kind} certificates`}${request.k8s === 'none' ? '' : ` on Kubernetes (${request.k8s})`} in ${steps.length} steps.`,
    steps,
    verification: verification(request),
    warnings,
  };
}
