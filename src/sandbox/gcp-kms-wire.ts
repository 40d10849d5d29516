/**
 * Wire-level helpers of the GCP KMS emulator: gRPC status codes, the failure type handlers throw,
 * and conversions between milliseconds/seconds and protobuf Timestamp/Duration objects.
 */

/** gRPC status codes the emulator answers with. */
export { status as Code } from '@grpc/grpc-js';

/** A failed call: gRPC status code plus message. */
export class GrpcFailure extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
    this.name = 'GrpcFailure';
  }
}

/** A message as @grpc/proto-loader decodes it (camelCase, enums and 64-bit ints as strings). */
export type Wire = Record<string, any>;

/** protobuf Timestamp for milliseconds since the epoch. */
export function timestamp(ms: number | undefined): Wire | undefined {
  if (ms === undefined) return undefined;
  return { seconds: String(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1e6 };
}

/** protobuf Duration for whole seconds. */
export function duration(seconds: number | undefined): Wire | undefined {
  return seconds === undefined ? undefined : { seconds: String(seconds), nanos: 0 };
}

/** Seconds of a protobuf Duration or Timestamp. */
export function seconds(value: Wire | null | undefined): number | undefined {
  if (!value) return undefined;
  return Number(value.seconds ?? 0) + Number(value.nanos ?? 0) / 1e9;
}

/** Milliseconds of a protobuf Timestamp. */
export function millis(value: Wire | null | undefined): number | undefined {
  const s = seconds(value);
  return s === undefined ? undefined : Math.round(s * 1000);
}

/** snake_case of a field-mask path (clients send either form). */
export function snake(path: string): string {
  return path.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}
