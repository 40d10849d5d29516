/** Small helpers for prompt tests: fetch a prompt and split its messages. */
import type { Client } from '@modelcontextprotocol/client';
import { expect } from 'vitest';

export interface PromptOutcome {
  text: string;
  /** URIs of the embedded skill resources, in order. */
  embedded: string[];
  /** Text of each embedded resource, by URI. */
  embeddedText: Record<string, string>;
}

export async function getPrompt(client: Client, name: string, args: Record<string, string> = {}): Promise<PromptOutcome> {
  const result = await client.getPrompt({ name, arguments: args });
  const outcome: PromptOutcome = { text: '', embedded: [], embeddedText: {} };
  for (const message of result.messages) {
    expect(message.role).toBe('user');
    const content = message.content as { type: string; text?: string; resource?: { uri: string; text: string; mimeType?: string } };
    if (content.type === 'text') outcome.text += content.text;
    if (content.type === 'resource') {
      expect(content.resource!.mimeType).toBe('text/markdown');
      outcome.embedded.push(content.resource!.uri);
      outcome.embeddedText[content.resource!.uri] = content.resource!.text;
    }
  }
  return outcome;
}

/** Asserts the tools appear in the text in this order (first mention of each). */
export function expectToolOrder(text: string, tools: string[]): void {
  const positions = tools.map((tool) => {
    const at = text.indexOf(`\`${tool}`);
    expect(at, `${tool} is not mentioned`).toBeGreaterThanOrEqual(0);
    return at;
  });
  expect(positions, `tools out of order: ${tools.join(' < ')}`).toEqual([...positions].sort((a, b) => a - b));
}

export async function completePrompt(client: Client, prompt: string, argument: string, value: string): Promise<string[]> {
  const result = await client.complete({ ref: { type: 'ref/prompt', name: prompt }, argument: { name: argument, value } });
  return result.completion.values;
}
