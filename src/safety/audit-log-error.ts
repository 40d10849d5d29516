/** Audit-log failures and the standing advice for a broken chain (apart from the stores, so tool-call.ts can recognise them without loading a store). */

/** The audit log cannot be used as it is; `next` tells the operator what to do. */
export class AuditLogError extends Error {
  constructor(
    message: string,
    readonly next: string,
  ) {
    super(message);
    this.name = 'AuditLogError';
  }
}

/** What to do when the chain is broken. */
export const BROKEN_LOG_NEXT_STEP =
  'preserve the log as evidence (copy it; do not edit, truncate or delete it), investigate who changed it, and compare the entries around the first bad one with the upstream audit logs (CockroachDB Cloud audit log, AWS CloudTrail, GCP Cloud Audit Logs, Azure Monitor activity log).';
