import { isDeepStrictEqual } from 'node:util';

/**
 * The fields among `keys` whose value is another after the update than before (deep equality; a field absent on
 * one side and `undefined` on the other is unchanged), in the order of `keys`: what an update event names as changed.
 */
export const changedFields = (keys: readonly string[], before: object, after: object): string[] =>
  keys.filter((key) => !isDeepStrictEqual((before as Record<string, unknown>)[key], (after as Record<string, unknown>)[key]));
