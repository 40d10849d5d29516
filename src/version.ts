/** Server name and version reported at initialize. */
export const SERVER_INFO = { name: 'crdb-encryption-mcp', version: '0.1.0' } as const;
