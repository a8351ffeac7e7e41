import { LOAD_LIMITS, startTestStack, type TestStack } from "@wsauth/local/testing";
import { createLoadUsers, type LoadUser } from "./users";

/** The local stack a benchmark runs against: every port ephemeral, quiet, with signed-in users. */
export interface BenchStack {
  stack: TestStack;
  users: LoadUser[];
  stop(): Promise<void>;
}

export async function startBenchStack(userCount: number): Promise<BenchStack> {
  const stack = await startTestStack({ quiet: true, ...LOAD_LIMITS });
  try {
    const users = await createLoadUsers(stack.outputs, userCount, "bench");
    return {
      stack,
      users,
      async stop() {
        await stack.stop();
      },
    };
  } catch (error) {
    await stack.stop();
    throw error;
  }
}

/** Resolves after `ms` (pacing between phases; never used to decide a result). */
export const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
