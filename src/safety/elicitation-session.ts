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

/** One MCP session's ability to ask its human, free of SDK types. */
export interface ElicitationSession {
  supportsFormElicitation(): boolean;
  elicit(message: string, requestedSchema: ElicitationFormSchema, signal?: AbortSignal): Promise<ElicitationAnswer>;
}
