import { afterEach, describe, expect, it } from 'vitest'
import { type FakeOpenAI, startFakeOpenAI } from '../../../test/helpers/fake-openai.js'
import { classifyError } from '../../engine/classify.js'
import type { SpeakerTranscript } from '../merge.js'
import { extractNotes, notesRiskFlags } from './extract.js'
import { createExtractiveNotesEngine } from './extractive.js'
import { createOpenAINotesEngine } from './openai.js'
import { type SessionNotes, SessionNotesSchema, sessionNotesJsonSchema } from './schema.js'

const lines: [string, string][] = [
  ['SPEAKER_1', 'Good morning. How have you been sleeping since our last session?'],
  ['SPEAKER_2', 'Not very well. I wake up at night and I feel anxious about work.'],
  ['SPEAKER_1', 'Did you try the breathing exercise we practised last week?'],
  ['SPEAKER_2', 'Yes, I tried it three times, and it helped a little before bed.'],
  ['SPEAKER_1', 'That is good progress. Let us keep a sleep diary this week.'],
  [
    'SPEAKER_2',
    'I can do that. I will write down when I go to bed and when I wake up. Sometimes I feel I want to die.',
  ],
  ['SPEAKER_1', 'Thank you for telling me. We will review the diary together at the next appointment.'],
]

const session: SpeakerTranscript = {
  text: lines.map((l) => l[1]).join(' '),
  words: [],
  segments: lines.map(([speaker, text], i) => ({ start: i * 5, end: i * 5 + 4, text, speaker })),
  speakers: ['SPEAKER_1', 'SPEAKER_2'],
  attribution: 'segment',
  engine: 'test',
  warnings: [],
}

describe('extractive notes', () => {
  it('on a call that is not clinical: roles and topics "not found", no frequent words as topics, Unknown is no speaker', async () => {
    // What pocketsphinx made of a two-person phone call, words in silence left Unknown.
    const call: SpeakerTranscript = {
      text: '',
      words: [],
      segments: [
        { start: 0, end: 0.4, text: 'out', speaker: 'Unknown' },
        { start: 1, end: 4, text: 'hello hello i added the repair', speaker: 'SPEAKER_1' },
        { start: 4.5, end: 8, text: 'hello you added it you know you added', speaker: 'SPEAKER_2' },
        { start: 8.5, end: 12, text: 'added hello i think i added the one', speaker: 'SPEAKER_1' },
      ],
      speakers: ['SPEAKER_1', 'SPEAKER_2'],
      attribution: 'word',
      engine: 'pocketsphinx',
      warnings: [],
    }
    const { notes } = await extractNotes(createExtractiveNotesEngine(), call)
    expect(notes.key_topics).toEqual([])
    expect(notes.therapist_notes).toContain('2 speaker(s) identified (some words have no speaker)')
    expect(notes.therapist_notes).toContain('Roles: not found (the conversation is not recognisably clinical).')
    expect(notes.therapist_notes).toContain('Topics: not found.')
    expect(notes.therapist_notes).not.toMatch(/therapist taken|patient SPEAKER|added, hello/i)
  })

  it('produces schema-valid notes labelled heuristic, quoting what was said', async () => {
    const result = await extractNotes(createExtractiveNotesEngine(), session)
    expect(result.engine).toBe('extractive')
    expect(result.heuristic).toBe(true)
    const notes = SessionNotesSchema.parse(result.notes)
    expect(notes.key_topics.slice(0, 3)).toEqual(expect.arrayContaining(['sleep']))
    expect(notes.key_topics).toEqual(expect.arrayContaining(['anxiety', 'work']))
    expect(notes.patient_mood.overall).toBe('mixed')
    expect(notes.patient_mood.descriptors).toEqual(expect.arrayContaining(['anxious', 'helped']))
    expect(notes.strategies).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: 'breathing exercise', category: 'relaxation', status: 'effective' }),
        expect.objectContaining({ name: 'sleep diary', category: 'self-monitoring' }),
      ]),
    )
    expect(notes.action_items.map((a) => a.task)).toEqual(
      expect.arrayContaining([expect.stringContaining('sleep diary'), expect.stringContaining('next appointment')]),
    )
    expect(notes.therapist_notes).toMatch(/^Heuristic draft/)
    expect(notes.therapist_notes).toContain('Therapist taken to be SPEAKER_1, patient SPEAKER_2')
    expect(notes.patient_summary).toContain('I wake up at night')
    // The lexicon's safety net ran.
    expect(notes.risk_flags).toMatchObject([
      { type: 'suicidal_ideation', speaker: 'SPEAKER_2', start: 25, source: 'lexicon' },
    ])
  })
})

describe('openai notes', () => {
  let fake: FakeOpenAI | undefined
  afterEach(async () => {
    await fake?.close()
    fake = undefined
  })

  const modelNotes: SessionNotes = {
    key_topics: ['sleep', 'work anxiety'],
    patient_mood: { overall: 'mixed', descriptors: ['anxious', 'hopeful'], evidence: ['Not very well.'] },
    strategies: [
      { name: 'Breathing exercise', category: 'relaxation', status: 'effective', context: 'tried it three times' },
    ],
    action_items: [{ task: 'Keep a sleep diary', category: 'homework', details: 'bed and wake times' }],
    risk_flags: [],
    therapist_notes: 'Sleep-onset insomnia with work-related anxiety; breathing exercise partially effective.',
    patient_summary:
      'You have been sleeping badly; the breathing exercise helped a little. Keep a sleep diary this week.',
  }

  it('asks for strict JSON-schema output, validates it, and still adds the lexicon flag the model missed', async () => {
    let request: Record<string, unknown> = {}
    fake = await startFakeOpenAI({
      chat: (body) => {
        request = body
        return JSON.stringify(modelNotes)
      },
    })
    const engine = createOpenAINotesEngine({ baseUrl: fake.url, apiKey: 'k', model: 'notes-model' })
    const result = await extractNotes(engine, session, { visitType: 'follow-up', roles: { therapist: 'SPEAKER_1' } })
    expect(request).toMatchObject({
      model: 'notes-model',
      response_format: {
        type: 'json_schema',
        json_schema: { name: 'session_notes', strict: true, schema: sessionNotesJsonSchema() },
      },
    })
    const user = (request.messages as { content: string }[])[1]?.content ?? ''
    expect(user).toContain('Visit type: follow-up')
    expect(user).toContain('[25.0s] SPEAKER_2: I can do that.')
    expect(result).toMatchObject({ engine: 'openai', heuristic: false })
    expect(result.notes.key_topics).toEqual(['sleep', 'work anxiety'])
    expect(result.notes.risk_flags).toMatchObject([{ type: 'suicidal_ideation', source: 'lexicon' }])
  })

  it('retries an answer that breaks the schema, fails on a refusal, and keeps the lexicon flags on errors', async () => {
    const answers = ['{"key_topics": "not a list"}', 'not json', 'refuse']
    fake = await startFakeOpenAI({ chat: () => answers.shift() ?? '{}' })
    const engine = createOpenAINotesEngine({ baseUrl: fake.url })
    const invalid = await extractNotes(engine, session).catch((e: unknown) => e)
    expect(invalid).toMatchObject({
      name: 'ProviderError',
      message: expect.stringContaining('does not match the schema'),
    })
    expect(classifyError(invalid).retryable).toBe(true)
    expect(notesRiskFlags(invalid)).toMatchObject([{ type: 'suicidal_ideation' }])
    const notJson = await extractNotes(engine, session).catch((e: unknown) => e)
    expect(classifyError(notJson).retryable).toBe(true)

    await fake.close()
    fake = await startFakeOpenAI()
    fake.script({
      status: 200,
      body: { choices: [{ message: { role: 'assistant', content: null, refusal: 'I cannot help with that.' } }] },
    })
    const refused = await extractNotes(createOpenAINotesEngine({ baseUrl: fake.url }), session).catch((e: unknown) => e)
    expect(refused).toMatchObject({ code: 'AUDIO_ENGINE_REJECTED' })
    expect(classifyError(refused).retryable).toBe(false)
  })
})
