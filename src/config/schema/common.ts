import { Type, type TSchema } from '@sinclair/typebox';

/** Ids used inside MQTT topics and entity ids: never anything that could escape a topic level. */
export const ID_PATTERN = '^[a-z0-9_]+$';
export const Id = Type.String({ pattern: ID_PATTERN, maxLength: 64 });

/** A closed object: unknown keys are configuration errors, not silently ignored. */
export function Section<T extends Record<string, TSchema>>(props: T, description?: string) {
  return Type.Object(props, { additionalProperties: false, default: {}, ...(description ? { description } : {}) });
}

