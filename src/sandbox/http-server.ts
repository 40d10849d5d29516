/**
 * The HTTP(S) server every HTTP emulator runs on: applies latency and injected faults, logs each
 * request, tracks sockets so stop() never leaves a handle open.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import { FaultPlan, RequestLog, sleep, type FaultRule } from './faults.js';

/** A reply the handler (or a fault) produces. */
export interface HttpReply {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}

export interface HttpEmulatorOptions {
  name: string;
  tls?: { key: string; cert: string };
  faults?: FaultPlan;
  log?: RequestLog;
  /** Names the operation for fault matching and the request log. */
  operationOf(request: IncomingMessage, body: string): string;
  /** The emulator's own answer. Throwing answers 500. */
  handle(request: IncomingMessage, body: string, operation: string): Promise<HttpReply> | HttpReply;
  /** The provider-specific body for a throttle or server error fault. */
  faultReply(rule: FaultRule): HttpReply;
  /** Serialises a body; default JSON. */
  contentType?: string;
}

export interface RunningHttpEmulator {
  url: string;
  port: number;
  faults: FaultPlan;
  log: RequestLog;
  close(): Promise<void>;
}

function send(response: ServerResponse, reply: HttpReply, contentType: string): void {
  const payload = reply.body === undefined ? '' : typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body);
  response.writeHead(reply.status, { 'content-type': contentType, ...reply.headers });
  response.end(payload);
}

/** Starts an emulator on 127.0.0.1 with an ephemeral port. */
export async function startHttpEmulator(options: HttpEmulatorOptions): Promise<RunningHttpEmulator> {
  const faults = options.faults ?? new FaultPlan();
  const log = options.log ?? new RequestLog();
  const sockets = new Set<Socket>();
  const contentType = options.contentType ?? 'application/json';

  const listener = async (request: IncomingMessage, response: ServerResponse) => {
    const at = Date.now();
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const operation = options.operationOf(request, body);
    const method = request.method ?? 'GET';
    const path = request.url ?? '/';
    if (faults.latencyMs > 0) await sleep(faults.latencyMs);
    const fault = faults.take({ method, operation, path });
    if (fault?.kind === 'reset') {
      log.record({ at, method, operation, status: 0, path });
      request.socket.destroy();
      return;
    }
    if (fault?.kind === 'hang') {
      log.record({ at, method, operation, status: 0, path });
      return; // never answered; the socket is destroyed on close()
    }
    let reply: HttpReply;
    if (fault) {
      reply = options.faultReply(fault);
    } else {
      try {
        reply = await options.handle(request, body, operation);
      } catch (error) {
        reply = { status: 500, body: { message: `${options.name} emulator error: ${error instanceof Error ? error.message : String(error)}` } };
      }
    }
    log.record({ at, method, operation, status: reply.status, path });
    if (!response.destroyed) send(response, reply, contentType);
  };

  const server: Server = options.tls ? createHttpsServer({ key: options.tls.key, cert: options.tls.cert }, listener) : createHttpServer(listener);
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('secureConnection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    port,
    faults,
    log,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
