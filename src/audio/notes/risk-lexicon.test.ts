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

  it('does not flag ordinary talk', () => {
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
