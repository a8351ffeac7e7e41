// OpenNext configuration for the deployed site (`sst deploy` builds it with OpenNext).
// OpenNext picks its build command from the lockfile it finds (the workspace's pnpm-lock.yaml means
// `pnpm build`), but the documented deploy path needs only Node.js and npm: npm runs the same `build`
// script (`next build`) without a global pnpm.
const config = {
  default: {},
  buildCommand: "npm run build",
};

export default config;
