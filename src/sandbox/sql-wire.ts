/**
 * Just enough of the Postgres frontend protocol to read and rewrite the SQL text of Query ('Q')
 * and Parse ('P') messages on their way into PGlite. Every other message passes untouched.
 */

const QUERY = 0x51;
const PARSE = 0x50;

/** A frontend message that carries SQL text. */
export interface SqlMessage {
  kind: 'query' | 'parse';
  text: string;
  /** Parse only: statement name and declared parameter type OIDs, kept on rewrite. */
  name?: string;
  paramTypes?: number[];
}

function cString(bytes: Buffer, start: number): { value: string; next: number } {
  const end = bytes.indexOf(0, start);
  if (end < 0) throw new Error('unterminated string in protocol message');
  return { value: bytes.toString('utf8', start, end), next: end + 1 };
}

/** Reads the SQL of a Query or Parse message; undefined for any other message. */
export function readSqlMessage(message: Uint8Array): SqlMessage | undefined {
  if (message.length < 6 || (message[0] !== QUERY && message[0] !== PARSE)) return undefined;
  const bytes = Buffer.from(message.buffer, message.byteOffset, message.byteLength);
  if (bytes.readInt32BE(1) !== bytes.length - 1) return undefined;
  if (message[0] === QUERY) return { kind: 'query', text: cString(bytes, 5).value };
  const name = cString(bytes, 5);
  const text = cString(bytes, name.next);
  const count = bytes.readInt16BE(text.next);
  const paramTypes: number[] = [];
  for (let i = 0; i < count; i++) paramTypes.push(bytes.readInt32BE(text.next + 2 + i * 4));
  return { kind: 'parse', text: text.value, name: name.value, paramTypes };
}

/** Serialises a Query or Parse message with new SQL text. */
export function writeSqlMessage(original: SqlMessage, text: string): Uint8Array {
  const sql = Buffer.from(`${text}\0`, 'utf8');
  let body: Buffer;
  if (original.kind === 'query') {
    body = sql;
  } else {
    const types = original.paramTypes ?? [];
    const tail = Buffer.alloc(2 + types.length * 4);
    tail.writeInt16BE(types.length, 0);
    types.forEach((oid, i) => tail.writeInt32BE(oid, 2 + i * 4));
    body = Buffer.concat([Buffer.from(`${original.name ?? ''}\0`, 'utf8'), sql, tail]);
  }
  const head = Buffer.alloc(5);
  head[0] = original.kind === 'query' ? QUERY : PARSE;
  head.writeInt32BE(body.length + 4, 1);
  return new Uint8Array(Buffer.concat([head, body]));
}

/** Highest $n placeholder in a statement (0 when none). */
export function placeholderCount(text: string): number {
  let max = 0;
  for (const match of text.matchAll(/\$(\d+)/g)) max = Math.max(max, Number(match[1]));
  return max;
}

/** A SQL string literal. */
export function sqlLiteral(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

/**
 * A statement that fails with the given SQLSTATE. For a Parse message with parameters the
 * placeholders stay referenced, so the Bind that follows still matches.
 */
export function raisingStatement(message: SqlMessage, sqlstate: string, text: string): string {
  const params = message.kind === 'parse' ? placeholderCount(message.text) : 0;
  const from = params > 0 ? ` FROM (SELECT ${Array.from({ length: params }, (_, i) => `$${i + 1}::text`).join(', ')}) AS params` : '';
  return `SELECT crdb_emulator.raise(${sqlLiteral(sqlstate)}, ${sqlLiteral(text)})${from}`;
}
