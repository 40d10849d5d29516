/** A flat JSON schema for an elicitation form (strings, enums, booleans only, per the MCP spec). */
export interface ElicitationFormSchema {
  type: 'object';
  properties: Record<string, Record<string, unknown>>;
  required?: string[];
}

/** What the human answered. */
export interface ElicitationAnswer {
  action: 'accept' | 'decline' | 'cancel';
  content?: Record<string, unknown>;
}

/**
 * What a 2026-07-28 call carries back after an `input_required` result: the sealed state the
 * server returned, and the client's answer to the confirmation form (absent when it sent none).
 */
export interface RoundTripReply {
  requestState?: string;
  answer?: ElicitationAnswer;
}

/**
 * How one tool call can ask its human, free of SDK types. Legacy sessions (initialize-era) push
 * the form with `elicit` and wait; 2026-07-28 calls set `roundTrip`: the form goes back to the
 * client in the result, and the retried call brings the answer.
 */
export interface ElicitationSession {
  supportsFormElicitation(): boolean;
  /** Pushes the form and waits for the answer (legacy sessions only). */
  elicit(message: string, requestedSchema: ElicitationFormSchema, signal?: AbortSignal): Promise<ElicitationAnswer>;
  /** Present on 2026-07-28 calls: forms are returned, not pushed; holds what this call carried back. */
  roundTrip?: RoundTripReply;
}
