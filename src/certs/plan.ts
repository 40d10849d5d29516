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

const K8S_NAMES: Record<K8sMode, string> = {
  none: 'none',
  'public-operator': 'public operator, CrdbCluster nodeTLSSecret/clientTLSSecret',
  'cockroachdb-operator': 'CockroachDB operator, Helm cockroachdb.tls.externalCertificates',
  helm: 'cockroachdb Helm chart StatefulSet, tls.certs.selfSigner',
  'cert-manager': 'cert-manager',
};

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
    [
      `cp -a ${request.certsDir} ${request.certsDir}.bak-$(date +%Y%m%d%H%M%S)`,
      `cp -a ${safeDir(request.caKey)} ${safeDir(request.caKey)}.bak-$(date +%Y%m%d%H%M%S)`,
    ],
    ['Keep the backups until the new certificates are verified on every node; they are the rollback.'],
  );
}

const SIGHUP = step(
  'Reload certificates on each node without a restart (one node at a time)',
  ['pkill -SIGHUP -x cockroach', '# or: kill -HUP "$(pgrep -x cockroach)"'],
  ['Send the signal as the user that runs cockroach (sudo -u <that user> if needed). Running nodes pick up new files only on SIGHUP, not by themselves.'],
);

/** Said wherever a plan reads crdb_internal (DOMAIN: v26.1 logs that access). */
export const UNSAFE_INTERNALS_LOGGED =
  'v26.1+: crdb_internal needs SET allow_unsafe_internals = true, and each such access is logged on the SENSITIVE_ACCESS channel; /_status/vars needs neither';

function verification(request: PlanRequest): string[] {
  const vars = `curl -s --cacert ${request.certsDir}/ca.crt https://<node>:8080/_status/vars`;
  const list = `cockroach cert list --certs-dir=${request.certsDir}`;
  if (request.kind === 'client') {
    return [
      `check_certificate_expiry (this server) with http_url set to each node's DB Console URL: it reads security_certificate_expiration_client per SQL user (sql_user="${request.user}").`,
      `${vars} | grep 'security_certificate_expiration_client{.*sql_user="${request.user}"'   # on each node ${request.user} has authenticated to with a certificate since the node started`,
      `Do not verify with security.certificate.expiration.client in crdb_internal.kv_node_status: that top-level value sums the minimum expiry of every SQL user and says nothing about ${request.user}.`,
      `openssl x509 -in ${request.certsDir}/client.${request.user}.crt -noout -subject -enddate`,
      list,
    ];
  }
  const metric = request.kind;
  const promNames = request.kind === 'ca' ? 'security_certificate_expiration_(ca|client_ca|ui_ca)' : `security_certificate_expiration_${metric}`;
  return [
    "check_certificate_expiry (this server) on the cluster, and inspect_certificates on each node's certs directory.",
    `${vars} | grep -E '${promNames}'`,
    `SET allow_unsafe_internals = true; SELECT node_id, to_timestamp((metrics->>'security.certificate.expiration.${metric}')::FLOAT8) AS expires FROM crdb_internal.kv_node_status ORDER BY node_id;   -- ${UNSAFE_INTERNALS_LOGGED}`,
    request.kind === 'ui'
      ? `openssl s_client -connect <node>:8080 </dev/null 2>/dev/null | openssl x509 -noout -subject -enddate -ext subjectAltName`
      : `openssl s_client -connect <node>:26257 -starttls postgres -CAfile ${request.certsDir}/ca.crt </dev/null 2>/dev/null | openssl x509 -noout -subject -enddate -ext subjectAltName`,
    list,
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
        "Run it once per node, with that node's own addresses plus the shared load-balancer addresses.",
      ],
    ),
    step(
      'Install node.crt and node.key on the node',
      [
        `scp ${request.certsDir}/node.crt ${request.certsDir}/node.key <user>@<node>:${request.certsDir}/`,
        `ssh <user>@<node> 'chmod 600 ${request.certsDir}/node.key && chmod 644 ${request.certsDir}/node.crt'`,
      ],
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
      [
        `cockroach cert create-client ${request.user} --certs-dir=${request.certsDir} --ca-key=${request.caKey} --overwrite`,
        '# Java/JDBC clients also need: --also-generate-pkcs8-key',
      ],
      ['If the cluster uses a separate client CA (ca-client.crt on the nodes), sign with its key instead: --ca-key=<safe dir>/ca-client.key.'],
    ),
    step(
      'Install it on each client and switch the client over',
      [
        `scp ${request.certsDir}/client.${request.user}.crt ${request.certsDir}/client.${request.user}.key <user>@<client>:<client certs dir>/`,
        `chmod 600 <client certs dir>/client.${request.user}.key`,
      ],
      ['Clients are not reloaded by SIGHUP: restart or reconnect the application (application-specific).'],
    ),
    step(
      'Check the new certificate authenticates',
      [`cockroach sql --certs-dir=${request.certsDir} --host=<node> --user=${request.user} -e 'SELECT current_user'`],
      [
        `A node reports security_certificate_expiration_client{sql_user="${request.user}"} only once ${request.user} has authenticated to it with a certificate.`,
      ],
    ),
  ];
}

function caSteps(request: PlanRequest): PlanStep[] {
  const dir = safeDir(request.caKey);
  return [
    backup(request),
    step(
      'Create the new CA; cockroach writes a combined ca.crt (new CA first, then the old one)',
      [
        `mv ${request.caKey} ${dir}/ca.old.key`,
        `cockroach cert create-ca --certs-dir=${request.certsDir} --ca-key=${request.caKey} --overwrite`,
        `grep -c 'BEGIN CERTIFICATE' ${request.certsDir}/ca.crt   # expect 2`,
      ],
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
      [
        'Once inspect_certificates shows every certificate signed by the new CA, the old CA can leave ca.crt (and ca.old.key can be destroyed) — not before.',
        'A separate client CA (ca-client.crt, key ca-client.key) rotates the same way with cockroach cert create-client-ca; client certificates, including client.node.crt (cockroach cert create-client node), are then re-issued with ca-client.key.',
      ],
    ),
  ];
}

function uiSteps(request: PlanRequest): PlanStep[] {
  return [
    backup(request),
    step(
      'Get a new DB Console certificate from the CA browsers trust (cockroach cert has no create-ui)',
      [
        `openssl req -new -newkey rsa:2048 -nodes -keyout ${request.certsDir}/ui.key -out ui.csr -subj '/CN=${request.hosts[0] ?? '<console hostname>'}' -addext 'subjectAltName=${request.hosts.length ? request.hosts.map((h) => (/^[\d.]+$|:/.test(h) ? `IP:${h}` : `DNS:${h}`)).join(',') : 'DNS:<console hostname>'}'`,
        '# submit ui.csr to your CA; save the signed certificate as ui.crt',
      ],
      ["If that CA is not in ca.crt, install its certificate as ca-ui.crt (cockroach's name for the DB Console CA)."],
    ),
    step('Install ui.crt and ui.key on each node', [`chmod 600 ${request.certsDir}/ui.key && chmod 644 ${request.certsDir}/ui.crt`]),
    SIGHUP,
  ];
}

/** How each operator is told to use new secrets; both restart the pods one at a time (docs). */
interface OperatorStyle {
  name: string;
  apply(request: PlanRequest, secrets: { node?: string; client?: string }): string[];
  watch(request: PlanRequest): string;
}

const OPERATORS: Record<'public-operator' | 'cockroachdb-operator', OperatorStyle> = {
  'public-operator': {
    name: 'public operator (CrdbCluster)',
    apply: (request, secrets) => {
      const spec = { ...(secrets.node ? { nodeTLSSecret: secrets.node } : {}), ...(secrets.client ? { clientTLSSecret: secrets.client } : {}) };
      return [
        `kubectl patch crdbcluster ${request.cluster} -n ${request.namespace} --type merge -p '${JSON.stringify({ spec })}'`,
        '# or set the same fields in your CrdbCluster manifest and kubectl apply -f it',
      ];
    },
    watch: (request) => `kubectl rollout status statefulset/${request.cluster} -n ${request.namespace}`,
  },
  'cockroachdb-operator': {
    name: 'CockroachDB operator (Helm values cockroachdb.tls.externalCertificates)',
    apply: (request, secrets) => [
      [
        `helm upgrade --reuse-values ${request.cluster} ./cockroachdb-parent/charts/cockroachdb -n ${request.namespace}`,
        '--set cockroachdb.tls.externalCertificates.enabled=true',
        ...(secrets.node ? [`--set cockroachdb.tls.externalCertificates.certificates.nodeSecretName=${secrets.node}`] : []),
        ...(secrets.client ? [`--set cockroachdb.tls.externalCertificates.certificates.nodeClientSecretName=${secrets.client}`] : []),
      ].join(' '),
      '# or set the same values in the values file you deploy with and helm upgrade with it',
    ],
    watch: (request) => `kubectl get pods -n ${request.namespace} -w   # until every CockroachDB pod restarted and is Ready`,
  },
};

function secretCommand(request: PlanRequest, secret: string, cert: string): string {
  const dir = request.certsDir;
  return `kubectl create secret generic ${secret} -n ${request.namespace} --from-file=tls.crt=${dir}/${cert}.crt --from-file=tls.key=${dir}/${cert}.key --from-file=ca.crt=${dir}/ca.crt`;
}

function applyStep(request: PlanRequest, style: OperatorStyle, secrets: { node?: string; client?: string }, title: string): PlanStep {
  return step(
    title,
    [...style.apply(request, secrets), style.watch(request)],
    [
      `The ${style.name} then terminates and restarts the pods one at a time with the new secrets (a restart is how pods pick up new certificates on Kubernetes).`,
      'Keep the old secrets until the restart finished and verification passed; then delete them (kubectl delete secret <old name>).',
    ],
  );
}

/** The documented operator procedure: new secrets (new names), point the operator at them, pods restart. */
function operatorSteps(request: PlanRequest, mode: keyof typeof OPERATORS): PlanStep[] {
  const style = OPERATORS[mode];
  const c = request.cluster;
  const node = `cockroach cert create-node ${hostList(request)} --certs-dir=${request.certsDir} --ca-key=${request.caKey} --overwrite`;
  const root = `cockroach cert create-client root --certs-dir=${request.certsDir} --ca-key=${request.caKey} --overwrite`;
  const selfIssued =
    mode === 'cockroachdb-operator'
      ? [
          "If the operator's self-signer (cockroachdb.tls.selfSigner) or cert-manager (cockroachdb.tls.certManager) issues the certificates, they are renewed for you, but the pods must still be restarted to pick them up.",
        ]
      : [];
  if (request.kind === 'ca') {
    return [
      backup(request),
      step('Create the new CA; cockroach writes a combined ca.crt (new CA first, then the old one)', [
        `mv ${request.caKey} ${safeDir(request.caKey)}/ca.old.key`,
        `cockroach cert create-ca --certs-dir=${request.certsDir} --ca-key=${request.caKey} --overwrite`,
      ]),
      step(
        'Phase 1: store the current node and root certificates with the combined ca.crt as new secrets',
        [secretCommand(request, `${c}.node.2`, 'node'), secretCommand(request, `${c}.client.root.2`, 'client.root')],
        ['Every application client must trust the combined ca.crt before phase 2.'],
      ),
      applyStep(request, style, { node: `${c}.node.2`, client: `${c}.client.root.2` }, `Point the ${style.name} at them`),
      step('Phase 2: re-issue the node and root certificates with the new CA, as new secrets', [
        node,
        root,
        secretCommand(request, `${c}.node.3`, 'node'),
        secretCommand(request, `${c}.client.root.3`, 'client.root'),
      ]),
      applyStep(request, style, { node: `${c}.node.3`, client: `${c}.client.root.3` }, `Point the ${style.name} at them`),
    ];
  }
  const isClient = request.kind === 'client';
  const secret = isClient ? `${c}.client.root.2` : `${c}.node.2`;
  return [
    step(
      `Create the new ${isClient ? 'root client' : 'node'} certificate where the CA key lives (as in the non-Kubernetes plan)`,
      [isClient ? root : node],
      [...(isClient ? [] : ['List every service and pod name the pods are reached by, plus external load-balancer names.']), ...selfIssued],
    ),
    step(`Store it as a NEW secret with the file names the ${style.name} expects (tls.crt, tls.key, ca.crt)`, [
      secretCommand(request, secret, isClient ? 'client.root' : 'node'),
    ]),
    applyStep(request, style, isClient ? { client: secret } : { node: secret }, `Point the ${style.name} at the new secret`),
  ];
}

function k8sSteps(request: PlanRequest): PlanStep[] {
  const ns = request.namespace;
  const c = request.cluster;
  if (request.k8s === 'public-operator' || request.k8s === 'cockroachdb-operator') return operatorSteps(request, request.k8s);
  if (request.k8s === 'cert-manager') {
    return [
      step(
        'Renew the certificates now (cert-manager otherwise renews at renewBefore)',
        [`kubectl get certificates -n ${ns}`, `cmctl renew -n ${ns} <certificate name>`],
        request.kind === 'ca'
          ? [
              'For a CA rotation, first distribute a bundle holding both CAs (e.g. a trust-manager Bundle into ca.crt), then switch the Issuer to the new CA secret, then renew every Certificate.',
            ]
          : [],
      ),
      step(
        'Restart the pods one at a time so cockroach reads the renewed secret files',
        [`kubectl rollout restart statefulset/${c} -n ${ns}`, `kubectl rollout status statefulset/${c} -n ${ns}`],
        [
          "These commands are for the cockroachdb Helm chart's StatefulSet (tls.certs.certManager). With the CockroachDB operator (cockroachdb.tls.certManager) the docs likewise require restarting the pods: restart them one at a time, each Ready before the next.",
          'Secrets mounted with subPath never update in a running pod; only a restart picks them up.',
        ],
      ),
    ];
  }
  return [
    step(
      "Let the cockroachdb Helm chart's self-signer rotate (StatefulSet chart, values tls.certs.selfSigner; it rotates within the expiry windows when rotateCerts is on)",
      [`helm upgrade <release> cockroachdb/cockroachdb -n ${ns} --reuse-values --set tls.certs.selfSigner.rotateCerts=true`],
      [
        "Tune tls.certs.selfSigner.{ca,node,client}CertDuration and *ExpiryWindow to control when it rotates. For the CockroachDB operator's self-signer, use k8s=cockroachdb-operator.",
      ],
    ),
    step("To rotate now, run the chart's rotation CronJob once", [
      `kubectl get cronjobs -n ${ns}`,
      `kubectl create job --from=cronjob/<rotation cronjob> rotate-now-$(date +%s) -n ${ns}`,
      `kubectl rollout status statefulset/${c} -n ${ns}`,
    ]),
  ];
}

/** Builds the plan. */
export function planCertificateRotation(request: PlanRequest): RotationPlan {
  const byKind = { node: nodeSteps, client: clientSteps, ca: caSteps, ui: uiSteps } as const;
  // An application user's client certificate lives with the application, not in the operator's secrets.
  const appClient = request.kind === 'client' && request.user !== 'root';
  const onK8s = request.k8s !== 'none' && request.kind !== 'ui' && !appClient;
  const steps = onK8s ? k8sSteps(request) : byKind[request.kind](request);
  const warnings = [
    'Nothing has been executed: review each command, then run it yourself.',
    'Never put a CA key (ca.key) on a node; create certificates where the CA key lives and copy only certificates and their own keys.',
  ];
  if (request.kind === 'ca')
    warnings.push('CA rotation is two-phase: the combined ca.crt must reach every node and client BEFORE any certificate signed by the new CA is deployed.');
  if (request.kind === 'node' && request.hosts.length === 0 && request.k8s === 'none')
    warnings.push('No hosts given: replace the placeholders with every address of each node (hostnames, IPs, load balancers).');
  if (appClient && request.k8s !== 'none')
    warnings.push(
      `On Kubernetes the operator and chart secrets hold only the root client certificate; ${request.user}'s certificate lives with its application, so this is the plain client procedure: give the application its new files (e.g. its own secret) and restart it.`,
    );
  return {
    kind: request.kind,
    k8s: request.k8s,
    summary: `Rotate ${request.kind === 'ca' ? 'the cluster CA (combined-CA procedure)' : request.kind === 'client' ? `the client certificate of ${request.user}` : `${request.kind} certificates`}${onK8s ? ` on Kubernetes (${K8S_NAMES[request.k8s]})` : ''} in ${steps.length} steps.`,
    steps,
    verification: verification(request),
    warnings,
  };
}
