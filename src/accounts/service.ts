import { randomUUID } from 'node:crypto';
import type { UserQueries, UserRow } from '../queries/users.js';
import { DUMMY_PASSWORD_HASH, hashPassword, verifyPassword } from '../crypto/secrets.js';

export interface NewAccount {
  email: string;
  password: string;
  name?: string;
  workspaceId: string;
  emailVerified?: boolean;
}

export function accountService(users: UserQueries) {
  const toRow = async (input: NewAccount) => ({
    id: randomUUID(),
    workspace_id: input.workspaceId,
    email: input.email.trim(),
    email_verified: input.emailVerified ?? false,
    name: input.name ?? null,
    password_hash: await hashPassword(input.password),
  });
  return {
    async create(input: NewAccount): Promise<UserRow> {
      return users.insert(await toRow(input));
    },
    async ensure(input: NewAccount): Promise<UserRow> {
      return (await users.findByEmail(input.email)) ?? users.insertIfAbsent(await toRow(input));
    },
    /** The user for these credentials, or undefined. Takes the same time whether or not the email exists. */
    async authenticate(email: string, password: string): Promise<UserRow | undefined> {
      const user = await users.findByEmail(email);
      const ok = await verifyPassword(password, user?.password_hash ?? DUMMY_PASSWORD_HASH);
      return user && ok ? user : undefined;
    },
    find: (id: string) => users.findById(id),
  };
}

export type AccountService = ReturnType<typeof accountService>;
