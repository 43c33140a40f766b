// Errors that the CLI turns into one line on stderr and a specific exit code.

/** Bad configuration, bad pattern file, bad arguments: exit 2 (Nagios "CRITICAL" is also 2, but a
 * usage error never prints a status table, so scripts can tell them apart by stdout). */
export class UsageError extends Error {
  readonly exitCode = 2;
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** A file/field level configuration error: `<file>: <field>: <what was expected>`. */
export class ConfigError extends UsageError {
  constructor(
    readonly file: string,
    readonly field: string,
    readonly expected: string,
  ) {
    super(`${file}: ${field}: ${expected}`);
    this.name = 'ConfigError';
  }
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
