/**
 * Streamable HTTP transport at /mcp: one McpServer per session, DNS-rebinding protection on
 * loopback, and a required bearer token when bound to any other address.
 */
import { randomUUID, timingSafeEqual } from 'node:crypto';
import type { Server } from 'node:http';
import { createMcpExpressApp } from '@modelcontextprotocol/sdk/server/express.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import type { Request, Response, NextFunction } from 'express';
import { isLoopbackHost, type Config } from './config.js';
import type { Deps } from './deps.js';
import { createServer } from './server.js';

export interface RunningHttpServer {
  url: string;
  port: number;
  /** Open sessions, for tests and shutdown. */
  sessionCount(): number;
  close(): Promise<void>;
}

function bearerGuard(token: string) {
  const expected = Buffer.from(`Bearer ${token}`);
  return (request: Request, response: Response, next: NextFunction) => {
    const given = Buffer.from(request.headers.authorization ?? '');
    if (given.length === expected.length && timingSafeEqual(given, expected)) return next();
    response.status(401).set('WWW-Authenticate', 'Bearer').json({
      jsonrpc: '2.0',
      error: { code: -32001, message: 'Unauthorized: send Authorization: Bearer <MCP_HTTP_TOKEN>' },
      id: null,
    });
  };
}

function jsonRpcError(response: Response, status: number, message: string): void {
  response.status(status).json({ jsonrpc: '2.0', error: { code: -32000, message }, id: null });
}

/** Starts the HTTP transport on config.host:config.port. */
export async function startHttpServer(config: Config, deps: Deps): Promise<RunningHttpServer> {
  const app = createMcpExpressApp({ host: config.host });
  if (config.httpToken) app.use('/mcp', bearerGuard(config.httpToken));
  else if (!isLoopbackHost(config.host)) throw new Error('refusing to bind a non-loopback host without MCP_HTTP_TOKEN');

  const transports = new Map<string, StreamableHTTPServerTransport>();

  app.post('/mcp', async (request: Request, response: Response) => {
    const sessionId = request.headers['mcp-session-id'];
    const existing = typeof sessionId === 'string' ? transports.get(sessionId) : undefined;
    if (existing) return existing.handleRequest(request, response, request.body);
    if (sessionId !== undefined) return jsonRpcError(response, 404, 'Session not found: start a new session with initialize');
    if (!isInitializeRequest(request.body)) return jsonRpcError(response, 400, 'Bad Request: no session; send initialize first');
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => {
        transports.set(id, transport);
      },
    });
    transport.onclose = () => {
      if (transport.sessionId) transports.delete(transport.sessionId);
    };
    const server = createServer(config, deps);
    await server.connect(transport);
    await transport.handleRequest(request, response, request.body);
  });

  const sessionRequest = async (request: Request, response: Response) => {
    const sessionId = request.headers['mcp-session-id'];
    const transport = typeof sessionId === 'string' ? transports.get(sessionId) : undefined;
    if (!transport) return jsonRpcError(response, typeof sessionId === 'string' ? 404 : 400, 'Unknown or missing Mcp-Session-Id');
    await transport.handleRequest(request, response);
  };
  app.get('/mcp', sessionRequest);
  app.delete('/mcp', sessionRequest);

  const server: Server = await new Promise((resolve, reject) => {
    const listening = app.listen(config.port, config.host, () => resolve(listening));
    listening.once('error', reject);
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const host = config.host.includes(':') && !config.host.startsWith('[') ? `[${config.host}]` : config.host;
  return {
    url: `http://${host}:${port}/mcp`,
    port,
    sessionCount: () => transports.size,
    async close() {
      await Promise.allSettled([...transports.values()].map((transport) => transport.close()));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
