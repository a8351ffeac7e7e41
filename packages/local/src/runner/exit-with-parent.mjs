// Preloaded (`node --import`) into every child process the local stack starts. The stack holds the
// write end of the child's stdin, so stdin ends when the stack's process is gone, however it went
// (SIGKILL included). The child then takes its whole process group down with it (it was started as a
// group leader), so a killed stack never leaves cognito-local or next dev running.
process.stdin.on("end", () => {
  try {
    process.kill(-process.pid, "SIGTERM");
  } catch {
    process.exit(0);
  }
});
process.stdin.on("error", () => process.exit(0));
process.stdin.resume();
