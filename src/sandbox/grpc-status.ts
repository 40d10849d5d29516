/**
 * Encodes the `grpc-status-details-bin` trailer Google APIs send with errors: a google.rpc.Status
 * carrying google.rpc.RequestInfo (the request id support asks for) and, where Google sends one,
 * google.rpc.ErrorInfo. Hand-encoded protobuf: three tiny messages do not justify a proto runtime.
 */

function varint(value: number): Buffer {
  const bytes: number[] = [];
  let rest = value >>> 0;
  while (rest > 0x7f) {
    bytes.push((rest & 0x7f) | 0x80);
    rest >>>= 7;
  }
  bytes.push(rest);
  return Buffer.from(bytes);
}

/** A length-delimited field (wire type 2). */
function bytesField(field: number, value: Buffer | string): Buffer {
  const data = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  return Buffer.concat([varint((field << 3) | 2), varint(data.length), data]);
}

function any(typeName: string, value: Buffer): Buffer {
  return Buffer.concat([bytesField(1, `type.googleapis.com/${typeName}`), bytesField(2, value)]);
}

export interface StatusDetails {
  code: number;
  message: string;
  requestId: string;
  /** google.rpc.ErrorInfo reason and domain, e.g. RATE_LIMIT_EXCEEDED / cloudkms.googleapis.com. */
  errorInfo?: { reason: string; domain: string };
}

/** Serialized google.rpc.Status for the `grpc-status-details-bin` trailer. */
export function encodeStatusDetails(details: StatusDetails): Buffer {
  const parts = [Buffer.concat([varint(1 << 3), varint(details.code)]), bytesField(2, details.message)];
  parts.push(bytesField(3, any('google.rpc.RequestInfo', bytesField(1, details.requestId))));
  if (details.errorInfo) {
    const info = Buffer.concat([bytesField(1, details.errorInfo.reason), bytesField(2, details.errorInfo.domain)]);
    parts.push(bytesField(3, any('google.rpc.ErrorInfo', info)));
  }
  return Buffer.concat(parts);
}
