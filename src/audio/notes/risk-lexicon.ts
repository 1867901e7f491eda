/**
 * The local risk safety net: phrases that suggest self-harm, suicidal ideation or harm to
 * others, matched in every transcript whatever notes engine runs, so a model that misses or
 * refuses never leaves a clinician without the flag. It favours recall: a negated phrase
 * ("I would never hurt myself") is still flagged, at low severity, for a person to judge.
 *
 * Patterns are matched on normalised text (lower case, apostrophes straightened), so they work
 * on punctuation-free output such as pocketsphinx's.
 */
import type { AttributedSegment } from '../merge.js'
import type { RiskFlag } from './schema.js'

interface RiskPattern {
  type: RiskFlag['type']
  severity: RiskFlag['severity']
  pattern: RegExp
}

const I =
  "(?:i|i'm|i am|i've|i have|i'd|i would|i want to|i wanna|i feel like|i think about|thinking about|thought about)"

export const RISK_PATTERNS: readonly RiskPattern[] = [
  {
    type: 'suicidal_ideation',
    severity: 'high',
    pattern: /\b(kill(ing)? myself|end(ing)? (my|it all)( life)?|take my (own )?life|suicide|suicidal)\b/,
  },
  {
    type: 'suicidal_ideation',
    severity: 'high',
    pattern:
      /\b(want(ed)? to die|wish i (was|were) dead|better off dead|no reason to (live|go on)|not want to (live|be alive|be here))\b/,
  },
  {
    type: 'suicidal_ideation',
    severity: 'medium',
    pattern: new RegExp(
      String.raw`\b${I}? ?(don't|do not) want to (be here|wake up|live|go on) ?(anymore|any more)?\b`,
    ),
  },
  {
    type: 'suicidal_ideation',
    severity: 'medium',
    pattern: /\b(can't go on|cannot go on|everyone would be better off without me|no point (in )?living)\b/,
  },
  {
    type: 'self_harm',
    severity: 'high',
    pattern: /\b(cut(ting)?|burn(ing|t|ed)?|hurt(ing)?|harm(ing|ed)?|scratch(ing|ed)?) myself\b/,
  },
  { type: 'self_harm', severity: 'high', pattern: /\bself[- ]?harm(ing)?\b/ },
  { type: 'self_harm', severity: 'medium', pattern: /\b(overdose|overdosed|took too many pills)\b/ },
  {
    type: 'harm_to_others',
    severity: 'high',
    pattern:
      /\b(kill|murder|stab|shoot|strangle) (him|her|them|you|someone|somebody|my (wife|husband|partner|boss|mother|father|mum|mom|dad|son|daughter|neighbou?r))\b/,
  },
  {
    type: 'harm_to_others',
    severity: 'medium',
    pattern:
      /\b(hurt|hit|attack|beat( up)?|harm) (him|her|them|someone|somebody|people|my (wife|husband|partner|kids|children|boss))\b/,
  },
  {
    type: 'harm_to_others',
    severity: 'medium',
    pattern: /\b(make (him|her|them) pay|get a gun|want (him|her|them) dead)\b/,
  },
]

const NEGATION = /\b(never|not|don't|do not|wouldn't|would not|no longer|won't|will not)\b(\s+\S+){0,3}\s*$/

/**
 * Every risk phrase in the segments, one flag per type and segment (the most severe).
 *
 * @example
 * scanRisk([{ start: 12, end: 15, speaker: 'SPEAKER_2', text: 'sometimes I want to die' }])
 * // [{ type: 'suicidal_ideation', severity: 'high', evidence: 'sometimes I want to die', speaker: 'SPEAKER_2', start: 12, source: 'lexicon' }]
 */
export function scanRisk(segments: readonly Pick<AttributedSegment, 'start' | 'text' | 'speaker'>[]): RiskFlag[] {
  const flags: RiskFlag[] = []
  const rank = { low: 0, medium: 1, high: 2 }
  for (const segment of segments) {
    const text = normalise(segment.text)
    const found = new Map<RiskFlag['type'], RiskFlag>()
    for (const { type, severity, pattern } of RISK_PATTERNS) {
      const match = pattern.exec(text)
      if (!match) continue
      const negated = NEGATION.test(text.slice(0, match.index))
      const flag: RiskFlag = {
        type,
        severity: negated ? 'low' : severity,
        evidence: segment.text.trim(),
        speaker: segment.speaker,
        start: segment.start,
        source: 'lexicon',
      }
      const existing = found.get(type)
      if (!existing || rank[flag.severity] > rank[existing.severity]) found.set(type, flag)
    }
    flags.push(...found.values())
  }
  return flags
}

/**
 * Adds lexicon flags to an engine's flags, skipping a lexicon flag when the engine already
 * flagged the same type from the same moment (same start, or evidence containing the other).
 *
 * @example
 * notes.risk_flags = mergeRiskFlags(modelFlags, scanRisk(transcript.segments))
 */
export function mergeRiskFlags(engineFlags: readonly RiskFlag[], lexiconFlags: readonly RiskFlag[]): RiskFlag[] {
  const merged = [...engineFlags]
  for (const flag of lexiconFlags) {
    const duplicate = merged.some(
      (f) =>
        f.type === flag.type &&
        ((f.start !== null && f.start === flag.start) || overlaps(normalise(f.evidence), normalise(flag.evidence))),
    )
    if (!duplicate) merged.push(flag)
  }
  return merged
}

function normalise(text: string): string {
  return text.toLowerCase().replace(/[’`]/g, "'").replace(/\s+/g, ' ').trim()
}

function overlaps(a: string, b: string): boolean {
  return a !== '' && b !== '' && (a.includes(b) || b.includes(a))
}
