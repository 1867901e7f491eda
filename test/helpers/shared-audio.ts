/**
 * The shared recordings (`../shared/audio` beside the checkout: JFK, an AMI excerpt, their
 * references). They are read in place, never copied into the project. When the folder is
 * missing, the tests that need it are skipped — loudly, so a green run without them is never
 * mistaken for a measured one.
 */
import { existsSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

export const SHARED_AUDIO = resolve(fileURLToPath(new URL('../..', import.meta.url)), '..', 'shared', 'audio')

/** True when `files` exist in the shared audio folder; otherwise prints a banner saying what is skipped. */
export function sharedAudioAvailable(what: string, files: string[]): boolean {
  const missing = files.filter((f) => !existsSync(join(SHARED_AUDIO, f)))
  if (missing.length === 0) return true
  const line = '!'.repeat(100)
  console.warn(
    `\n${line}\n!! SKIPPED: ${what}\n!! ${SHARED_AUDIO} lacks ${missing.join(', ')} — these measurements did NOT run.\n${line}\n`,
  )
  return false
}

export function sharedPath(file: string): string {
  return join(SHARED_AUDIO, file)
}

export function sharedText(file: string): string {
  return readFileSync(join(SHARED_AUDIO, file), 'utf8')
}
