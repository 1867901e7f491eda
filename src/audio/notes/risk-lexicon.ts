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
 * Every risk phrase in the transcript, one flag per type and segment (the most severe).
 *
 * The segments are matched as one text, joined in order, because a phrase is often cut in two:
 * at a chunk boundary, at a pause, or where diarization moved the speaker a word too early
 * ("I want to" | "die"). A flag carries the speaker and start time of the segment where the
 * phrase begins, and as evidence the text of every segment the phrase spans.
 *
 * @example
 * scanRisk([{ start: 12, end: 15, speaker: 'SPEAKER_2', text: 'sometimes I want to die' }])
 * // [{ type: 'suicidal_ideation', severity: 'high', evidence: 'sometimes I want to die', speaker: 'SPEAKER_2', start: 12, source: 'lexicon' }]
 */
export function scanRisk(segments: readonly Pick<AttributedSegment, 'start' | 'text' | 'speaker'>[]): RiskFlag[] {
  const rank = { low: 0, medium: 1, high: 2 }
  // Where each segment's normalised text starts in the joined text.
  const offsets: number[] = []
  let text = ''
  for (const segment of segments) {
    const part = normalise(segment.text)
    if (part !== '' && text !== '') text += ' '
    offsets.push(text.length)
    text += part
  }
  const segmentAt = (offset: number) => {
    let lo = 0
    let hi = offsets.length - 1
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1
      if ((offsets[mid] as number) <= offset) lo = mid
      else hi = mid - 1
    }
    return lo
  }
  const found = new Map<string, { first: number; order: number; flag: RiskFlag }>()
  RISK_PATTERNS.forEach(({ type, severity, pattern }, order) => {
    for (const match of text.matchAll(new RegExp(pattern.source, 'g'))) {
      const first = segmentAt(match.index)
      const last = segmentAt(match.index + Math.max(0, match[0].length - 1))
      const segment = segments[first] as (typeof segments)[number]
      const negated = NEGATION.test(text.slice(0, match.index))
      const flag: RiskFlag = {
        type,
        severity: negated ? 'low' : severity,
        evidence: segments
          .slice(first, last + 1)
          .map((s) => s.text.trim())
          .filter((t) => t !== '')
          .join(' '),
        speaker: segment.speaker,
        start: segment.start,
        source: 'lexicon',
      }
      const key = `${first}:${type}`
      const existing = found.get(key)
      if (!existing) found.set(key, { first, order, flag })
      else if (rank[flag.severity] > rank[existing.flag.severity]) existing.flag = flag
    }
  })
  return [...found.values()].sort((a, b) => a.first - b.first || a.order - b.order).map((f) => f.flag)
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
