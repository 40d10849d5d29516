/**
 * The import boundaries of docs/architecture.md, checked over every module under src/ (static,
 * dynamic and type-only imports alike):
 * 1. Only the MCP-facing files (entry, transport, server, tools, prompts, resources) import an
 *    `@modelcontextprotocol/*` package.
 * 2. Only the entry and the deps wiring import src/sandbox (besides the sandbox itself).
 * 3. Domain modules never import the MCP layer (tools, prompts, resources, server, transport),
 *    the entry or the deps wiring.
 * Exits 1 with one line per violation; run by `npm test` (and test/boundaries.test.ts).
 */
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/** Files and folders (relative to src/, `/`-separated) allowed to import the MCP SDK. */
const MCP_FACING = ['index.ts', 'main.ts', 'http.ts', 'server.ts', 'tools/', 'prompts/', 'resources/'];
/** Who may import src/sandbox. */
const SANDBOX_IMPORTERS = ['index.ts', 'main.ts', 'deps.ts', 'sandbox/'];
/** The domain: free of MCP types, the sandbox and the wiring. */
const DOMAIN = ['cmek/', 'kms/', 'cloud/', 'sql/', 'certs/', 'audit/', 'safety/', 'skills/'];
/** What the domain must never import. */
const ABOVE_DOMAIN = ['index.ts', 'main.ts', 'deps.ts', 'http.ts', 'server.ts', 'tools/', 'prompts/', 'resources/', 'sandbox/'];

/** One import that crosses a boundary. */
export interface BoundaryViolation {
  /** Importing file, relative to src/. */
  file: string;
  /** The module specifier as written. */
  specifier: string;
  rule: 'mcp-sdk' | 'sandbox' | 'domain';
  message: string;
}

const within = (path: string, areas: readonly string[]) => areas.some((area) => (area.endsWith('/') ? path.startsWith(area) : path === area));

async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((entry) => entry.isFile() && /\.(ts|mts|cts)$/.test(entry.name)).map((entry) => join(entry.parentPath, entry.name));
}

/** Every boundary violation in the TypeScript sources under `srcDir`. */
export async function checkBoundaries(srcDir: string): Promise<BoundaryViolation[]> {
  const violations: BoundaryViolation[] = [];
  for (const path of await sourceFiles(srcDir)) {
    const file = relative(srcDir, path).split(sep).join('/');
    const { importedFiles } = ts.preProcessFile(await readFile(path, 'utf8'), true, true);
    for (const { fileName: specifier } of importedFiles) {
      if (specifier.startsWith('@modelcontextprotocol/') && !within(file, MCP_FACING)) {
        violations.push({ file, specifier, rule: 'mcp-sdk', message: `only MCP-facing files (${MCP_FACING.join(', ')}) may import the MCP SDK` });
        continue;
      }
      if (!specifier.startsWith('.')) continue;
      const target = relative(srcDir, resolve(dirname(path), specifier))
        .split(sep)
        .join('/');
      if (target.startsWith('..')) continue;
      if ((target === 'sandbox' || target.startsWith('sandbox/')) && !within(file, SANDBOX_IMPORTERS)) {
        violations.push({ file, specifier, rule: 'sandbox', message: `only ${SANDBOX_IMPORTERS.join(', ')} may import src/sandbox` });
      } else if (within(file, DOMAIN) && within(target.replace(/\.js$/, '.ts'), ABOVE_DOMAIN)) {
        violations.push({ file, specifier, rule: 'domain', message: `domain modules never import ${target}` });
      }
    }
  }
  return violations.sort((a, b) => a.file.localeCompare(b.file));
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const srcDir = resolve(process.argv[2] ?? fileURLToPath(new URL('../src', import.meta.url)));
  const violations = await checkBoundaries(srcDir);
  for (const violation of violations) process.stderr.write(`src/${violation.file}: imports ${violation.specifier}: ${violation.message}\n`);
  if (violations.length > 0) {
    process.stderr.write(`check-boundaries: ${violations.length} violation(s); see docs/architecture.md\n`);
    process.exit(1);
  }
  process.stdout.write('check-boundaries: every import respects the layers\n');
}
