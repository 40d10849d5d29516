/** Input fields and output pieces shared by the SQL tools. */
import { homedir } from 'node:os';
import { isAbsolute } from 'node:path';
import { z } from 'zod';
import type { SqlConnectionRequest } from '../sql/connection.js';
import { TARGET_NAME } from '../sql/target-name.js';
import type { ServerInfo } from '../sql/server-info.js';

/** An absolute (or ~/) file path. */
export const filePath = () =>
  z
    .string()
    .min(1)
    .max(4096)
    .refine((path) => !path.includes('\0') && (isAbsolute(path) || path.startsWith('~/')), 'expected an absolute path (or ~/...)');

/** Expands a leading ~/ for paths passed straight to fs. */
export function expandHome(path: string): string {
  return path.startsWith('~/') ? homedir() + path.slice(1) : path;
}

const httpUrl = () =>
  z
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

/**
 * Where to connect: URL or target, the CA file (for TLS and https http_url), optional HTTP status
 * fallback. sslmode, sslcert and sslkey go in the URL, libpq style.
 */
export const connectionFields = () => ({
  connection: z
    .string()
    .min(1)
    .max(2048)
    .refine((value) => /^postgres(ql)?:\/\//i.test(value) || TARGET_NAME.test(value), 'expected a postgresql:// URL or a target name')
    .optional()
    .describe('postgresql:// URL (sslmode/sslcert/sslkey as params) or target name; default DATABASE_URL'),
  sslrootcert: filePath().optional().describe('CA certificate (ca.crt) path'),
  http_url: httpUrl().optional().describe('DB Console URL, e.g. https://node:8080'),
});

/** The connection part of a tool's arguments. */
export function connectionRequest(args: { connection?: string | undefined; sslrootcert?: string | undefined }): SqlConnectionRequest {
  return {
    ...(args.connection !== undefined ? { connection: args.connection } : {}),
    ...(args.sslrootcert ? { sslrootcert: expandHome(args.sslrootcert) } : {}),
  };
}

/**
 * The same connection for a suggested follow-up call: a target name or a URL without a password is
 * repeated; a URL with a password is not (the answer must not carry it), so the operator supplies it.
 */
export function sameConnection(args: { connection?: string | undefined; sslrootcert?: string | undefined; http_url?: string | undefined }): {
  arguments: Record<string, string>;
  needs?: Record<string, string>;
} {
  const rest = { ...(args.sslrootcert ? { sslrootcert: args.sslrootcert } : {}), ...(args.http_url ? { http_url: args.http_url } : {}) };
  if (args.connection === undefined || !hasPassword(args.connection))
    return { arguments: { ...(args.connection === undefined ? {} : { connection: args.connection }), ...rest } };
  return { arguments: rest, needs: { connection: 'the same connection URL as this call, with its password' } };
}

function hasPassword(connection: string): boolean {
  try {
    return /^postgres(ql)?:\/\//i.test(connection) && new URL(connection).password !== '';
  } catch {
    return true;
  }
}

export const serverOutput = () =>
  z.object({ product: z.enum(['cockroachdb', 'postgresql', 'other']), version: z.string(), release: z.string().nullable(), cloud: z.boolean() }).nullable();

export function serverData(info: ServerInfo | null): z.infer<ReturnType<typeof serverOutput>> {
  if (!info) return null;
  const release = info.release ? `v${info.release.major}.${info.release.minor}.${info.release.patch}` : null;
  return { product: info.product, version: info.version, release, cloud: info.cloud };
}

/** "CockroachDB v26.1.0" / "PostgreSQL" / "an unknown server". */
export function serverLabel(info: ServerInfo | null): string {
  if (!info) return 'server not queried';
  if (info.product === 'cockroachdb')
    return `CockroachDB ${info.release ? `v${info.release.major}.${info.release.minor}.${info.release.patch}` : ''}${info.cloud ? ' (Cloud)' : ''}`.trim();
  return info.product === 'postgresql' ? 'PostgreSQL (not CockroachDB)' : 'an unknown Postgres-wire server (not CockroachDB)';
}
