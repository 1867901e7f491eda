/**
 * A session's page in Chromium says how far to trust the transcript before anything else: the
 * reliability statement (its engine, that engine's expected error, this recording's quality
 * flags) sits at the top of the page, above the progress bar and the transcript, and again
 * beside the notes; note headings with nothing under them are not shown.
 *
 * The session runs the real pipeline (ffmpeg, Silero VAD, the baseline diarizer, extractive
 * notes) on jfk.flac with a fast stand-in transcriber that puts ten words a second throughout —
 * pauses included, as weak engines do with noise — so the checks have something to flag.
 */
import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Transcript } from '../../src/audio/engines/transcription/types.js'
import {
  type AudioPipeline,
  registerAudioEngine,
  resolvePipelineOptions,
  startAudioPipeline,
  unregisterAudioEngine,
} from '../../src/audio/pipeline/index.js'
import { readWavInfo } from '../../src/audio/wav.js'
import { sharedAudioAvailable, sharedPath } from '../helpers/shared-audio.js'
import { startServer, type TestServer } from '../server/helpers.js'
import { ensureDashboardBuilt, launchChromium, recordPageTrouble } from './browser.js'

/** Ten words a second, pauses included: junk the quality checks must flag. */
async function tenWordsASecond(path: string): Promise<Transcript> {
  const { durationSec } = await readWavInfo(path)
  const words = Array.from({ length: Math.floor(durationSec / 0.1) }, (_, i) => ({
    text: `w${i}`,
    start: i * 0.1,
    end: i * 0.1 + 0.08,
  }))
  return { text: words.map((w) => w.text).join(' '), words, segments: [], engine: 'test-junk' }
}

describe.skipIf(!sharedAudioAvailable('the session page in Chromium (test/web/sessions-view.test.ts)', ['jfk.flac']))(
  'session page in Chromium: the reliability statement',
  () => {
    let t: TestServer
    let audio: AudioPipeline
    let browser: Browser
    let page: Page
    const errors: string[] = []

    beforeAll(async () => {
      ensureDashboardBuilt()
      registerAudioEngine('transcription', 'test-junk', () => ({
        name: 'test-junk',
        transcribe: tenWordsASecond,
      }))
      t = await startServer({ config: { logLevel: 'warn' } })
      audio = await startAudioPipeline(t.spool, resolvePipelineOptions({ dir: join(t.dir, 'audio') }))
      browser = await launchChromium()
      page = await (await browser.newContext({ viewport: { width: 1280, height: 820 } })).newPage()
      recordPageTrouble(page, errors)
    })
    afterAll(async () => {
      await browser?.close()
      await audio?.close({ graceMs: 200 })
      await t?.close()
      unregisterAudioEngine('transcription', 'test-junk')
    })

    it('shows the statement at the top of the session page and beside the notes; no empty note headings', async () => {
      const { session } = await audio.sessions.createFromFile(sharedPath('jfk.flac'), {
        metadata: { engines: { transcription: 'test-junk' }, speakers: 1 },
      })
      const done = await audio.sessions.waitUntilFinished(session.id, 'default', 90_000)
      expect(done.status).toBe('processed')
      const { body } = await t.request('GET', `/v1/sessions/${session.id}`)
      const reliability = body.results.reliability
      expect(reliability).toMatchObject({ level: 'low', engine: 'test-junk' })
      expect(reliability.flags.length).toBeGreaterThan(0)

      await page.goto(t.url)
      await page.getByLabel('API key').fill(t.adminKey)
      await page.getByRole('button', { name: 'Sign in' }).click()
      await page.getByRole('heading', { name: 'Overview' }).waitFor()
      await page.goto(`${t.url}/sessions/${session.id}`)
      const note = page.getByTestId('reliability')
      await note.waitFor()
      const text = (await note.textContent()) ?? ''
      expect(text).toMatch(/^Low reliability\. Transcribed by test-junk — not measured/)
      expect(text).toContain('Speakers by baseline diarization')
      expect(text).toContain('Verify against the recording before relying on it.')
      for (const flag of reliability.flags as string[]) {
        await expect(note.getByRole('listitem').filter({ hasText: flag }).count()).resolves.toBe(1)
      }
      // At the top: the first thing after the title, above the progress bar and the transcript.
      const order = await page.evaluate(() => {
        const doc = (globalThis as unknown as { document: { querySelectorAll(q: string): ArrayLike<unknown> } })
          .document
        const marks = Array.from(
          doc.querySelectorAll(
            'h1, [data-testid=reliability], [data-testid=session-progress], [data-testid=transcript]',
          ) as ArrayLike<{ tagName: string; getAttribute(name: string): string | null }>,
        )
        return marks.map((m) => m.getAttribute('data-testid') ?? m.tagName.toLowerCase())
      })
      expect(order).toEqual(['h1', 'reliability', 'session-progress', 'transcript'])

      // The notes repeat it, and show no heading without content.
      const notes = page.getByRole('region', { name: 'Notes' })
      await expect(notes.getByTestId('notes-reliability').textContent()).resolves.toContain(reliability.statement)
      const headings = (await notes.locator('dt').allTextContents()).map((h) => h.trim())
      expect(headings).toContain('therapist notes')
      for (const empty of ['key topics', 'strategies', 'action items']) expect(headings).not.toContain(empty)
      await expect(notes.textContent()).resolves.toContain('Topics: not found.')
      expect(errors).toEqual([])
    })
  },
)
