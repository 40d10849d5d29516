import { OperatorError } from '../errors.js';
import type { AuditOutcome, Confirm, ConfirmationForm, ConfirmationRefusal, ConfirmationRequest } from './types.js';

const HUMAN_REFUSALS: ReadonlySet<ConfirmationRefusal> = new Set(['declined', 'cancelled', 'rejected', 'name_mismatch']);

const HEADLINE: Record<ConfirmationRefusal, string> = {
  declined: 'Declined',
  cancelled: 'Cancelled',
  rejected: 'Rejected',
  name_mismatch: 'Name mismatch',
  unsupported: 'Confirmation unavailable',
  error: 'Confirmation failed',
  input_required: 'Confirmation required',
  token_issued: 'Confirmation required',
  tampered: 'Invalid confirmation',
  expired: 'Confirmation expired',
  replayed: 'Confirmation already used',
  stale_plan: 'Stale plan',
};

/**
 * Thrown by requireConfirmation on a 2026-07-28 call: the tool returns the form as an
 * `input_required` result (tools/tool-call.ts maps it), and nothing else happens in this round.
 */
export class ConfirmationPending extends Error {
  override name = 'ConfirmationPending';
  constructor(
    readonly tool: string,
    readonly form: ConfirmationForm,
    readonly requestState: string,
    /** The plan and what happens next, for the audit log. */
    readonly detail: string,
  ) {
    super(`${tool}: waiting for the human's answer to the confirmation form`);
  }
}

/**
 * Asks for confirmation and returns only when it was given. A form that must go back to the
 * client throws ConfirmationPending. Any other outcome throws an OperatorError (headline, the
 * gate's explanation, its next step) whose details carry `auditOutcome` ('declined' when a
 * human said no, 'refused' otherwise, including a freshly issued token), `confirmation` (the
 * refusal reason) and, when a token was issued, `confirmationToken` and `expiresAt`. Tokens are
 * not secrets: the plan text shows them to the user on purpose.
 */
export async function requireConfirmation(confirm: Confirm, request: ConfirmationRequest): Promise<void> {
  const result = await confirm(request);
  if (result.approved) return;
  if (result.reason === 'input_required' && result.form && result.requestState) {
    throw new ConfirmationPending(request.tool, result.form, result.requestState, result.message);
  }
  const auditOutcome: AuditOutcome = HUMAN_REFUSALS.has(result.reason) ? 'declined' : 'refused';
  const suffix = result.next ? ` Next: ${result.next}` : '';
  const why = suffix && result.message.endsWith(suffix) ? result.message.slice(0, -suffix.length) : result.message;
  throw new OperatorError(
    `${HEADLINE[result.reason]}: ${request.tool} on ${request.targetName} was not run`,
    why,
    result.next ?? `call ${request.tool} again.`,
    {
      auditOutcome,
      confirmation: result.reason,
      ...(result.token ? { confirmationToken: result.token, expiresAt: result.expiresAt } : {}),
    },
  );
}
