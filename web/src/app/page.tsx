import { connection } from "next/server";
import { App } from "../components/App";
import { ConfigProblems } from "../components/ConfigProblems";
import { readWebConfig } from "../config";

/** Rendered per request so the configuration comes from the running environment, not the build. */
export default async function Page() {
  await connection();
  const result = readWebConfig(process.env);
  return result.ok ? <App config={result.config} /> : <ConfigProblems problems={result.problems} />;
}
