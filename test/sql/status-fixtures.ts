/** Fixtures shaped like CockroachDB's HTTP status endpoints (/_status/vars, certificates, stores). */
import { varint } from '../../src/sandbox/node-status.js';

export const PROMETHEUS_VARS = `# HELP security_certificate_expiration_ca Expiration for the CA certificate. 0 means no certificate or error.
# TYPE security_certificate_expiration_ca gauge
security_certificate_expiration_ca{node_id="2"} 1.9e+09
security_certificate_expiration_client_ca{node_id="2"} 0
security_certificate_expiration_node{node_id="2"} 1.79e+09
security_certificate_expiration_node_client{node_id="2"} 0
security_certificate_expiration_ui_ca{node_id="2"} 0
# TYPE security_certificate_ttl_node gauge
security_certificate_ttl_node{node_id="2"} 1.2e+07
sql_conns{node_id="2"} 4
security_certificate_expiration_ca_client_tenant 0
`;

export const CERTIFICATES_JSON = {
  certificates: [
    {
      type: 'CA',
      error_message: '',
      fields: [
        { issuer: 'O=Cockroach,CN=Cockroach CA', subject: 'O=Cockroach,CN=Cockroach CA', valid_from: '1600000000', valid_until: '1900000000', addresses: [] },
        { issuer: 'O=Cockroach,CN=Old CA', subject: 'O=Cockroach,CN=Old CA', validFrom: 1500000000, validUntil: 1800000000 },
      ],
    },
    { type: 1, fields: [{ subject: 'O=Cockroach,CN=node', validUntil: '1790000000', addresses: ['node2.example.com', '10.0.0.2'] }] },
    { type: 'CLIENT', fields: [{ subject: 'CN=root', valid_until: 1795000000 }] },
    { type: 5, errorMessage: 'open ui.crt: no such file' },
  ],
};

function keyInfo(type: number, keyId: string): number[] {
  const id = [...Buffer.from(keyId, 'utf8')];
  return [...(type ? [0x08, ...varint(type)] : []), 0x12, ...varint(id.length), ...id, 0x18, ...varint(1_700_000_000)];
}

/** Serializes enginepb.EncryptionStatus {active_store_key = 1, active_data_key = 2}. */
export function encodeEncryptionStatus(status: { storeType: number; storeKeyId: string; dataType: number; dataKeyId: string }): Uint8Array {
  const store = keyInfo(status.storeType, status.storeKeyId);
  const data = keyInfo(status.dataType, status.dataKeyId);
  return new Uint8Array([0x0a, ...varint(store.length), ...store, 0x12, ...varint(data.length), ...data]);
}
