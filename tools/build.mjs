#!/usr/bin/env node
// Bundles src/index.ts into dist/. What package.json lists under dependencies and
// optionalDependencies (cloud SDKs, pg; PGlite and the sandbox's helpers) stays external and is
// imported on first use (separate chunks via code splitting); everything else the code imports
// (the MCP SDK, zod, gray-matter: devDependencies) is bundled, so an install never fetches it.
// Rolldown rather than esbuild: its tree-shaking drops the parts of zod and the SDK a server never
// runs, which is most of the start-up cost (see README "Measured": npm run bench).
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { build } from 'rolldown';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const external = [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.optionalDependencies ?? {})];
const isExternal = (id) => id.startsWith('node:') || external.some((name) => id === name || id.startsWith(`${name}/`));

rmSync(new URL('../dist', import.meta.url), { recursive: true, force: true });
await build({
  input: { index: 'src/index.ts' },
  platform: 'node',
  external: isExternal,
  transform: { target: 'node20' },
  logLevel: 'warn',
  onLog(level, log, handler) {
    // gray-matter's optional JavaScript front-matter engine uses eval; our skills use YAML only.
    if (log.code === 'EVAL' && log.id?.includes('gray-matter')) return;
    handler(level, log);
  },
  output: {
    dir: 'dist',
    format: 'esm',
    entryFileNames: '[name].js',
    chunkFileNames: 'chunks/[name]-[hash].js',
    // Everything main.ts imports statically (the SDK, zod, the registries) in one chunk: one file
    // to read and compile at start-up instead of ~18. Lazily imported code gets its own chunks.
    codeSplitting: { groups: [{ name: 'main', test: /[\\/]src[\\/]main\.ts$/ }] },
    minify: { mangle: false, compress: false, codegen: { removeWhitespace: true } },
  },
});

// The sandbox's SQL stand-in loads this dump of a fresh PGlite data directory instead of running
// initdb (src/sandbox/sql-server.ts SQL_TEMPLATE_FILE). Made once per PGlite version and cached.
const pglite = JSON.parse(readFileSync(new URL('../node_modules/@electric-sql/pglite/package.json', import.meta.url), 'utf8'));
const cacheDir = new URL('../node_modules/.cache/crdb-encryption-mcp/', import.meta.url);
const cached = new URL(`pglite-${pglite.version}-datadir.tar.gz`, cacheDir);
if (!existsSync(cached)) {
  const { PGlite } = await import('@electric-sql/pglite');
  const db = await PGlite.create();
  const dump = Buffer.from(await (await db.dumpDataDir('gzip')).arrayBuffer());
  await db.close();
  mkdirSync(cacheDir, { recursive: true });
  const partial = new URL(`${cached.pathname}.${process.pid}`, cached);
  writeFileSync(partial, dump);
  renameSync(partial, cached);
}
copyFileSync(cached, new URL('../dist/chunks/sql-template.tar.gz', import.meta.url));
