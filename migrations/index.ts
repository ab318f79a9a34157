import type { Knex } from 'knex';
import * as initial from './20261121120000_initial.js';

/** Every migration, by name. Add new ones here; never edit one that has landed. */
export const migrations: Record<string, Knex.Migration> = {
  '20261121120000_initial': initial,
};
