/**
 * An expected failure the operator can act on. Tool handlers throw it; tools/tool-call.ts turns it into
 * an `isError` result whose text says what failed, why, and what to do next.
 */
export class OperatorError extends Error {
  constructor(
    /** What failed, e.g. "Cluster 'prod-eats' not found". */
    readonly what: string,
    /** Why it failed, in the operator's terms. */
    readonly why: string,
    /** The next step to take. */
    readonly next: string,
    /** Machine-readable details (never secrets). */
    readonly details: Record<string, unknown> = {},
  ) {
    super(`${what}. ${why} Next: ${next}`);
    this.name = 'OperatorError';
  }
}

/** The error's own message, or its string form for non-Error throws. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
