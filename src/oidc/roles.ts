/**
 * The `roles` claim (issue 8, "Roles"): the user's roles in their workspace (`users.roles`, set through
 * `PATCH /admin/users/:id`), named the way the requesting client names them. A client's `role_map` metadata maps
 * our role to its own (`{"admin": "owner"}`: the portal sees `owner` where the main app says `admin`).
 *
 * Roles the map does not mention pass through unchanged, so a client needs to list only the roles it renames
 * (an empty or missing map releases the roles as stored). Two roles mapped to one name appear once; the order
 * is the stored order.
 *
 * Released with scope `openid` (CLAIMS in ./accounts.ts) in the ID token and at userinfo, and stored on opaque
 * access tokens at issuance (extraTokenClaims, ./token-claims.ts) so introspection shows it.
 */
export const ROLES_CLAIM = 'roles';

export type RoleMap = Readonly<Record<string, string>>;

/** The client's `role_map`, when it is a usable one (the metadata validator has checked it on write). */
export function roleMapOf(client: unknown): RoleMap | undefined {
  const map = (client as { role_map?: unknown } | undefined)?.role_map;
  return map && typeof map === 'object' && !Array.isArray(map) ? (map as RoleMap) : undefined;
}

/** `roles` as this client names them. */
export function rolesFor(roles: readonly string[] | null | undefined, client: unknown): string[] {
  const map = roleMapOf(client);
  const named = (roles ?? []).map((role) => (map && Object.hasOwn(map, role) && typeof map[role] === 'string' ? map[role] : role));
  return [...new Set(named)];
}
