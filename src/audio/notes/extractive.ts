/**
 * `extractive`: offline notes by rules — lexicons of topics, moods and therapy strategies,
 * commitment phrases for action items, and word counts for roles. It never invents content:
 * every item quotes or names something said. It is also shallow, so its output is labelled
 * heuristic (`heuristic: true`, and `therapist_notes` says so) for a clinician to check.
 *
 * Roles, when the caller does not give them: the therapist is the speaker who says "you" most
 * per word, the patient the one who says "I"/"me"/"my" most — but only when the conversation is
 * recognisably clinical (at least two mentions from the topic and strategy lexicons) and both
 * speakers said enough to tell (20 words each). Otherwise the notes say roles were not found,
 * rather than call two people on a phone call therapist and patient. Topics are only those the
 * lexicon recognises ("not found" otherwise): frequent words of a weak transcript ("added,
 * hello") are not topics. `Unknown` (words without a speaker turn) is never counted as a speaker.
 */
import { type AttributedSegment, type SpeakerTranscript, UNKNOWN_SPEAKER } from '../merge.js'
import type { NotesResult, SessionNotes } from './schema.js'
import type { NotesContext, NotesEngine } from './types.js'

const TOPICS: Record<string, RegExp> = {
  sleep: /\b(sleep\w*|insomnia|wake up|woke up|nightmares?|bed)\b/,
  anxiety: /\b(anxious|anxiety|panic\w*|worr\w+|nervous)\b/,
  depression: /\b(depress\w*|hopeless\w*|empty|numb)\b/,
  work: /\b(work|job|boss|colleagues?|career|office)\b/,
  family: /\b(family|mother|father|mum|mom|dad|parents?|children|kids|son|daughter|sister|brother)\b/,
  relationships: /\b(partner|wife|husband|girlfriend|boyfriend|relationship|marriage|divorce)\b/,
  medication: /\b(medication|meds|pills?|dose|prescription|antidepressants?)\b/,
  stress: /\b(stress\w*|overwhelm\w*|pressure|burn(ed|t)? out)\b/,
  substance_use: /\b(alcohol|drink(ing)?|drunk|drugs?|cannabis|smok\w+)\b/,
  grief: /\b(grief|griev\w+|loss|passed away|died|funeral)\b/,
  physical_health: /\b(pain|headaches?|appetite|eating|weight|exercise|tired|fatigue)\b/,
  self_esteem: /\b(confidence|worthless|self[- ]esteem|ashamed|guilt\w*)\b/,
}

const POSITIVE =
  /\b(better|good|great|happy|calm\w*|hopeful|helped|helps|progress|relieved|proud|improv\w+|enjoy\w*|fine)\b/g
const NEGATIVE =
  /\b(anxious|sad|depress\w*|worried|worse|tired|angry|hopeless|stress\w*|lonely|afraid|scared|overwhelm\w*|upset|awful|terrible|exhausted|not (very )?(well|good))\b/g

const STRATEGIES: { name: string; category: string; pattern: RegExp }[] = [
  { name: 'breathing exercise', category: 'relaxation', pattern: /\bbreath(ing)?( exercises?)?\b/ },
  {
    name: 'progressive muscle relaxation',
    category: 'relaxation',
    pattern: /\b(muscle relaxation|relaxation exercises?)\b/,
  },
  { name: 'sleep diary', category: 'self-monitoring', pattern: /\bsleep (diary|log)\b/ },
  { name: 'journaling', category: 'self-monitoring', pattern: /\b(journal\w*|diary|write (it )?down|writing down)\b/ },
  {
    name: 'thought record',
    category: 'cognitive',
    pattern: /\b(thought records?|challeng\w+ (the |your |my )?thoughts?|reframe|reframing)\b/,
  },
  { name: 'mindfulness', category: 'mindfulness', pattern: /\b(mindful\w*|meditat\w+)\b/ },
  { name: 'grounding', category: 'coping', pattern: /\bgrounding\b/ },
  {
    name: 'physical activity',
    category: 'behavioural activation',
    pattern: /\b(exercise|walks?|walking|running|yoga|gym)\b/,
  },
  {
    name: 'sleep hygiene',
    category: 'sleep',
    pattern: /\b(sleep hygiene|screens? before bed|regular bedtime|same time every (night|day))\b/,
  },
  { name: 'exposure', category: 'exposure', pattern: /\bexposure\b/ },
  { name: 'medication review', category: 'medical', pattern: /\b(medication|meds|dose)\b/ },
]

const COMMITMENT =
  /\b(i will|i'll|we will|we'll|let's|let us|i am going to|i'm going to|going to try|next (week|session|time|appointment)|homework|before (our|the) next|by next)\b/

const STOPWORDS = new Set(
  'the a an and or but so to of in on at for with about from into over after before than then that this these those is are was were be been being have has had do does did not no yes it its i me my we our you your he she they them his her their what which who when where why how can could would should will just very really also like well know think going get got one there here some more much many time little bit thing things okay yeah right good'.split(
    ' ',
  ),
)

/**
 * @example
 * const { notes, heuristic } = await createExtractiveNotesEngine().extract(result)
 * heuristic // true
 */
export function createExtractiveNotesEngine(): NotesEngine {
  return {
    name: 'extractive',
    async extract(transcript: SpeakerTranscript, context: NotesContext = {}): Promise<NotesResult> {
      return { notes: extractiveNotes(transcript, context), engine: 'extractive', heuristic: true, warnings: [] }
    },
  }
}

/** The rule-based notes (synchronous; the engine wraps it). */
export function extractiveNotes(transcript: SpeakerTranscript, context: NotesContext = {}): SessionNotes {
  const segments = transcript.segments
  const all = segments.map((s) => s.text.toLowerCase()).join(' \n ')

  const topicCounts = Object.entries(TOPICS)
    .map(([topic, pattern]) => ({ topic, count: (all.match(new RegExp(pattern.source, 'g')) ?? []).length }))
    .filter((t) => t.count > 0)
    .sort((a, b) => b.count - a.count)
  const key_topics = topicCounts.map((t) => t.topic.replace('_', ' '))
  const clinicalMentions =
    topicCounts.reduce((sum, t) => sum + t.count, 0) + STRATEGIES.filter((st) => st.pattern.test(all)).length
  const roles = guessRoles(segments, context.roles, clinicalMentions >= 2)
  const patientSegments = roles.patient ? segments.filter((s) => s.speaker === roles.patient) : segments

  const patientText = patientSegments.map((s) => s.text.toLowerCase()).join(' \n ')
  const positives = patientText.match(POSITIVE) ?? []
  const negatives = patientText.match(NEGATIVE) ?? []
  const overall =
    positives.length === 0 && negatives.length === 0
      ? patientSegments.length === 0
        ? 'unknown'
        : 'neutral'
      : positives.length > 0 &&
          negatives.length > 0 &&
          Math.min(positives.length, negatives.length) / Math.max(positives.length, negatives.length) >= 0.5
        ? 'mixed'
        : positives.length > negatives.length
          ? 'positive'
          : 'negative'
  const moodEvidence = patientSegments.filter((s) =>
    new RegExp(`${POSITIVE.source}|${NEGATIVE.source}`).test(s.text.toLowerCase()),
  )

  const strategies: SessionNotes['strategies'] = []
  for (const strategy of STRATEGIES) {
    const mentions = segments.filter((s) => strategy.pattern.test(s.text.toLowerCase()))
    if (mentions.length === 0) continue
    if (strategy.name === 'journaling' && strategies.some((s) => s.name === 'sleep diary')) continue
    const first = mentions[0] as AttributedSegment
    const following = segments
      .slice(segments.indexOf(first), segments.indexOf(first) + 2)
      .map((s) => s.text.toLowerCase())
      .join(' ')
    strategies.push({
      name: strategy.name,
      category: strategy.category,
      status: strategyStatus(following),
      context: first.text.trim(),
    })
  }

  const action_items: SessionNotes['action_items'] = segments
    .filter((s) => COMMITMENT.test(s.text.toLowerCase()))
    .map((s) => ({
      task: s.text.trim(),
      category: STRATEGIES.find((st) => st.pattern.test(s.text.toLowerCase()))?.category ?? 'follow-up',
      details: `${s.speaker} at ${clock(s.start)}`,
    }))

  const speakers = [...new Set(segments.map((s) => s.speaker))].filter((s) => s !== UNKNOWN_SPEAKER)
  const unattributed = segments.some((s) => s.speaker === UNKNOWN_SPEAKER)
  const minutes = segments.length > 0 ? ((segments.at(-1)?.end ?? 0) - (segments[0]?.start ?? 0)) / 60 : 0
  const therapist_notes = [
    'Heuristic draft (extractive engine, rule-based; verify against the recording).',
    `${speakers.length} speaker(s) identified${unattributed ? ' (some words have no speaker)' : ''} over ${minutes.toFixed(1)} min.`,
    roles.therapist
      ? `Therapist taken to be ${roles.therapist}, patient ${roles.patient ?? 'not found'}.`
      : `Roles: not found (${roles.why}).`,
    key_topics.length > 0 ? `Topics: ${key_topics.join(', ')}.` : 'Topics: not found.',
    strategies.length > 0 ? `Strategies: ${strategies.map((s) => `${s.name} (${s.status})`).join(', ')}.` : '',
    action_items.length > 0 ? `${action_items.length} commitment(s) noted.` : '',
  ]
    .filter((line) => line !== '')
    .join(' ')
  const patient_summary = summarise(patientSegments)

  return {
    key_topics,
    patient_mood: {
      overall,
      descriptors: [...new Set([...negatives, ...positives])].slice(0, 8),
      evidence: moodEvidence.slice(0, 3).map((s) => s.text.trim()),
    },
    strategies,
    action_items,
    risk_flags: [],
    therapist_notes,
    patient_summary,
  }
}

function guessRoles(
  segments: readonly AttributedSegment[],
  given: NotesContext['roles'],
  clinical: boolean,
): { therapist: string | undefined; patient: string | undefined; why: string } {
  if (given?.therapist || given?.patient) return { therapist: given.therapist, patient: given.patient, why: 'given' }
  const none = (why: string) => ({ therapist: undefined, patient: undefined, why })
  if (!clinical) return none('the conversation is not recognisably clinical')
  const stats = new Map<string, { words: number; you: number; self: number }>()
  for (const s of segments) {
    if (s.speaker === UNKNOWN_SPEAKER) continue
    const entry = stats.get(s.speaker) ?? { words: 0, you: 0, self: 0 }
    const words = s.text.toLowerCase().split(/\s+/)
    entry.words += words.length
    entry.you += words.filter((w) => /^(you|your|you're|yourself)\W*$/.test(w)).length
    entry.self += words.filter((w) => /^(i|me|my|i'm|i've|myself)\W*$/.test(w)).length
    stats.set(s.speaker, entry)
  }
  if (stats.size < 2) return none('fewer than two speakers')
  if ([...stats.values()].some((entry) => entry.words < 20)) return none('a speaker said too little to tell')
  const byYou = [...stats.entries()].sort((a, b) => b[1].you / b[1].words - a[1].you / a[1].words)
  const therapist = byYou[0]?.[0]
  const patient = [...stats.entries()]
    .filter(([name]) => name !== therapist)
    .sort((a, b) => b[1].self / b[1].words - a[1].self / a[1].words)[0]?.[0]
  return { therapist, patient, why: 'pronoun use' }
}

function strategyStatus(text: string): SessionNotes['strategies'][number]['status'] {
  if (/\b(didn't help|did not help|doesn't help|not help(ing|ed)?|no use|made it worse)\b/.test(text))
    return 'ineffective'
  if (/\b(helped|helps|works|worked|better)\b/.test(text)) return 'effective'
  if (/\b(tried|practis\w+|practic\w+|been doing|used|using|did)\b/.test(text)) return 'practising'
  if (/\b(let's|let us|try|should|could|will|suggest)\b/.test(text)) return 'suggested'
  return 'discussed'
}

/** The patient's most content-bearing segments (most non-stopwords), in order, up to ~60 words. */
function summarise(segments: readonly AttributedSegment[]): string {
  if (segments.length === 0) return ''
  const scored = segments.map((s, i) => ({
    i,
    s,
    score: s.text
      .toLowerCase()
      .split(/\s+/)
      .filter((w) => w.length > 3 && !STOPWORDS.has(w)).length,
  }))
  const picked: typeof scored = []
  let words = 0
  for (const item of [...scored].sort((a, b) => b.score - a.score)) {
    if (words > 60) break
    picked.push(item)
    words += item.s.text.split(/\s+/).length
  }
  return picked
    .sort((a, b) => a.i - b.i)
    .map((p) => p.s.text.trim())
    .join(' … ')
}

function clock(sec: number): string {
  const total = Math.round(sec)
  return `${Math.floor(total / 60)}:${String(total % 60).padStart(2, '0')}`
}
