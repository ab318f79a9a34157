import type { Knex } from 'knex';
import { preparedStatements } from './prepared.js';
import type { StatementRunner } from '../db/knex.js';

export interface UserRow {
  id: string;
  workspace_id: string;
  email: string;
  email_normalized: string;
  email_verified: boolean;
  name: string | null;
  password_hash: string;
  roles: string[];
  created_at: Date;
  updated_at: Date;
}

export type NewUser = Pick<UserRow, 'id' | 'workspace_id' | 'email' | 'email_verified' | 'name' | 'password_hash'> & { roles?: string[] };
export type UserChanges = Partial<Pick<UserRow, 'name' | 'password_hash' | 'roles' | 'email_verified'>>;

export const normalizeEmail = (email: string): string => email.trim().toLowerCase();

const isUuid = (id: string) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id);

export function userQueries(db: Knex, statements?: StatementRunner) {
  // Every refresh and userinfo call loads its account by id (findAccount): a prepared statement, no query builder
  // (src/queries/prepared.ts). Columns named, not `*`: a prepared `SELECT *` fails once a migration adds a column.
  const findByIdRow = preparedStatements(db, statements)<UserRow>(
    'users_find_by_id',
    'SELECT id, workspace_id, email, email_normalized, email_verified, name, password_hash, roles, created_at, updated_at FROM users WHERE id = ? LIMIT 1',
  );
  const toInsert = (user: NewUser) => ({ ...user, roles: JSON.stringify(user.roles ?? []), email_normalized: normalizeEmail(user.email) });
  return {
    async insert(user: NewUser): Promise<UserRow> {
      const [row] = await db('users').insert(toInsert(user)).returning('*');
      return row;
    },
    /** Inserts unless the email is taken; undefined when it was. */
    async insertUnlessTaken(user: NewUser): Promise<UserRow | undefined> {
      const [row] = await db('users').insert(toInsert(user)).onConflict('email_normalized').ignore().returning('*');
      return row;
    },
    /** Inserts unless the email is taken; returns the row either way. */
    async insertIfAbsent(user: NewUser): Promise<UserRow> {
      await db('users').insert(toInsert(user)).onConflict('email_normalized').ignore();
      return (await db('users').where({ email_normalized: normalizeEmail(user.email) }).first())!;
    },
    async findById(id: string): Promise<UserRow | undefined> {
      // Not a uuid: no such user (and no SQL error for a malformed id).
      if (!isUuid(id)) return undefined;
      return (await findByIdRow([id])).rows[0];
    },
    async findByEmail(email: string): Promise<UserRow | undefined> {
      return db('users').where({ email_normalized: normalizeEmail(email) }).first();
    },
    async list(filter: { workspaceId?: string; afterId?: string }, limit: number): Promise<UserRow[]> {
      const q = db('users').orderBy('id').limit(limit);
      if (filter.workspaceId) q.where({ workspace_id: filter.workspaceId });
      if (filter.afterId !== undefined) q.where('id', '>', filter.afterId);
      return q.select('*');
    },
    async update(id: string, changes: UserChanges): Promise<UserRow | undefined> {
      if (!isUuid(id)) return undefined;
      const { roles, ...rest } = changes;
      const [row] = await db('users')
        .where({ id })
        .update({ ...rest, ...(roles ? { roles: JSON.stringify(roles) } : {}), updated_at: db.fn.now() })
        .returning('*');
      return row;
    },
    async delete(id: string): Promise<number> {
      if (!isUuid(id)) return 0;
      return db('users').where({ id }).delete();
    },
  };
}

export type UserQueries = ReturnType<typeof userQueries>;
