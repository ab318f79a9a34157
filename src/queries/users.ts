import type { Knex } from 'knex';

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

export type NewUser = Pick<UserRow, 'id' | 'workspace_id' | 'email' | 'email_verified' | 'name' | 'password_hash'>;

export const normalizeEmail = (email: string): string => email.trim().toLowerCase();

export function userQueries(db: Knex) {
  return {
    async insert(user: NewUser): Promise<UserRow> {
      const [row] = await db('users')
        .insert({ ...user, email_normalized: normalizeEmail(user.email) })
        .returning('*');
      return row;
    },
    /** Inserts unless the email is taken; returns the row either way. */
    async insertIfAbsent(user: NewUser): Promise<UserRow> {
      await db('users')
        .insert({ ...user, email_normalized: normalizeEmail(user.email) })
        .onConflict('email_normalized')
        .ignore();
      return (await db('users').where({ email_normalized: normalizeEmail(user.email) }).first())!;
    },
    async findById(id: string): Promise<UserRow | undefined> {
      // Not a uuid: no such user (and no SQL error for a malformed id).
      if (!/^[0-9a-f-]{36}$/i.test(id)) return undefined;
      return db('users').where({ id }).first();
    },
    async findByEmail(email: string): Promise<UserRow | undefined> {
      return db('users').where({ email_normalized: normalizeEmail(email) }).first();
    },
  };
}

export type UserQueries = ReturnType<typeof userQueries>;
