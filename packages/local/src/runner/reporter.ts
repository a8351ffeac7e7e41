/**
 * What the local stack tells the developer: short plain lines on the terminal (URLs, logins, one line
 * per problem), not JSON. Handlers and the gateway keep their own structured logs.
 */
export interface Reporter {
  info(line: string): void;
  warn(line: string): void;
  error(line: string): void;
}

export function consoleReporter(options: { quiet?: boolean } = {}): Reporter {
  return {
    info: (line) => {
      if (!options.quiet) process.stdout.write(`[wsauth] ${line}\n`);
    },
    warn: (line) => process.stderr.write(`[wsauth] warning: ${line}\n`),
    error: (line) => process.stderr.write(`[wsauth] error: ${line}\n`),
  };
}
