/**
 * `pocketsphinx`: the offline default. CMU PocketSphinx with its US English acoustic model,
 * language model and dictionary (Debian `pocketsphinx` + `pocketsphinx-en-us`). Accuracy is weak
 * by today's standards (64 % WER on the JFK clip through the pipeline, docs/audio.md) but it is real speech
 * recognition with word timestamps, needs no model download, and runs at ~0.75 × real time on
 * one core here.
 *
 * Two command-line generations exist and both are supported, picked by what is installed:
 * - 5.x: `pocketsphinx live file.wav` writes one JSON object per utterance:
 *   `{"b":start,"d":duration,"p":prob,"t":text,"w":[{"b","d","p","t"}…]}`;
 * - 5prealpha (Debian 12's 0.8+5prealpha): `pocketsphinx_continuous -infile file.wav -time yes`
 *   writes each utterance's text, then one `word start end confidence` line per word.
 * Both segment the file at pauses themselves and report times from the file's start.
 * Filler tokens (`<s>`, `</s>`, `<sil>`, `[NOISE]`, `++…++`) are dropped and alternate
 * pronunciation marks (`read(2)`) removed.
 */

import { runCommand } from '../../command.js'
import { AudioError } from '../../errors.js'
import { whichSync } from '../../tools.js'
import type { TranscribeOptions, Transcript, TranscriptionEngine, TranscriptSegment, Word } from './types.js'
import { wordsToText } from './types.js'

export interface PocketsphinxOptions {
  /** Acoustic model folder (`-hmm`); default: the package's US English model. */
  hmm?: string | undefined
  /** Language model (`-lm`). */
  lm?: string | undefined
  /** Pronunciation dictionary (`-dict`). */
  dict?: string | undefined
  /** Languages the configured model covers. Default `['en']`. */
  languages?: readonly string[]
  /** Overrides the binary lookup (`pocketsphinx`, then `pocketsphinx_continuous` on PATH). */
  binary?: string | undefined
}

type Flavour = { kind: 'json' | 'continuous'; path: string }

/** Which pocketsphinx command is installed, or undefined. */
export function findPocketsphinx(binary?: string): Flavour | undefined {
  if (binary) return { kind: binary.endsWith('pocketsphinx_continuous') ? 'continuous' : 'json', path: binary }
  const modern = whichSync('pocketsphinx')
  if (modern) return { kind: 'json', path: modern }
  const legacy = whichSync('pocketsphinx_continuous')
  return legacy ? { kind: 'continuous', path: legacy } : undefined
}

/**
 * @example
 * const engine = createPocketsphinxEngine()
 * const transcript = await engine.transcribe(pre.path, { language: 'en', signal })
 */
export function createPocketsphinxEngine(options: PocketsphinxOptions = {}): TranscriptionEngine {
  const languages = options.languages ?? ['en']
  return {
    name: 'pocketsphinx',
    async transcribe(wavPath: string, transcribeOptions: TranscribeOptions = {}): Promise<Transcript> {
      const language = transcribeOptions.language?.toLowerCase().split(/[-_]/)[0]
      if (language && !languages.includes(language)) {
        throw new AudioError(
          'AUDIO_LANGUAGE_UNSUPPORTED',
          `pocketsphinx has a model for ${languages.join(', ')} only, not "${transcribeOptions.language}"`,
          { field: 'language', engine: 'pocketsphinx' },
        )
      }
      const flavour = findPocketsphinx(options.binary)
      if (!flavour) {
        throw new AudioError(
          'AUDIO_ENGINE_UNAVAILABLE',
          'pocketsphinx is not installed (Debian: apt-get install pocketsphinx pocketsphinx-en-us)',
          { engine: 'pocketsphinx' },
        )
      }
      const model = [
        ...(options.hmm ? ['-hmm', options.hmm] : []),
        ...(options.lm ? ['-lm', options.lm] : []),
        ...(options.dict ? ['-dict', options.dict] : []),
      ]
      const signal = transcribeOptions.signal
      const utterances =
        flavour.kind === 'json'
          ? parseJsonOutput((await runCommand(flavour.path, [...model, 'live', wavPath], { signal })).stdout)
          : parseContinuousOutput(
              (
                await runCommand(flavour.path, [...model, '-infile', wavPath, '-time', 'yes', '-logfn', '/dev/null'], {
                  signal,
                })
              ).stdout,
            )
      const words = utterances.flat()
      const segments: TranscriptSegment[] = utterances
        .filter((u) => u.length > 0)
        .map((u) => ({ start: u[0]?.start ?? 0, end: u.at(-1)?.end ?? 0, text: wordsToText(u) }))
      return { text: wordsToText(words), words, segments, language: language ?? 'en', engine: 'pocketsphinx' }
    },
  }
}

/** Parses 5.x `live` output: one JSON object per utterance. */
export function parseJsonOutput(stdout: string): Word[][] {
  const utterances: Word[][] = []
  for (const line of stdout.split('\n')) {
    if (!line.trim().startsWith('{')) continue
    const utterance = JSON.parse(line) as { w?: { b: number; d: number; p: number; t: string }[] }
    const words: Word[] = []
    for (const w of utterance.w ?? []) {
      const text = cleanToken(w.t)
      if (text) words.push({ text, start: round(w.b), end: round(w.b + w.d), confidence: w.p })
    }
    utterances.push(words)
  }
  return utterances
}

/** Parses 5prealpha `-time yes` output: word lines `word start end confidence`, grouped by `<s>` … `</s>`. */
export function parseContinuousOutput(stdout: string): Word[][] {
  const utterances: Word[][] = []
  let current: Word[] | undefined
  for (const line of stdout.split('\n')) {
    const match = /^(\S+) (-?\d+\.\d+) (-?\d+\.\d+) (-?\d+(?:\.\d+)?(?:e[-+]?\d+)?)$/.exec(line.trim())
    if (!match) continue
    const [, token = '', start, end, confidence] = match
    if (token === '<s>') {
      current = []
      utterances.push(current)
      continue
    }
    if (!current) {
      current = []
      utterances.push(current)
    }
    if (token === '</s>') {
      current = undefined
      continue
    }
    const text = cleanToken(token)
    if (text) current.push({ text, start: Number(start), end: Number(end), confidence: Number(confidence) })
  }
  return utterances
}

function cleanToken(token: string): string | undefined {
  if (/^(<.*>|\[.*\]|\+\+.*\+\+)$/.test(token)) return undefined
  return token.replace(/\(\d+\)$/, '')
}

function round(sec: number): number {
  return Math.round(sec * 1000) / 1000
}
