/**
 * tools/list is paid in model context on every conversation. The input schemas listed are lean
 * relaxations of the real ones: types, enums, numeric bounds, defaults and descriptions stay
 * while string patterns and lengths go. define-tool validates the full input (with a clear
 * message) and output schemas on every call. Used at development time only:
 * tools/generate-listing.ts writes the result to src/tools/listing.json.
 */
import { z } from 'zod';

type AnyZod = z.ZodType;
interface ZodInternals {
  _zod: { def: Record<string, any> & { type: string } };
}

function defOf(schema: AnyZod): ZodInternals['_zod']['def'] {
  return (schema as unknown as ZodInternals)._zod.def;
}

/** A relaxation of `schema` that lists compactly; anything it rejects, `schema` rejects too. */
function leanSchema(schema: AnyZod, depth: number): AnyZod {
  const def = defOf(schema);
  const described = (lean: AnyZod): AnyZod => (schema.description ? lean.describe(schema.description) : lean);
  switch (def.type) {
    case 'string':
      return described(z.string());
    case 'optional':
      return described(leanSchema(def.innerType, depth).optional());
    case 'nullable':
      return described(leanSchema(def.innerType, depth).nullable());
    case 'default':
      return described(leanSchema(def.innerType, depth).default(def.defaultValue));
    case 'array':
      return described(depth <= 0 ? z.array(z.unknown()) : z.array(leanSchema(def.element, depth - 1)));
    case 'record':
      return described(z.record(z.string(), depth <= 0 ? z.unknown() : leanSchema(def.valueType, depth - 1)));
    case 'union':
      return described(z.union(def.options.map((option: AnyZod) => leanSchema(option, depth))));
    case 'object': {
      if (depth <= 0) return described(z.looseObject({}));
      const shape = Object.fromEntries(Object.entries(def.shape as Record<string, AnyZod>).map(([key, value]) => [key, leanSchema(value, depth - 1)]));
      // Never strip unknown keys here: that would hide a typo like dryRun from define-tool, whose
      // full schema decides. A strict object stays strict; any other passes keys through.
      return described(def.catchall && defOf(def.catchall).type === 'never' ? z.strictObject(shape) : z.looseObject(shape));
    }
    default:
      return schema;
  }
}

/** The input schema as listed: full depth, lean strings; unknown arguments are rejected (a typo like dryRun must not vanish). */
function listedInputSchema(input: z.ZodObject): z.ZodObject {
  return (leanSchema(input, 8) as z.ZodObject).strict();
}

/**
 * The listed input schema as JSON Schema (2020-12, input side), without `$schema`: 2020-12 is the
 * dialect MCP assumes when a schema names none, and each of ~24 tools saves the bytes.
 */
export function listedInputJsonSchema(input: z.ZodObject): Record<string, unknown> {
  const { $schema: _, ...json } = z.toJSONSchema(listedInputSchema(input), { target: 'draft-2020-12', io: 'input' }) as Record<string, unknown>;
  return json;
}
