import { OperatorError } from '../errors.js';
import type { AuditOutcome, Confirm, ConfirmationRefusal, ConfirmationRequest } from './types.js';

const HUMAN_REFUSALS: ReadonlySet<ConfirmationRefusal> = new Set(['declined', 'cancelled', 'rejected', 'name_mismatch']);

const HEADLINE: Record<ConfirmationRefusal, string> = {
  declined: 'Declined',
  cancelled: 'Cancelled',
  rejected: 'Rejected',
  name_mismatch: 'Name mismatch',
  unsupported: 'Confirmation unavailable',
  error: 'Confirmation failed',
  token_issued: 'Confirmation required',
  token_invalid: 'Invalid confirmation token',
  token_expired: 'Confirmation token expired',
  token_replayed: 'Confirmation token already used',
  stale_plan: 'Stale plan',
};

/**
 * Asks for confirmation and returns only when it was given. Otherwise throws an OperatorError
 * (headline, the gate's explanation, its next step) whose details carry `auditOutcome`
 * ('declined' when a human said no, 'refused' otherwise, including a freshly issued token),
 * `confirmation` (the refusal reason) and, when a token was issued, `confirmationToken` and
 * `expiresAt`. Tokens are not secrets: the plan text shows them to the user on purpose.
 */
export async function requireConfirmation(confirm: Confirm, request: ConfirmationRequest): Promise<void> {
  const result = await confirm(request);
  if (result.approved) return;
  const auditOutcome: AuditOutcome = HUMAN_REFUSALS.has(result.reason) ? 'declined' : 'refused';
  const suffix = result.next ? ` Next: ${result.next}` : '';
  const why = suffix && result.message.endsWith(suffix) ? result.message.slice(0, -suffix.length) : result.message;
  throw new OperatorError(`${HEADLINE[result.reason]}: ${request.tool} on ${request.targetName} was not run`, why, result.next ?? `call ${request.tool} again.`, {
    auditOutcome,
    confirmation: result.reason,
    ...(result.token ? { confirmationToken: result.token, expiresAt: result.expiresAt } : {}),
  });
}
