export { type Child, type ChildOptions, startChild } from "./child";
export { describeError, firstLine, LocalStackError, ToolingError } from "./errors";
export { assertPortFree, isAddressInUse, type PortRole, portInUse } from "./ports";
export { consoleReporter, type Reporter } from "./reporter";
export { waitForHttp } from "./wait";
