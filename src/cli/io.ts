/** Where a command writes: stdout and stderr by default. */
export interface Io {
  out(text: string): void
  err(text: string): void
}

export const consoleIo: Io = { out: (text) => console.log(text), err: (text) => console.error(text) }
