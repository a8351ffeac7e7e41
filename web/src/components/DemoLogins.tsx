"use client";

import { createContext, use } from "react";

type DemoUser = { username: string; password: string };

/** Local stack only: the demo logins (the config has them only next to the Cognito emulator). */
export const DemoUsersContext = createContext<readonly DemoUser[]>([]);

/** Lists the demo logins under the sign-in form. */
function DemoLogins() {
  const users = use(DemoUsersContext);
  if (users.length === 0) return null;
  return (
    <section className="demo-logins" aria-labelledby="demo-logins-title" data-testid="demo-logins">
      <h2 id="demo-logins-title">Demo logins (local stack)</h2>
      <ul>
        {users.map(({ username, password }) => (
          <li key={username}>
            <code>{username}</code> / <code>{password}</code>
          </li>
        ))}
      </ul>
    </section>
  );
}

/** The Authenticator's `components` that put the demo logins under the sign-in form. */
export const SIGN_IN_WITH_DEMO_LOGINS = { SignIn: { Footer: DemoLogins } };
