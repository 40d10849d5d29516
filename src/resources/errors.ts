/** Skill catalog failures as protocol errors a client can show. */
import { ProtocolError, ProtocolErrorCode, ResourceNotFoundError } from '@modelcontextprotocol/server';
import { SkillError, SkillNotFoundError } from '../skills/errors.js';

/**
 * Turns catalog failures into protocol errors; with the URI a read asked for, a missing skill or
 * file is the protocol's resource-not-found error (-32602, the URI in `data`).
 */
export function toMcpError(error: unknown, uri?: string): unknown {
  if (error instanceof SkillNotFoundError)
    return uri ? new ResourceNotFoundError(uri, error.message) : new ProtocolError(ProtocolErrorCode.InvalidParams, error.message);
  if (error instanceof SkillError) return new ProtocolError(ProtocolErrorCode.InternalError, error.message);
  return error;
}
