/**
 * Guidance a model copies must be callable: every tool call written in the skills (SKILL.md and
 * references) and in every prompt (for every choice of its arguments) is `tool_name {json}` on one
 * line, and those arguments pass the tool's full strict input schema.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROVIDERS, REASONS, ROTATION_MODES, TIERS } from '../../src/prompts/vocabulary.js';
import { TOOL_NAMES } from '../../src/tools/next-actions.js';
import { startTestServer, type TestServer } from '../helpers/harness.js';
import { actionProblems } from '../helpers/next-actions.js';
import { getPrompt } from '../prompts/helpers.js';

const MENTION = new RegExp(`\\b(${TOOL_NAMES.join('|')})\\s*\\{`, 'g');

interface Example {
  where: string;
  tool: string;
  json: string;
}

/** Every `tool_name {` in the text, with the rest of its line as the JSON it must be. */
function examples(text: string, where: string): Example[] {
  const found: Example[] = [];
  for (const [index, line] of text.split('\n').entries()) {
    for (const match of line.matchAll(MENTION)) {
      const start = match.index! + match[0].length - 1;
      found.push({ where: `${where}:${index + 1}`, tool: match[1]!, json: balancedObject(line.slice(start)) });
    }
  }
  return found;
}

/** The leading {...} of `text` (braces balanced outside strings), or the whole rest when unbalanced. */
function balancedObject(text: string): string {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i += 1;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{') depth += 1;
    else if (c === '}' && --depth === 0) return text.slice(0, i + 1);
  }
  return text;
}

function problems(example: Example): string[] {
  let args: unknown;
  try {
    args = JSON.parse(example.json);
  } catch {
    return [`${example.where}: ${example.tool} ${example.json} is not one-line JSON`];
  }
  return actionProblems({ tool: example.tool, arguments: args as Record<string, unknown> }).map((problem) => `${example.where}: ${problem}`);
}

function markdownFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? markdownFiles(path) : name.endsWith('.md') ? [path] : [];
  });
}

describe('tool calls written in the guidance validate against the tools', () => {
  it('skills: every example in SKILL.md and references', () => {
    const found = markdownFiles('skills').flatMap((file) => examples(readFileSync(file, 'utf8'), file));
    expect(found.length).toBeGreaterThan(20);
    expect(found.flatMap(problems)).toEqual([]);
  });

  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server.close();
  });

  it('prompts: every example, for every choice of arguments', { timeout: 120_000 }, async () => {
    const calls: Array<[string, Record<string, string>]> = [
      ...TIERS.flatMap((tier) =>
        REASONS.flatMap((reason) => PROVIDERS.map((provider): [string, Record<string, string>] => ['gather_encryption_context', { tier, reason, provider }])),
      ),
      ['gather_encryption_context', {}],
      ...['enable_cmek_guided', 'respond_to_key_compromise'].flatMap((name) => [
        [name, {}] as [string, Record<string, string>],
        ...PROVIDERS.map((provider): [string, Record<string, string>] => [name, { cluster: 'prod-east', provider }]),
      ]),
      ['rotate_cmek_guided', {}],
      ...ROTATION_MODES.flatMap((mode) =>
        PROVIDERS.map((provider): [string, Record<string, string>] => ['rotate_cmek_guided', { cluster: 'prod-east', mode, provider }]),
      ),
      ['compliance_audit', {}],
      ['compliance_audit', { frameworks: 'SOC2,PCI_DSS', scope: 'prod-east' }],
      ['compliance_audit', { frameworks: 'HIPAA', scope: 'env=prod' }],
    ];
    const found: Example[] = [];
    for (const [name, args] of calls) {
      const { text } = await getPrompt(server.client, name, args);
      found.push(...examples(text, `${name} ${JSON.stringify(args)}`));
    }
    expect(found.length).toBeGreaterThan(20);
    expect([...new Set(found.flatMap(problems))]).toEqual([]);
  });
});
