/**
 * What the token checks ask about revocation: the user's `notBefore` (epoch seconds), or `undefined`
 * when the user has no live revocation record. Implemented by `@wsauth/core/revocation` (the
 * authorizer's SDK-free lookup, the route handlers' store); defined here so auth depends on no table code.
 * Synchronous when the answer is cached, so the authorizer's fast paths stay free of promises.
 */
export interface NotBeforeSource {
  notBefore(userId: string): number | undefined | Promise<number | undefined>;
}

/** Whether a token signed in at `authTime` is refused by a record with `notBefore` (no time: refused). */
export function isRevoked(authTime: number | undefined, notBefore: number | undefined): boolean {
  if (notBefore === undefined) return false;
  return authTime === undefined || authTime < notBefore;
}
