#!/usr/bin/env node
/** The `spool` executable: runs one command (src/cli/commands.ts) and exits with its code. */
import { main } from './commands.js'

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code
})
