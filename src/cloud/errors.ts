/**
 * Failures of the CockroachDB Cloud API, phrased for the operator: what failed, why, what next.
 * Every error the client throws (except cancellation) is a CloudApiError.
 */
import { untrustedText } from '../safety/untrusted.js';
import { OperatorError } from '../errors.js';
import { apiStatusSchema, type CmekClusterInfo } from './schemas.js';

/** How the exchange failed. */
export type CloudFailureKind = 'http' | 'network' | 'timeout' | 'invalid_response' | 'redirect' | 'deadline';

export interface CloudApiErrorInit {
  kind: CloudFailureKind;
  /** What was being done, e.g. "PUT /cmek (rotate) on cluster 3b1f...". */
  operation: string;
  /** HTTP status; 0 when no response arrived. */
  status?: number;
  /** google.rpc code from the Status body, when the body had one. */
  code?: number;
  /** The server's message (or the raw body of an untyped error, truncated). */
  message?: string;
  requestId?: string;
  /** Milliseconds the server asked us to wait (429). */
  retryAfterMs?: number;
}

/** gRPC status code names the Cloud API puts in Status.code. */
const CODE_NAMES: Record<number, string> = {
  1: 'CANCELLED',
  2: 'UNKNOWN',
  3: 'INVALID_ARGUMENT',
  4: 'DEADLINE_EXCEEDED',
  5: 'NOT_FOUND',
  6: 'ALREADY_EXISTS',
  7: 'PERMISSION_DENIED',
  8: 'RESOURCE_EXHAUSTED',
  9: 'FAILED_PRECONDITION',
  10: 'ABORTED',
  12: 'UNIMPLEMENTED',
  13: 'INTERNAL',
  14: 'UNAVAILABLE',
  16: 'UNAUTHENTICATED',
};

const ROLE_HINT = 'the service account needs role CLUSTER_ADMIN or CLUSTER_OPERATOR_WRITER (organization, folder or cluster scope)';

function explain(init: CloudApiErrorInit): { what: string; why: string; next: string } {
  const said = init.message ? `: ${init.message}` : '';
  const codeName = init.code !== undefined ? ` ${CODE_NAMES[init.code] ?? `code ${init.code}`}` : '';
  const evidence = `HTTP ${init.status}${codeName}${said}`;
  const what = `CockroachDB Cloud API call failed (${init.operation})`;
  switch (init.kind) {
    case 'network':
      return {
        what,
        why: `No response from CockroachDB Cloud${said}.`,
        next: 'check network access to the API (proxy, firewall, COCKROACH_API_URL) and retry.',
      };
    case 'timeout':
      return { what, why: `CockroachDB Cloud did not answer in time${said}.`, next: 'retry shortly; check status.cockroachlabs.cloud if it persists.' };
    case 'redirect':
      return {
        what,
        why: `The API answered with a redirect${said}. It was not followed: requests and the API key go only to the configured API URL.`,
        next: 'set COCKROACH_API_URL to the API origin itself (https://cockroachlabs.cloud for CockroachDB Cloud) and retry.',
      };
    case 'invalid_response':
      return {
        what,
        why: `The response did not have the expected shape${said}.`,
        next: 'the API may have changed; check the cluster in the CockroachDB Cloud console and report this to the crdb-encryption-mcp maintainers.',
      };
    case 'deadline':
      return {
        what,
        why: `${init.message ?? 'The operation is still running.'}`,
        next: 'check progress later with get_cmek_status; do not re-send the request.',
      };
    case 'http':
      break;
  }
  const status = init.status ?? 0;
  if (status === 401) {
    return {
      what,
      why: `The API key was not accepted (${evidence}).`,
      next: `check that COCKROACH_API_KEY holds a current service account API key; ${ROLE_HINT}.`,
    };
  }
  if (status === 403) {
    return { what, why: `The API key lacks permission (${evidence}).`, next: `grant the service account the right role: ${ROLE_HINT}; then retry.` };
  }
  if (status === 404) {
    return { what, why: `Not found (${evidence}).`, next: 'check the cluster id; run list_clusters to see the clusters this API key can see.' };
  }
  if (status === 409) {
    return { what, why: `Another operation is in progress (${evidence}).`, next: 'wait for it to finish (get_cmek_status), then retry.' };
  }
  if (status === 429) {
    const wait = init.retryAfterMs !== undefined ? `${Math.ceil(init.retryAfterMs / 1000)} s` : 'a few seconds';
    return {
      what,
      why: `Rate limited (${evidence}); the API allows 10 requests per second per key.`,
      next: `wait ${wait} and retry; avoid running many fleet-wide tools at once.`,
    };
  }
  if (status >= 500) {
    return { what, why: `CockroachDB Cloud had a server error (${evidence}).`, next: 'retry later; check status.cockroachlabs.cloud if it persists.' };
  }
  return { what, why: `The request was rejected (${evidence}).`, next: 'fix the request as the message says and retry.' };
}

/** A failed Cloud API exchange. `ambiguous` mutations carry the CMEK state observed afterwards. */
export class CloudApiError extends OperatorError {
  readonly kind: CloudFailureKind;
  readonly operation: string;
  readonly status: number;
  readonly code: number | undefined;
  readonly requestId: string | undefined;
  readonly retryAfterMs: number | undefined;
  /** The server's own message, if any. */
  readonly serverMessage: string | undefined;
  /** True when a mutation may or may not have been applied (it was not re-sent). */
  readonly ambiguous: boolean;
  /** CMEK state read back (after an ambiguous mutation, or at a wait deadline); null: CMEK not enabled; undefined: not read. */
  readonly observed: CmekClusterInfo | null | undefined;

  constructor(
    readonly init: CloudApiErrorInit,
    text: Partial<{ what: string; why: string; next: string }> = {},
    extra: { ambiguous?: boolean; observed?: CmekClusterInfo | null } = {},
  ) {
    const base = explain(init);
    const what = text.what ?? base.what;
    const why = text.why ?? base.why;
    const next = text.next ?? base.next;
    super(what, why, next, {
      kind: init.kind,
      status: init.status ?? 0,
      ...(init.code !== undefined ? { code: init.code } : {}),
      ...(init.requestId ? { requestId: init.requestId } : {}),
      ...(extra.ambiguous ? { ambiguous: true } : {}),
      ...('observed' in extra ? { observedStatus: extra.observed === null ? 'NOT_ENABLED' : (extra.observed?.status ?? 'UNKNOWN') } : {}),
    });
    this.name = 'CloudApiError';
    this.kind = init.kind;
    this.operation = init.operation;
    this.status = init.status ?? 0;
    this.code = init.code;
    this.requestId = init.requestId;
    this.retryAfterMs = init.retryAfterMs;
    this.serverMessage = init.message;
    this.ambiguous = extra.ambiguous ?? false;
    this.observed = extra.observed;
  }

  /** True for failures worth trying again later: network, time-out, 429, 5xx. */
  get transient(): boolean {
    return this.kind === 'network' || this.kind === 'timeout' || (this.kind === 'http' && (this.status >= 500 || this.status === 429));
  }
}

const MAX_MESSAGE = 300;

/** Reads a Status body, falling back to the raw text for untyped error bodies; the message is an upstream string (untrustedText()). */
export function statusFromBody(text: string): { code?: number; message?: string } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    const raw = untrustedText(text, MAX_MESSAGE);
    return raw ? { message: raw } : {};
  }
  const status = apiStatusSchema.safeParse(json).data;
  if (status && (status.message !== undefined || status.code !== undefined)) {
    return {
      ...(status.code !== undefined ? { code: status.code } : {}),
      ...(status.message ? { message: untrustedText(status.message, MAX_MESSAGE) } : {}),
    };
  }
  return { message: untrustedText(text, MAX_MESSAGE) };
}

export { abortError } from '../abort.js';

/** One line summarising a CMEK state, for messages: "ROTATING (us-east-1 ROTATING, us-west-2 ENABLED)". */
export function describeCmek(info: CmekClusterInfo | null | undefined): string {
  if (info === undefined) return 'unknown (it could not be read back)';
  if (info === null) return 'CMEK not enabled';
  const regions = (info.region_infos ?? []).map((region) => `${region.region ?? '?'} ${region.status ?? '?'}`);
  return `${info.status ?? 'UNKNOWN'}${regions.length ? ` (${regions.join(', ')})` : ''}`;
}
