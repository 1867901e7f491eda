/** The slice of a pino-style logger Spool writes to. Pass `pino()` or anything alike. */
export interface Logger {
  error(object: Record<string, unknown>, message: string): void
  warn(object: Record<string, unknown>, message: string): void
  info(object: Record<string, unknown>, message: string): void
  debug(object: Record<string, unknown>, message: string): void
}

/** Writes warnings and errors as JSON lines to stderr; the default when no logger is given. */
export const stderrLogger: Logger = {
  error: (object, message) => write('error', object, message),
  warn: (object, message) => write('warn', object, message),
  info: () => {},
  debug: () => {},
}

function write(level: string, object: Record<string, unknown>, message: string): void {
  process.stderr.write(`${JSON.stringify({ level, time: Date.now(), msg: message, ...object })}\n`)
}

/** Error fields fit for a log line: never the payload, only what the error says of itself. */
export function describeError(error: unknown): Record<string, unknown> {
  if (error instanceof Error) {
    return { err: { name: error.name, message: error.message, code: (error as { code?: unknown }).code } }
  }
  return { err: { message: String(error) } }
}
