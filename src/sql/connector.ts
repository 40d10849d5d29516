// PLACEHOLDER: replaced by the SQL connector implementation.
export interface SqlConnector {
  close(): Promise<void>;
}
