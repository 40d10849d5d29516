/**
 * Streamable HTTP at /mcp, both protocol eras on one endpoint:
 * - modern (2026-07-28) requests carry their version and client capabilities in `_meta` and are
 *   served statelessly, one McpServer per request (the SDK's createMcpHandler, strict mode);
 * - `initialize` opens a legacy (2025) session with its own McpServer, so that server-to-client
 *   requests (the confirmation form) reach the client; sessions are capped and expire when idle.
 * In front of both: Host and Origin validation for every bind address, the bearer token when one
 * is configured, and JSON-RPC errors (never HTML) for anything refused, malformed JSON included.
 */
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { NodeStreamableHTTPServerTransport, hostHeaderValidation, originValidation, toNodeHandler, toWebRequest } from '@modelcontextprotocol/node';
import { createMcpHandler, isInitializeRequest, isLegacyRequest, type McpServer } from '@modelcontextprotocol/server';
import { isLoopbackHost, isWildcardHost, type Config } from './config.js';
import type { Deps } from './deps.js';
import { createServer } from './server.js';

export interface RunningHttpServer {
  url: string;
  port: number;
  /** Open legacy sessions, for tests and shutdown. */
  sessionCount(): number;
  close(): Promise<void>;
}

/** Bounds on legacy (2025) sessions: each holds an McpServer until closed. */
export interface SessionLimits {
  maxSessions: number;
  /** A session unused this long is closed (checked every minute and before opening a new one). */
  idleMs: number;
  /** The clock idleness is measured with (tests pass their own). */
  now: () => number;
}

export const DEFAULT_SESSION_LIMITS: SessionLimits = { maxSessions: 64, idleMs: 30 * 60_000, now: Date.now };

const MAX_BODY_BYTES = 4 * 1024 * 1024;
const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]'];

interface LegacySession {
  transport: NodeStreamableHTTPServerTransport;
  server: McpServer;
  lastSeen: number;
}

function sendJsonRpcError(response: ServerResponse, status: number, code: number, message: string, headers: Record<string, string> = {}): void {
  if (response.headersSent) return;
  response.writeHead(status, { 'content-type': 'application/json', ...headers });
  response.end(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null }));
}

/** The host names Host and Origin may carry: loopback names on a loopback bind, else the bind address plus --allowed-hosts. */
export function allowedHostnames(config: Pick<Config, 'host' | 'allowedHosts'>): string[] {
  const bracket = (host: string) => (host.includes(':') && !host.startsWith('[') ? `[${host}]` : host);
  const bound = isLoopbackHost(config.host) ? LOOPBACK_NAMES : isWildcardHost(config.host) ? [] : [bracket(config.host)];
  return [...new Set([...bound, ...config.allowedHosts.map(bracket)])];
}

/** Checks `Authorization: Bearer <token>` (scheme case-insensitive) in constant time. */
function bearerMatches(header: string | undefined, token: string): boolean {
  const match = /^bearer[ \t]+(\S+)[ \t]*$/i.exec(header ?? '');
  if (!match) return false;
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(match[1]!), digest(token));
}

/** Reads the request body up to the limit; undefined when it is larger. */
async function readBody(request: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Starts the HTTP transport on config.host:config.port; rejects (nothing listening) when the port cannot be bound. */
export async function startHttpServer(config: Config, deps: Deps, sessionLimits: Partial<SessionLimits> = {}): Promise<RunningHttpServer> {
  if (!config.httpToken && !isLoopbackHost(config.host)) throw new Error('refusing to bind a non-loopback host without MCP_HTTP_TOKEN');
  const limits = { ...DEFAULT_SESSION_LIMITS, ...sessionLimits };
  const hostnames = allowedHostnames(config);
  const validHost = hostHeaderValidation(hostnames);
  const validOrigin = originValidation(hostnames);
  const report = (error: Error) => process.stderr.write(`[crdb-encryption-mcp] http: ${error.message}\n`);
  const modern = createMcpHandler(() => createServer(config, deps), { legacy: 'reject', onerror: report });
  const serveModern = toNodeHandler(modern, { onerror: report, maxRequestBodySize: MAX_BODY_BYTES });
  const sessions = new Map<string, LegacySession>();

  function expireIdleSessions(): void {
    const now = limits.now();
    for (const [id, session] of sessions) {
      if (now - session.lastSeen < limits.idleMs) continue;
      sessions.delete(id);
      void session.transport.close().then(() => session.server.close());
    }
  }
  const sweeper = setInterval(expireIdleSessions, Math.min(limits.idleMs, 60_000));
  sweeper.unref();

  async function serveLegacy(request: IncomingMessage, response: ServerResponse, body: unknown): Promise<void> {
    const sessionId = request.headers['mcp-session-id'];
    if (typeof sessionId === 'string') {
      const session = sessions.get(sessionId);
      if (!session) return sendJsonRpcError(response, 404, -32001, 'Session not found: it expired or was closed; start a new session with initialize');
      session.lastSeen = limits.now();
      return session.transport.handleRequest(request, response, body);
    }
    if (request.method !== 'POST' || !isInitializeRequest(body)) {
      return sendJsonRpcError(response, 400, -32600, 'Bad Request: no session; send initialize first (2025 clients) or per-request _meta (2026-07-28 clients)');
    }
    expireIdleSessions();
    if (sessions.size >= limits.maxSessions) {
      return sendJsonRpcError(response, 503, -32000, `Too many open sessions (${limits.maxSessions}); close an idle client or retry later`, {
        'retry-after': '60',
      });
    }
    const server = createServer(config, deps);
    const transport = new NodeStreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => {
        sessions.set(id, { transport, server, lastSeen: limits.now() });
      },
    });
    transport.onclose = () => {
      if (transport.sessionId) sessions.delete(transport.sessionId);
    };
    await server.connect(transport);
    await transport.handleRequest(request, response, body);
  }

  async function route(request: IncomingMessage, response: ServerResponse): Promise<void> {
    if (!validHost(request, response) || !validOrigin(request, response)) return;
    if (new URL(request.url ?? '/', 'http://localhost').pathname !== '/mcp')
      return sendJsonRpcError(response, 404, -32601, 'Not found: the MCP endpoint is /mcp');
    if (config.httpToken && !bearerMatches(request.headers.authorization, config.httpToken)) {
      return sendJsonRpcError(response, 401, -32001, 'Unauthorized: send Authorization: Bearer <MCP_HTTP_TOKEN>', { 'www-authenticate': 'Bearer' });
    }
    let body: unknown;
    if (request.method === 'POST') {
      const text = await readBody(request);
      if (text === undefined) return sendJsonRpcError(response, 413, -32600, `Request body larger than ${MAX_BODY_BYTES} bytes`);
      try {
        body = JSON.parse(text);
      } catch {
        return sendJsonRpcError(response, 400, -32700, 'Parse error: the request body is not valid JSON');
      }
    } else if (request.method !== 'GET' && request.method !== 'DELETE') {
      return sendJsonRpcError(response, 405, -32600, 'Method not allowed', { allow: 'GET, POST, DELETE' });
    }
    const legacy = await isLegacyRequest(await toWebRequest(request, body), body);
    if (legacy) return serveLegacy(request, response, body);
    return serveModern(request, response, body);
  }

  const server: Server = createHttpServer((request, response) => {
    route(request, response).catch((error: unknown) => {
      report(error instanceof Error ? error : new Error(String(error)));
      sendJsonRpcError(response, 500, -32603, 'Internal error');
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => {
      server.off('error', reject);
      resolve();
    });
  }).catch((error: NodeJS.ErrnoException) => {
    clearInterval(sweeper);
    const reason = error.code === 'EADDRINUSE' ? `port ${config.port} is already in use` : error.message;
    throw new Error(`cannot listen on ${config.host}:${config.port}: ${reason}`);
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const host = config.host.includes(':') && !config.host.startsWith('[') ? `[${config.host}]` : config.host;
  return {
    url: `http://${host}:${port}/mcp`,
    port,
    sessionCount: () => sessions.size,
    async close() {
      clearInterval(sweeper);
      const open = [...sessions.values()];
      sessions.clear();
      await Promise.allSettled([modern.close(), ...open.map((session) => session.transport.close())]);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
