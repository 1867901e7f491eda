import { describe, expect, it } from 'vitest'
import { mergeRiskFlags, scanRisk } from './risk-lexicon.js'

const segment = (text: string, start = 0, speaker = 'SPEAKER_2') => ({ text, start, speaker })

describe('risk lexicon', () => {
  it('flags self-harm, suicidal ideation and harm to others, on punctuation-free text too', () => {
    const flags = scanRisk([
      segment('sometimes i just want to die', 10),
      segment("I've been cutting myself again", 20),
      segment('I could kill him for what he did', 30, 'SPEAKER_1'),
      segment('we talked about the weekend', 40),
    ])
    expect(flags.map((f) => [f.type, f.severity, f.start, f.speaker, f.source])).toEqual([
      ['suicidal_ideation', 'high', 10, 'SPEAKER_2', 'lexicon'],
      ['self_harm', 'high', 20, 'SPEAKER_2', 'lexicon'],
      ['harm_to_others', 'high', 30, 'SPEAKER_1', 'lexicon'],
    ])
    expect(flags[1]?.evidence).toBe("I've been cutting myself again")
  })

  it('still flags negated phrases, at low severity, for a person to judge', () => {
    expect(scanRisk([segment('I would never hurt myself')])).toMatchObject([{ type: 'self_harm', severity: 'low' }])
    expect(scanRisk([segment("I don't want to be here anymore")])).toMatchObject([
      { type: 'suicidal_ideation', severity: 'medium' },
    ])
  })

  it('finds phrases cut across segments, with the time and speaker of where they begin', () => {
    // A chunk boundary or a pause in the middle of the phrase; then the speaker turn moved a
    // word early by diarization; then a negation in the segment before (still low severity).
    const flags = scanRisk([
      segment('we talked about the weekend and sometimes I want to', 10),
      segment('die, honestly', 13.5),
      segment('last night I cut', 40),
      segment('myself again', 42, 'SPEAKER_1'),
      segment('I would never', 60),
      segment('hurt myself though', 61),
    ])
    expect(flags.map((f) => [f.type, f.severity, f.start, f.speaker])).toEqual([
      ['suicidal_ideation', 'high', 10, 'SPEAKER_2'],
      ['self_harm', 'high', 40, 'SPEAKER_2'],
      ['self_harm', 'low', 61, 'SPEAKER_2'],
    ])
    expect(flags[0]?.evidence).toBe('we talked about the weekend and sometimes I want to die, honestly')
    expect(flags[1]?.evidence).toBe('last night I cut myself again')
    // Per segment it finds none of them: the join is what catches them.
    expect(
      [
        'we talked about the weekend and sometimes I want to',
        'die, honestly',
        'last night I cut',
        'myself again',
      ].flatMap((text) => scanRisk([segment(text)])),
    ).toEqual([])
    // Empty segments in between change nothing.
    expect(scanRisk([segment('i want to', 1), segment('', 2), segment('die', 3)])).toMatchObject([
      { type: 'suicidal_ideation', start: 1, evidence: 'i want to die' },
    ])
  })

  it('does not flag ordinary talk, in one segment or across two', () => {
    expect(scanRisk([segment('I hurt', 1), segment('my knee running', 2)])).toEqual([])
    expect(scanRisk([segment('that meeting killed', 1), segment('my afternoon', 2)])).toEqual([])
    expect(
      scanRisk([
        segment('that meeting killed my afternoon'),
        segment('I hurt my knee running'),
        segment('the deadline is killing me'),
      ]),
    ).toEqual([])
  })

  it('adds lexicon flags the model did not raise, without duplicates', () => {
    const lexicon = scanRisk([segment('sometimes i want to die', 10), segment('i hurt myself last night', 20)])
    const model = [
      {
        type: 'suicidal_ideation' as const,
        severity: 'high' as const,
        evidence: 'i want to die',
        speaker: 'SPEAKER_2',
        start: 10.2,
        source: 'model' as const,
      },
    ]
    const merged = mergeRiskFlags(model, lexicon)
    expect(merged.map((f) => [f.type, f.source])).toEqual([
      ['suicidal_ideation', 'model'],
      ['self_harm', 'lexicon'],
    ])
  })
})
