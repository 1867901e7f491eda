/**
 * The reliability statement every transcript carries: which engine made it, how wrong that
 * engine is expected to be (measured here where we could, published figures otherwise, "not
 * measured" when neither), and what this recording's quality checks flagged. It is shown where
 * the result is read — at the top of the session page, in the transcript downloads (txt header,
 * VTT `NOTE`), in the JSON, and beside the notes — because a clinician reading
 * "hello hello i'm not an ally the repair" must know the machine, not the patient, said it.
 *
 * Levels: `low` (the engine's expected error is high, or a quality check flagged this
 * recording), `moderate` (an engine whose published error on clean speech is around 10 % or
 * less, with nothing flagged), `unknown` (an engine nobody measured, nothing flagged). There is
 * no `high`: no offline engine here earns it, and a provider's model is not measured by Spool.
 */
import type { QualityReport } from './quality.js'

export type ReliabilityLevel = 'low' | 'moderate' | 'unknown'

export interface Reliability {
  level: ReliabilityLevel
  /** The transcription engine. */
  engine: string
  /** The engine's expected word error, in words. */
  expectedError: string
  /** The speaker labels' engine and expected error; null when speakers were not attributed. */
  diarization: { engine: string; expectedError: string } | null
  /** This recording's quality flags (`quality.flags`). */
  flags: string[]
  /** One paragraph saying all of the above, for headers and the dashboard. */
  statement: string
}

interface Profile {
  level: ReliabilityLevel
  expectedError: string
  /** What that means for a reader, appended to the statement. */
  caveat?: string
}

/** Measured on this project's test recordings (docs/audio.md, Measurements), or published. */
const TRANSCRIPTION: Record<string, Profile> = {
  pocketsphinx: {
    level: 'low',
    expectedError:
      'about half the words wrong on clean speech (64 % on the JFK test clip, 85 % on synthetic dialogue), more on phone calls and in noise',
    caveat: 'it invents and drops phrases, which can raise or hide a risk',
  },
  sherpa: {
    level: 'moderate',
    expectedError:
      'Whisper/Moonshine tiny models: roughly 5–15 % of words wrong on clean English speech (published figures, not measured here), more on calls',
  },
  openai: {
    level: 'unknown',
    expectedError: "set by the provider's model (not measured by Spool)",
  },
}

const DIARIZATION: Record<string, Profile> = {
  baseline: {
    level: 'low',
    expectedError:
      'speaker labels wrong about half the time on real calls (52 % on a held-out 13 s meeting excerpt, 31 % on the 30 s AMI excerpt), about 70 % with four overlapping speakers; under 10 % only on clean synthetic voices (docs/audio.md)',
  },
  sherpa: { level: 'unknown', expectedError: 'pyannote segmentation with speaker embeddings (not measured here)' },
}

const LEVEL_WORDS: Record<ReliabilityLevel, string> = {
  low: 'Low reliability',
  moderate: 'Moderate reliability',
  unknown: 'Reliability not measured',
}

/**
 * @example
 * const reliability = assessReliability({ transcription: 'pocketsphinx', diarization: 'baseline', quality })
 * reliability.statement
 * // 'Low reliability: transcribed offline by pocketsphinx — about half the words wrong on clean speech … Verify against the recording before relying on it.'
 */
export function assessReliability(input: {
  transcription: string
  /** Null or `none` when no speakers were attributed (a plain transcription). */
  diarization: string | null
  quality: Pick<QualityReport, 'flags'>
  /** The diarization failed (speakers are Unknown). */
  diarizationFailed?: boolean
}): Reliability {
  const profile: Profile = TRANSCRIPTION[input.transcription] ?? {
    level: 'unknown',
    expectedError: 'not measured (an engine this installation registered)',
  }
  const speakers =
    input.diarization && input.diarization !== 'none'
      ? {
          engine: input.diarization,
          expectedError: input.diarizationFailed
            ? 'diarization failed: no speaker labels'
            : (DIARIZATION[input.diarization]?.expectedError ?? 'not measured'),
        }
      : null
  const flags = [...input.quality.flags]
  let level = profile.level
  if (flags.length > 0 || (speakers && DIARIZATION[speakers.engine]?.level === 'low')) level = 'low'
  const sentences = [
    `${LEVEL_WORDS[level]}: transcribed by ${input.transcription} — ${profile.expectedError}${profile.caveat ? `; ${profile.caveat}` : ''}.`,
    speakers ? `Speakers by ${speakers.engine} diarization — ${speakers.expectedError}.` : '',
    flags.length > 0
      ? `Checks on this recording flagged: ${flags.join('; ')}.`
      : 'The checks on this recording flagged nothing.',
    'Verify against the recording before relying on it.',
  ]
  return {
    level,
    engine: input.transcription,
    expectedError: profile.expectedError,
    diarization: speakers,
    flags,
    statement: sentences.filter((s) => s !== '').join(' '),
  }
}

/**
 * What the notes add to the transcript's statement: notes inherit every error of the words
 * they were made from.
 *
 * @example
 * notesReliability(reliability, 'extractive', true) // 'Low reliability: … These notes are a rule-based draft …'
 */
export function notesReliability(reliability: Reliability, engine: string, heuristic: boolean): string {
  const notes = heuristic
    ? 'These notes are a rule-based draft made from that transcript, not a summary: they inherit its errors and say "not found" where the rules found nothing.'
    : `These notes were written by the ${engine} notes engine from that transcript and inherit its errors.`
  return `${reliability.statement} ${notes}`
}
