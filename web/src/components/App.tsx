"use client";

import { Authenticator } from "@aws-amplify/ui-react";
import { useMemo } from "react";
import { configureAmplify, signInWith, signUpWith } from "../auth/amplify";
import type { WebConfig } from "../config";
import { Demo } from "./Demo";

export function App({ config }: { config: WebConfig }) {
  configureAmplify(config);
  const services = useMemo(
    () => ({ handleSignIn: signInWith(config.authFlow), handleSignUp: signUpWith(config.authFlow) }),
    [config.authFlow],
  );

  return (
    <main className="page">
      <header className="masthead">
        <h1>wsauth</h1>
        <p>An authenticated WebSocket: sign in, and the socket opens with your Cognito ID token.</p>
      </header>
      <Authenticator loginMechanisms={["email"]} services={services}>
        {({ signOut, user }) =>
          user ? (
            <Demo config={config} user={user} onSignOut={() => signOut?.()} />
          ) : (
            <p role="status">Loading your session…</p>
          )
        }
      </Authenticator>
    </main>
  );
}
