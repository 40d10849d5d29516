/**
 * Regenerates the README's tool, prompt and resource tables from the real registries (ALL_TOOLS,
 * PROMPTS, RESOURCE_TEMPLATES, the skills folder and the sandbox seed), between the markers
 * `<!-- tools:start -->` / `<!-- tools:end -->` (and prompts, resources, sandbox).
 *   tsx tools/generate-readme.ts          rewrite README.md
 *   tsx tools/generate-readme.ts --check  exit 1 when README.md is stale (CI)
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PROMPTS } from '../src/prompts/definitions.js';
import { RESOURCE_TEMPLATES, headingOf } from '../src/resources/index.js';
import { SANDBOX_IDENTITIES } from '../src/sandbox/identities.js';
import { CLUSTERS, CMEK, SEEDED_PROBLEMS } from '../src/sandbox/seed.js';
import { writeOrCheck } from './generated-file.js';
import { createSkillCatalog } from '../src/skills/catalog.js';
import { referenceUri, skillUri } from '../src/skills/uri.js';
import type { ToolDef } from '../src/tools/define-tool.js';
import { ALL_TOOLS } from '../src/tools/index.js';

const README = fileURLToPath(new URL('../README.md', import.meta.url));

function cell(text: string): string {
  return text.replace(/\s+/g, ' ').replace(/\|/g, '\\|').trim();
}

/** The first sentence of a description, for a one-line table cell. */
function firstSentence(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  const end = flat.search(/\.(\s|$)/);
  return end === -1 ? flat : flat.slice(0, end + 1);
}

function kindOf(tool: ToolDef): string {
  if (tool.annotations.readOnlyHint) return 'read';
  return tool.annotations.destructiveHint ? 'destructive (confirmation)' : 'write';
}

function table(header: string[], rows: string[][]): string {
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((row) => `| ${row.map(cell).join(' | ')} |`)].join('\n');
}

function toolsTable(): string {
  if (ALL_TOOLS.length === 0) return '_No tools registered yet._';
  return table(
    ['Tool', 'Toolset', 'Kind', 'What it does'],
    ALL_TOOLS.map((tool) => [`\`${tool.name}\``, tool.toolset, kindOf(tool), firstSentence(tool.description)]),
  );
}

function promptsTable(): string {
  return table(
    ['Prompt', 'Arguments (all optional, with completions)', 'What it does'],
    PROMPTS.map((prompt) => [`\`${prompt.name}\``, prompt.arguments.map((arg) => `\`${arg.name}\``).join(', '), prompt.description]),
  );
}

async function resourcesTable(): Promise<string> {
  const templates = table(
    ['URI template', 'Content'],
    RESOURCE_TEMPLATES.map((template) => [`\`${template.uriTemplate}\``, `${template.mimeType}: ${template.description}`]),
  );
  const catalog = createSkillCatalog();
  const rows: string[][] = [];
  for (const skill of await catalog.list()) {
    rows.push([`\`${skillUri(skill.name)}\``, headingOf(skill.body) ?? skill.name]);
    for (const file of skill.references) {
      rows.push([`\`${referenceUri(skill.name, file)}\``, headingOf(await catalog.readReference(skill.name, file)) ?? file]);
    }
  }
  return `${templates}\n\nSkill files served today (from \`skills/\`; \`resources/list\` names each SKILL.md, \`skills/list\` every file with its digest):\n\n${table(['URI', 'Title'], rows)}`;
}

function sandboxTables(): string {
  const clusters = table(
    ['Cluster', 'Plan', 'Cloud', 'Regions', 'CMEK'],
    CLUSTERS.map((cluster) => [
      `\`${cluster.name}\`${cluster.customer_cloud_account ? ' (BYOC)' : ''}`,
      cluster.plan,
      cluster.cloud_provider,
      cluster.regions.map((region) => region.name).join(', '),
      CMEK[cluster.id]?.status ?? (cluster.plan === 'ADVANCED' ? 'not enabled' : 'not available'),
    ]),
  );
  const problems = table(
    ['Seeded problem', 'Where', 'Severity'],
    SEEDED_PROBLEMS.map((problem) => {
      const where = 'cluster' in problem ? problem.cluster : `${problem.target} node ${problem.node}`;
      const key = 'key' in problem ? ` (key \`${problem.key.split('/').pop()}\`)` : '';
      return [`\`${problem.code}\``, `${where}${key}`, problem.severity];
    }),
  );
  const { organization, aws, gcp, azure, sql_targets } = SANDBOX_IDENTITIES;
  const identities = table(
    ['Identity', 'Value'],
    [
      ['Organization', `${organization.name}, id \`${organization.id}\``],
      ['AWS account (keys)', `\`${aws.account_id}\`, keys in ${aws.key_regions.join(', ')}; prod-east's CMEK role \`${aws.cmek_role_arn}\``],
      [
        "GCP project (keys; the default credentials' project)",
        `\`${gcp.project}\`, key ring \`${gcp.key_ring}\` in ${gcp.key_locations.join(', ')}; service account \`${gcp.service_account}\``,
      ],
      ['Azure tenant', `\`${azure.tenant_id}\``],
      ...azure.vaults.map((vault) => ['Azure Key Vault', `\`${vault.name}\` (${vault.location}, purge protection ${vault.purge_protection ? 'on' : 'off'})`]),
      ['SQL target', sql_targets.map((target) => `\`${target}\``).join(', ')],
    ],
  );
  return `${identities}\n\n${clusters}\n\n${problems}`;
}

function replaceBetween(text: string, marker: string, body: string): string {
  const start = `<!-- ${marker}:start -->`;
  const end = `<!-- ${marker}:end -->`;
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  if (from === -1 || to === -1 || to < from) throw new Error(`README.md lacks the ${start} ... ${end} markers`);
  return `${text.slice(0, from + start.length)}\n${body}\n${text.slice(to)}`;
}

const current = readFileSync(README, 'utf8');
let next = replaceBetween(current, 'tools', toolsTable());
next = replaceBetween(next, 'prompts', promptsTable());
next = replaceBetween(next, 'resources', await resourcesTable());
next = replaceBetween(next, 'sandbox', sandboxTables());

writeOrCheck(README, 'README.md', current, next, 'its generated tables differ from the registry');
