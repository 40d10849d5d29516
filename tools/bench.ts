/**
 * `npm run bench`: speed as ratios measured side by side in one run (medians over repeats).
 * Writes bench/results.json and prints a summary. Not part of `npm test`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { build as rolldownBuild } from 'rolldown';
import { median, probeServer } from './bench/stdio-probe.js';
import { benchFleetAudit } from './bench/fleet-audit.js';
import { benchFirstSqlAnswer } from './bench/first-sql.js';

// The fleet audit bench loads the AWS SDK in this process: silence its Node 20 notice as the server does.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const REPEATS = Number(process.env.BENCH_REPEATS ?? 15);
const CALLS = Number(process.env.BENCH_CALLS ?? 100);
const root = new URL('..', import.meta.url).pathname;
const tmp = join(root, '.tmp', 'bench');
mkdirSync(tmp, { recursive: true });
mkdirSync(join(root, 'bench'), { recursive: true });

const minimalBundle = join(tmp, 'minimal.bundle.mjs');
await build({
  entryPoints: [join(root, 'tools/bench/minimal-server.mjs')],
  outfile: minimalBundle,
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  minifyWhitespace: true,
  minifySyntax: true,
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  logLevel: 'warning',
});

// The same minimal server bundled the way dist/ is (rolldown, tree-shaken): the floor for our bundler.
const minimalRolldown = join(tmp, 'minimal.rolldown.mjs');
await rolldownBuild({
  input: join(root, 'tools/bench/minimal-server.mjs'),
  platform: 'node',
  logLevel: 'warn',
  output: { file: minimalRolldown, format: 'esm', codeSplitting: false, minify: { mangle: false, compress: false, codegen: { removeWhitespace: true } } },
});

const cleanEnv = { PATH: process.env.PATH, HOME: join(tmp, 'home') };
const servers = {
  ours: { command: process.execPath, args: [join(root, 'dist/index.js')] },
  oursSandbox: { command: process.execPath, args: [join(root, 'dist/index.js'), '--sandbox'] },
  minimal: { command: process.execPath, args: [join(root, 'tools/bench/minimal-server.mjs')] },
  minimalBundled: { command: process.execPath, args: [minimalBundle] },
  minimalRolldown: { command: process.execPath, args: [minimalRolldown] },
  serverEverything: { command: process.execPath, args: [join(root, 'node_modules/@modelcontextprotocol/server-everything/dist/index.js'), 'stdio'] },
} as const;
type ServerName = keyof typeof servers;

async function coldStarts(): Promise<Record<ServerName, number>> {
  const samples = Object.fromEntries(Object.keys(servers).map((name) => [name, [] as number[]])) as Record<ServerName, number[]>;
  for (let round = 0; round < REPEATS; round++) {
    for (const name of Object.keys(servers) as ServerName[]) {
      const probe = await probeServer(servers[name].command, [...servers[name].args], cleanEnv);
      samples[name].push(probe.startupMs);
      await probe.close();
    }
  }
  return Object.fromEntries(Object.entries(samples).map(([name, values]) => [name, median(values)])) as Record<ServerName, number>;
}

async function timeCalls(run: () => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < CALLS; i++) {
    const start = process.hrtime.bigint();
    await run();
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return median(times);
}

async function roundTrips() {
  const ours = await probeServer(servers.oursSandbox.command, [...servers.oursSandbox.args], cleanEnv);
  const minimal = await probeServer(servers.minimal.command, [...servers.minimal.args], cleanEnv);
  const list = await ours.request('tools/list');
  const toolsListBytes = Buffer.byteLength(JSON.stringify(list.result));
  const statusCall = () => ours.request('tools/call', { name: 'get_cmek_status', arguments: { cluster: 'prod-east' } });
  const first = await statusCall();
  if (first.error || first.result?.isError) throw new Error(`get_cmek_status failed: ${JSON.stringify(first)}`);
  const result = {
    toolsListBytes,
    toolCount: list.result.tools.length,
    oursToolsListMs: await timeCalls(() => ours.request('tools/list')),
    minimalToolsListMs: await timeCalls(() => minimal.request('tools/list')),
    oursGetCmekStatusMs: await timeCalls(statusCall),
    minimalEchoMs: await timeCalls(() => minimal.request('tools/call', { name: 'echo', arguments: { message: 'hi' } })),
  };
  const sandboxAfterCallsRssKb = ours.rssKb();
  await Promise.all([ours.close(), minimal.close()]);
  return { ...result, sandboxAfterCallsRssKb };
}

/** Resident memory one second after initialize, for our real-mode entry and the minimal server. */
async function idleMemory() {
  const ours = await probeServer(servers.ours.command, [...servers.ours.args], cleanEnv);
  const minimal = await probeServer(servers.minimal.command, [...servers.minimal.args], cleanEnv);
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const memory = { oursIdleRssKb: ours.rssKb(), minimalIdleRssKb: minimal.rssKb() };
  await Promise.all([ours.close(), minimal.close()]);
  return memory;
}

const cold = await coldStarts();
const trips = { ...(await roundTrips()), ...(await idleMemory()) };
const fleet = await benchFleetAudit({ clusters: 1000, latencyMs: 50, rateLimitPerSecond: 100 });
const firstSql = await benchFirstSqlAnswer({ entry: join(root, 'dist/index.js'), env: cleanEnv });

const ratio = (a: number, b: number) => Math.round((a / b) * 100) / 100;
const results = {
  date: new Date().toISOString(),
  node: process.version,
  repeats: REPEATS,
  coldStartMs: cold,
  coldStartRatios: {
    oursVsMinimalBundled: ratio(cold.ours, cold.minimalBundled),
    oursVsMinimalRolldown: ratio(cold.ours, cold.minimalRolldown),
    oursVsMinimalUnbundled: ratio(cold.ours, cold.minimal),
    oursVsServerEverything: ratio(cold.ours, cold.serverEverything),
    oursSandboxVsMinimalBundled: ratio(cold.oursSandbox, cold.minimalBundled),
  },
  toolsList: { bytes: trips.toolsListBytes, tools: trips.toolCount, withinBudget: trips.toolsListBytes <= 16 * 1024 },
  roundTripMs: {
    oursToolsList: trips.oursToolsListMs,
    minimalToolsList: trips.minimalToolsListMs,
    oursGetCmekStatus: trips.oursGetCmekStatusMs,
    minimalEcho: trips.minimalEchoMs,
    getCmekStatusOverEchoRatio: ratio(trips.oursGetCmekStatusMs, trips.minimalEchoMs),
  },
  idleRssKb: {
    ours: trips.oursIdleRssKb,
    minimal: trips.minimalIdleRssKb,
    ratio: ratio(trips.oursIdleRssKb, trips.minimalIdleRssKb),
    sandboxAfterCalls: trips.sandboxAfterCallsRssKb,
  },
  fleetAudit: fleet,
  firstSqlAnswerAfterQuietStart: firstSql,
};
writeFileSync(join(root, 'bench/results.json'), `${JSON.stringify(results, null, 2)}\n`);

const lines = [
  `cold start (median of ${REPEATS}): ours ${cold.ours.toFixed(0)} ms, sandbox ${cold.oursSandbox.toFixed(0)} ms, minimal bundled (esbuild) ${cold.minimalBundled.toFixed(0)} ms, minimal bundled (rolldown, as dist/) ${cold.minimalRolldown.toFixed(0)} ms, minimal ${cold.minimal.toFixed(0)} ms, server-everything ${cold.serverEverything.toFixed(0)} ms`,
  `  ratio vs minimal bundled with esbuild: ${results.coldStartRatios.oursVsMinimalBundled}x (target <= 1.1x); vs minimal bundled with rolldown: ${results.coldStartRatios.oursVsMinimalRolldown}x; vs server-everything: ${results.coldStartRatios.oursVsServerEverything}x`,
  `tools/list: ${trips.toolsListBytes} bytes for ${trips.toolCount} tools (budget 16384)`,
  `round trip (median of ${CALLS}): tools/list ${trips.oursToolsListMs.toFixed(2)} ms vs minimal ${trips.minimalToolsListMs.toFixed(2)} ms; get_cmek_status ${trips.oursGetCmekStatusMs.toFixed(2)} ms vs echo ${trips.minimalEchoMs.toFixed(2)} ms`,
  `idle RSS: ours ${trips.oursIdleRssKb} KB vs minimal ${trips.minimalIdleRssKb} KB (${results.idleRssKb.ratio}x); sandbox after calls ${trips.sandboxAfterCallsRssKb} KB (emulators in-process)`,
  `fleet audit: ${fleet.clusters} clusters, ${fleet.cloudRequests} Cloud API calls, ${fleet.wallMs.toFixed(0)} ms vs rate-limit bound ${fleet.boundMs.toFixed(0)} ms = ${fleet.ratio}x (target <= 1.2x); max ${fleet.maxPerSecond} req in any 1 s (limit ${fleet.rateLimitPerSecond})`,
  `first SQL-backed answer (verify_encryption_sql) after a quiet ${firstSql.quietMs / 1000} s sandbox start: ${firstSql.firstAnswerMs} ms (goal ${firstSql.goalMs} ms), warm ${firstSql.warmAnswerMs} ms; median of ${firstSql.repeats}`,
];
process.stdout.write(`${lines.join('\n')}\nwrote bench/results.json\n`);
