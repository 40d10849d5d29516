/**
 * Fault injection shared by the sandbox emulators: latency, throttling bursts, server errors,
 * hangs (client time-outs) and connection resets, plus a request log that proves rate limits held.
 */

export type FaultKind = 'throttle' | 'server_error' | 'hang' | 'reset';

/** Which requests a fault applies to; omitted fields match anything. */
export interface FaultMatch {
  method?: string;
  /** Emulator-specific operation name, e.g. "GET /cmek", "ScheduleKeyDeletion", "UpdateCryptoKeyPrimaryVersion". */
  operation?: string | RegExp;
  /** Request path (with query), e.g. /\/clusters\/<id>\/cmek$/ to fault one cluster's calls. */
  path?: string | RegExp;
}

export interface FaultRule {
  kind: FaultKind;
  /** How many matching requests this rule affects. */
  count: number;
  match?: FaultMatch;
  /** For throttle: the Retry-After header value. */
  retryAfterSeconds?: number;
  /** For server_error: the HTTP status (default 503). */
  status?: number;
  /** For server_error: the error message the service sends (default: its usual text). Tests put hostile text here. */
  message?: string;
}

/** A request as the fault plan sees it. */
export interface FaultTarget {
  method: string;
  operation: string;
  /** Request path with query, where the emulator knows it. */
  path?: string;
}

function matches(match: FaultMatch | undefined, target: FaultTarget): boolean {
  if (!match) return true;
  if (match.method && match.method.toUpperCase() !== target.method.toUpperCase()) return false;
  if (match.path !== undefined && !(match.path instanceof RegExp ? match.path.test(target.path ?? '') : match.path === target.path)) return false;
  if (match.operation instanceof RegExp) return match.operation.test(target.operation);
  if (match.operation && match.operation !== target.operation) return false;
  return true;
}

/** Mutable fault knobs of one emulator; tests and sandbox env set them. */
export class FaultPlan {
  /** Added to every response. */
  latencyMs = 0;
  /** Probability (0..1) that any request gets a server error. */
  errorRate = 0;
  private rules: FaultRule[] = [];

  /** Queues a fault for the next `rule.count` matching requests. */
  inject(rule: FaultRule): this {
    this.rules.push({ ...rule });
    return this;
  }

  /** Consumes and returns the fault for this request, if any. */
  take(target: FaultTarget): FaultRule | undefined {
    const index = this.rules.findIndex((rule) => rule.count > 0 && matches(rule.match, target));
    if (index >= 0) {
      const rule = this.rules[index]!;
      rule.count -= 1;
      if (rule.count === 0) this.rules.splice(index, 1);
      return rule;
    }
    if (this.errorRate > 0 && Math.random() < this.errorRate) return { kind: 'server_error', count: 1 };
    return undefined;
  }

  /** Pending rules (for assertions). */
  pending(): readonly FaultRule[] {
    return this.rules;
  }

  reset(): void {
    this.rules = [];
    this.latencyMs = 0;
    this.errorRate = 0;
  }
}

export interface LoggedRequest {
  /** Milliseconds since the epoch when the request arrived. */
  at: number;
  method: string;
  operation: string;
  status: number;
  /** Request path with query (HTTP emulators). */
  path?: string;
}

/** Every request an emulator answered, in arrival order. */
export class RequestLog {
  readonly entries: LoggedRequest[] = [];

  record(entry: LoggedRequest): void {
    this.entries.push(entry);
  }

  /** Number of requests matching the filter. */
  count(match?: FaultMatch): number {
    return this.entries.filter((entry) => matches(match, entry)).length;
  }

  /** The largest number of requests that arrived within any window of `windowMs`. */
  maxInWindow(windowMs: number, match?: FaultMatch): number {
    const times = this.entries.filter((entry) => matches(match, entry)).map((entry) => entry.at);
    let max = 0;
    let start = 0;
    for (let end = 0; end < times.length; end++) {
      while (times[end]! - times[start]! >= windowMs) start++;
      max = Math.max(max, end - start + 1);
    }
    return max;
  }

  clear(): void {
    this.entries.length = 0;
  }
}

/** Resolves after `ms`, without keeping the process alive. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
