// PLACEHOLDER: replaced by the confirmation gate implementation.
import type { Config } from '../config.js';
import type { ElicitationSession } from './elicitation-session.js';
import type { Confirm } from './types.js';

export interface ConfirmationGateOptions {
  config: Config;
  now: () => number;
}

/** Builds the per-session confirmation function. */
export function createConfirmationGate(_options: ConfirmationGateOptions): (session: ElicitationSession) => Confirm {
  return () => async () => ({ approved: false, reason: 'unsupported', message: 'confirmation not implemented yet' });
}
