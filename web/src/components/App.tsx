"use client";

import { Authenticator } from "@aws-amplify/ui-react";
import { useMemo } from "react";
import { configureAmplify, signInWith, signUpWith } from "../auth/amplify";
import type { WebConfig } from "../config";
import { Demo } from "./Demo";
import { DemoUsersContext, SIGN_IN_WITH_DEMO_LOGINS } from "./DemoLogins";

export function App({ config }: { config: WebConfig }) {
  configureAmplify(config);
  const services = useMemo(
    () => ({ handleSignIn: signInWith(config.authFlow), handleSignUp: signUpWith(config.authFlow) }),
    [config.authFlow],
  );
  const { demoUsers } = config;

  return (
    <main className="page">
      <header className="masthead">
        <h1>wsauth</h1>
        <p>An authenticated WebSocket: sign in, and the socket opens with your Cognito ID token.</p>
      </header>
      <DemoUsersContext value={demoUsers ?? []}>
        <Authenticator
          loginMechanisms={["email"]}
          services={services}
          {...(demoUsers ? { components: SIGN_IN_WITH_DEMO_LOGINS } : {})}
        >
          {({ signOut, user }) =>
            user ? (
              <Demo config={config} user={user} onSignOut={() => signOut?.()} />
            ) : (
              <p role="status">Loading your session…</p>
            )
          }
        </Authenticator>
      </DemoUsersContext>
    </main>
  );
}
