import { capturedLogs, printCapturedLogs } from "@wsauth/core/testing";
import { beforeEach } from "vitest";

// Every test file: log lines are captured (see test/helpers/log-capture.ts), per test; a failing test
// prints the lines it captured.
const logs = capturedLogs();
beforeEach(({ task, onTestFailed }) => {
  logs.clear();
  onTestFailed(() => printCapturedLogs(task.name));
});
