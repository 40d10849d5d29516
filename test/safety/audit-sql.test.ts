/**
 * The SQL audit store and token table against the PostgreSQL wire protocol of PGlite (over
 * pglite-socket, started once for the file), through `pg`, as replicas would use them: the fast
 * run of the suite that audit-sql-postgres.test.ts runs against a real PostgreSQL server.
 */
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { sqlAuditStoreSuite, type SqlServer } from './audit-sql-suite.js';

const PASSWORD = 'sql-canary-pw-7Kd0';
let db: PGlite;
let socket: PGLiteSocketServer;
let server: SqlServer;

beforeAll(async () => {
  db = await PGlite.create();
  socket = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: 32 });
  await socket.start();
  const port = Number(socket.getServerConn().split(':').pop());
  const url = `postgresql://postgres:${PASSWORD}@127.0.0.1:${port}/postgres?sslmode=disable`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  server = { url, password: PASSWORD, admin };
});

afterAll(async () => {
  await server.admin.end();
  await socket.stop();
  await db.close();
});

sqlAuditStoreSuite(() => server);
