import type { AbuseLimits } from "../messaging/index";

/**
 * Abuse limits a suite never reaches, for suites that exercise other rules with many connections or
 * frames of one user (the limits have suites of their own).
 */
export const ROOMY_LIMITS: AbuseLimits = { maxConnectionsPerUser: 1000, message: { ratePerSecond: 1000, burst: 1000 } };
