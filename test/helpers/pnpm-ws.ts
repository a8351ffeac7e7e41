import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { outputsPath, REPO_ROOT } from "@wsauth/local/stack";

/** `pnpm ws …` as a user runs it (the root script's command), against a test stack's outputs. */
export async function pnpmWs(stateDir: string, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const argv = ["--import", "tsx", "packages/local/src/cli/ws.ts", ...args, "--outputs", outputsPath(stateDir)];
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, argv, { cwd: REPO_ROOT });
    return { code: 0, out: stdout, err: stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, out: failed.stdout ?? "", err: failed.stderr ?? "" };
  }
}
