/**
 * Spawns an MCP stdio server and measures it from the outside: time from spawn to the
 * initialize result, request round trips, and resident memory.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface StdioProbe {
  /** Milliseconds from spawn to the initialize result. */
  startupMs: number;
  request(method: string, params?: unknown): Promise<{ result?: any; error?: any; bytes: number }>;
  rssKb(): number;
  close(): Promise<void>;
}

/** Starts `command args`, initializes it, and returns the probe. */
export async function probeServer(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<StdioProbe> {
  const started = process.hrtime.bigint();
  const child: ChildProcessWithoutNullStreams = spawn(command, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
  child.stderr.resume();
  let buffer = '';
  let nextId = 1;
  const pending = new Map<number, (message: any, bytes: number) => void>();
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    buffer += chunk;
    let newline;
    while ((newline = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      if (!line.trim()) continue;
      const message = JSON.parse(line);
      const resolve = pending.get(message.id);
      if (resolve) {
        pending.delete(message.id);
        resolve(message, Buffer.byteLength(line));
      }
    }
  });
  const request = (method: string, params: unknown = {}) =>
    new Promise<{ result?: any; error?: any; bytes: number }>((resolve, reject) => {
      const id = nextId++;
      const timer = setTimeout(() => reject(new Error(`${method} timed out`)), 60_000);
      pending.set(id, (message, bytes) => {
        clearTimeout(timer);
        resolve({ result: message.result, error: message.error, bytes });
      });
      child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', id, method, params })}\n`);
    });
  const init = await request('initialize', { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'bench', version: '1' } });
  const startupMs = Number(process.hrtime.bigint() - started) / 1e6;
  if (init.error) throw new Error(`initialize failed: ${JSON.stringify(init.error)}`);
  child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' })}\n`);
  return {
    startupMs,
    request,
    rssKb() {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    },
    close: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.stdin.end();
        setTimeout(() => child.kill('SIGKILL'), 2000).unref();
      }),
  };
}

/** Median of a list of numbers. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}
