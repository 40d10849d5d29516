/** Input fields and output pieces shared by the SQL tools. */
import { homedir } from 'node:os';
import { isAbsolute } from 'node:path';
import { z } from 'zod';
import { SSL_MODES, TARGET_NAME, type SqlConnectionRequest } from '../sql/connection.js';
import type { ServerInfo } from '../sql/server-info.js';

/** An absolute (or ~/) file path. */
export const filePath = z
  .string()
  .min(1)
  .max(4096)
  .refine((path) => !path.includes('\0') && (isAbsolute(path) || path.startsWith('~/')), 'expected an absolute path (or ~/...)');

/** Expands a leading ~/ for paths passed straight to fs. */
export function expandHome(path: string): string {
  return path.startsWith('~/') ? homedir() + path.slice(1) : path;
}

const httpUrl = z
  .string()
  .max(2048)
  .refine((value) => {
    try {
      const url = new URL(value);
      return (url.protocol === 'http:' || url.protocol === 'https:') && !url.username && !url.password && Boolean(url.hostname);
    } catch {
      return false;
    }
  }, 'expected http(s)://host:port without credentials');

/** Where to connect: URL or target, TLS files, optional HTTP status fallback. */
export const connectionFields = {
  connection: z
    .string()
    .min(1)
    .max(2048)
    .refine((value) => /^postgres(ql)?:\/\//i.test(value) || TARGET_NAME.test(value), 'expected a postgresql:// URL or a target name')
    .optional()
    .describe('postgresql:// URL or configured target name (default: DATABASE_URL; sandbox: selfhosted)'),
  sslmode: z.enum(SSL_MODES).optional().describe('Overrides the URL sslmode (default verify-full)'),
  sslrootcert: filePath.optional().describe('CA certificate (ca.crt) path'),
  sslcert: filePath.optional().describe('Client certificate path (with sslkey)'),
  sslkey: filePath.optional().describe('Client key path (with sslcert)'),
  http_url: httpUrl.optional().describe('DB Console URL, e.g. https://node1:8080, for the HTTP status endpoints'),
};

/** The connection part of a tool's arguments. */
export function connectionRequest(args: { connection?: string | undefined; sslmode?: SqlConnectionRequest['sslmode']; sslrootcert?: string | undefined; sslcert?: string | undefined; sslkey?: string | undefined }): SqlConnectionRequest {
  return {
    ...(args.connection !== undefined ? { connection: args.connection } : {}),
    ...(args.sslmode ? { sslmode: args.sslmode } : {}),
    ...(args.sslrootcert ? { sslrootcert: expandHome(args.sslrootcert) } : {}),
    ...(args.sslcert ? { sslcert: expandHome(args.sslcert) } : {}),
    ...(args.sslkey ? { sslkey: expandHome(args.sslkey) } : {}),
  };
}

export const serverOutput = z
  .object({ product: z.enum(['cockroachdb', 'postgresql', 'other']), version: z.string(), release: z.string().nullable(), cloud: z.boolean() })
  .nullable();

export function serverData(info: ServerInfo | null): z.infer<typeof serverOutput> {
  if (!info) return null;
  const release = info.release ? `v${info.release.major}.${info.release.minor}.${info.release.patch}` : null;
  return { product: info.product, version: info.version, release, cloud: info.cloud };
}

/** "CockroachDB v26.1.0" / "PostgreSQL" / "an unknown server". */
export function serverLabel(info: ServerInfo | null): string {
  if (!info) return 'server not queried';
  if (info.product === 'cockroachdb') return `CockroachDB ${info.release ? `v${info.release.major}.${info.release.minor}.${info.release.patch}` : ''}${info.cloud ? ' (Cloud)' : ''}`.trim();
  return info.product === 'postgresql' ? 'PostgreSQL (not CockroachDB)' : 'an unknown Postgres-wire server (not CockroachDB)';
}
