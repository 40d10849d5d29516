// PLACEHOLDER: replaced by the SQL emulator implementation.
export interface SqlEmulator {
  /** Starts the server on first call; resolves to a postgresql:// URL. */
  connectionString(): Promise<string>;
  close(): Promise<void>;
}

export function createSqlEmulator(): SqlEmulator {
  return {
    connectionString: async () => {
      throw new Error('SQL emulator not implemented yet');
    },
    close: async () => {},
  };
}
