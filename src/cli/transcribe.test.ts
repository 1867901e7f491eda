import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { bar, formatTranscript, multipart } from './transcribe.js'

const JFK = new URL('../../../shared/audio/jfk.flac', import.meta.url).pathname

describe('spool transcribe', () => {
  it('streams a recording as multipart/form-data that a standard parser reads back byte for byte', async () => {
    const progress: number[] = []
    const upload = multipart(JFK, { urgency: 'same-day', patient: { name: 'A. Patient' } }, (sent) =>
      progress.push(sent),
    )
    const form = await new Response(upload.body, { headers: upload.headers }).formData()
    expect(JSON.parse(String(form.get('metadata')))).toEqual({ urgency: 'same-day', patient: { name: 'A. Patient' } })
    const file = form.get('file') as File
    expect(file.name).toBe('jfk.flac')
    const original = readFileSync(JFK)
    expect(Buffer.from(await file.arrayBuffer()).equals(original)).toBe(true)
    expect(progress.at(-1)).toBe(original.length)
    const again = multipart(JFK, { urgency: 'same-day', patient: { name: 'A. Patient' } }, () => {})
    const bytes = await new Response(again.body).arrayBuffer()
    expect(Number(again.headers['content-length'])).toBe(bytes.byteLength)
  })

  it('draws bars and speaker lines', () => {
    expect(bar(50, 10)).toBe('█████·····  50%')
    expect(formatTranscript([{ speaker: 'Speaker 1', start: 1.25, end: 2, text: 'ask not' }])).toBe(
      '[   1.3 s] Speaker 1: ask not',
    )
  })
})
