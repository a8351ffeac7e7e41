/**
 * The `$connect` authorizer's fast paths, private to `@wsauth/core/auth` (the package index does not
 * export them). A flood of junk tokens or a reconnect storm is answered without promise round trips,
 * per-request Error objects or Node's unhandled-rejection bookkeeping; BENCHMARKS.md has the figures.
 * The public API stays async and plain: `authorizeConnect` returns a promise like any other.
 */

/** A value that is there now, or a promise of it. */
export type MaybePromise<T> = T | Promise<T>;

/** What API Gateway reads as "401": a thrown error whose message is exactly `Unauthorized`. */
export const UNAUTHORIZED_MESSAGE = "Unauthorized";

/**
 * The 401 signal, one shared instance without a stack: API Gateway (and the local gateway) read
 * only its message. Frozen so no caller can attach per-request state to it.
 */
export const UNAUTHORIZED_SIGNAL: Error = (() => {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return Object.freeze(new Error(UNAUTHORIZED_MESSAGE));
  } finally {
    Error.stackTraceLimit = limit;
  }
})();

/**
 * The promise of an answer: resolved with a result, rejected with an Error. A rejection is delivered
 * one microtask later: the caller (Lambda's runtime, the local gateway, a test's `await`) attaches its
 * handler as soon as this returns, so the rejection finds a handler and Node skips the
 * unhandled-rejection tracking it would otherwise start.
 */
export function settle<T>(answer: MaybePromise<T | Error>): Promise<T> {
  if (answer instanceof Promise) {
    return answer.then((settled) => {
      if (settled instanceof Error) throw settled;
      return settled;
    });
  }
  if (answer instanceof Error) return new Promise((_resolve, reject) => queueMicrotask(() => reject(answer)));
  return Promise.resolve(answer);
}
