/**
 * Registers the prompts (src/prompts/definitions.ts) with completable arguments. Each prompt's
 * text is followed by the relevant skill files, embedded as resources.
 */
import { ProtocolError, ProtocolErrorCode, completable, type GetPromptResult, type McpServer, type PromptMessage } from '@modelcontextprotocol/server';
import { z } from 'zod';
import type { Deps } from '../deps.js';
import { toMcpError } from '../resources/errors.js';
import { PROMPTS, type CompletionSource, type PromptDef } from './definitions.js';
import { refUri, type PromptPlan, type SkillRef } from './plan.js';
import { FRAMEWORKS, PROVIDERS, REASONS, REASON_KEYWORDS, ROTATION_MODES, TIERS, PromptArgumentError, completeFrom, completeList } from './vocabulary.js';

type Completer = (value: string | undefined) => Promise<string[]> | string[];

const CLUSTER_CACHE_MS = 30_000;

/** Cluster names for completion, cached briefly; empty when the Cloud API is not usable. */
function clusterCompleter(deps: Deps): Completer {
  let cached: { at: number; names: Promise<string[]> } | undefined;
  return async (value) => {
    const now = deps.clock.now();
    if (!cached || now - cached.at > CLUSTER_CACHE_MS) {
      const names = Promise.resolve()
        .then(() => deps.cloud().listClusters())
        .then((clusters) => clusters.map((cluster) => cluster.name).sort())
        .catch(() => []);
      cached = { at: now, names };
    }
    return completeFrom(await cached.names, value).slice(0, 100);
  };
}

function completers(deps: Deps): Record<CompletionSource, Completer> {
  return {
    tier: (value) => completeFrom(TIERS, value),
    reason: (value) => completeFrom(REASONS, value, REASON_KEYWORDS),
    provider: (value) => completeFrom(PROVIDERS, value),
    mode: (value) => completeFrom(ROTATION_MODES, value),
    frameworks: (value) => completeList(FRAMEWORKS, value),
    cluster: clusterCompleter(deps),
  };
}

async function readRef(deps: Deps, ref: SkillRef): Promise<string> {
  return ref.file ? deps.skills.readReference(ref.skill, ref.file) : (await deps.skills.get(ref.skill)).markdown;
}

async function toMessages(plan: PromptPlan, deps: Deps): Promise<PromptMessage[]> {
  const messages: PromptMessage[] = [{ role: 'user', content: { type: 'text', text: plan.text } }];
  for (const ref of plan.embed) {
    let text: string;
    try {
      text = await readRef(deps, ref);
    } catch (error) {
      throw toMcpError(error);
    }
    messages.push({ role: 'user', content: { type: 'resource', resource: { uri: refUri(ref), mimeType: 'text/markdown', text } } });
  }
  return messages;
}

async function buildPlan(def: PromptDef, args: Record<string, string | undefined>): Promise<PromptPlan> {
  try {
    return await def.build(args);
  } catch (error) {
    if (error instanceof PromptArgumentError) throw new ProtocolError(ProtocolErrorCode.InvalidParams, `${def.name}: ${error.message}`);
    throw error;
  }
}

/** Registers every prompt on one server. */
export function registerPrompts(server: McpServer, deps: Deps): void {
  const complete = completers(deps);
  for (const def of PROMPTS) {
    const argsSchema = z.object(
      Object.fromEntries(
        def.arguments.map((arg) => [arg.name, completable(z.string().describe(arg.description), (value) => complete[arg.complete](value)).optional()]),
      ),
    );
    server.registerPrompt(def.name, { title: def.title, description: def.description, argsSchema }, async (args): Promise<GetPromptResult> => {
      const plan = await buildPlan(def, args as Record<string, string | undefined>);
      return { description: def.title, messages: await toMessages(plan, deps) };
    });
  }
}
