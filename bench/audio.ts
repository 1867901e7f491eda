/**
 * Audio pipeline benchmark (docs/audio.md and docs/performance.md):
 *
 *   node --import tsx bench/audio.ts [--scenario overhead,parallel,fanout,hour] [--minutes 60] [--runs 2] [--json]
 *
 * - `overhead` (a): a 2-minute recording (JFK looped) through Spool's pipeline with the real
 *   offline engines (ffmpeg, Silero VAD, pocketsphinx, the baseline diarizer, extractive notes),
 *   against the same engine calls made directly in one process with the same chunking and
 *   parallelism ("bare"). Overhead = (Spool wall − bare wall) / bare wall: what the queues,
 *   records, encryption at rest and job hand-offs add. Target ≤ 5 %.
 * - `parallel` (b): transcription and diarization of the same recording, each alone and then
 *   together as the pipeline runs them; target: together ≤ 1.1 × the slower alone.
 * - `fanout` (c): `--minutes` of audio (default 60) through the `openai` engine against the fake
 *   OpenAI-compatible upstream (test/helpers/fake-openai.ts, in its own process: bench/audio-upstream.ts), whose latency grows with the audio
 *   like a hosted API's (30 s for an hour) and which takes at most 16 requests at once (429 with
 *   Retry-After beyond). Spool's chunked fan-out (30 s chunks, queue capped at 16 across nodes)
 *   against one unchunked request. Target: the transcription stage ≤ 5 s for an hour.
 * - `hour` (d): `--minutes` of audio end to end with the offline engines, reported as audio
 *   seconds per wall second, with the time per stage.
 *
 * Long audio is made by looping `../shared/audio/jfk.flac` with ffmpeg into a temporary WAV.
 * Everything runs in this process on a temporary SQLite file with the server's encryption codec.
 */
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs, promisify } from 'node:util'
import '../src/index.js'
import { planChunks } from '../src/audio/chunks.js'
import { diarizeFromEmbeddings } from '../src/audio/engines/diarization/baseline.js'
import { chunkEmbeddings } from '../src/audio/engines/diarization/embeddings.js'
import { createPocketsphinxEngine } from '../src/audio/engines/transcription/pocketsphinx.js'
import { transcribeChunked } from '../src/audio/engines/transcription/stitch.js'
import { mergeSpeakers } from '../src/audio/merge.js'
import { extractNotes } from '../src/audio/notes/extract.js'
import { createExtractiveNotesEngine } from '../src/audio/notes/extractive.js'
import {
  type AudioPipeline,
  registerAudioEngine,
  resolvePipelineOptions,
  type SessionView,
  startAudioPipeline,
} from '../src/audio/pipeline/index.js'
import { mapConcurrent } from '../src/audio/pool.js'
import { preprocessAudio } from '../src/audio/preprocess.js'
import { assessQuality } from '../src/audio/quality.js'
import { detectSpeechInFile } from '../src/audio/vad.js'
import { validateAudio } from '../src/audio/validate.js'
import { Spool } from '../src/engine/spool.js'
import { AesGcmCodec } from '../src/security/codec.js'
import { startUpstreamProcess } from './audio-upstream.js'

const run = promisify(execFile)
const { values } = parseArgs({
  options: {
    scenario: { type: 'string', default: 'overhead,parallel,fanout,hour' },
    minutes: { type: 'string', default: '60' },
    runs: { type: 'string', default: '2' },
    json: { type: 'boolean' },
  },
})
const scenarios = new Set(String(values.scenario).split(','))
const minutes = Number(values.minutes)
/** How many times (a) and (b) run each arrangement, interleaved; the best run of each counts. */
const runs = Math.max(1, Number(values.runs))
const JFK = new URL('../../shared/audio/jfk.flac', import.meta.url).pathname
if (!existsSync(JFK)) {
  console.error(`bench/audio.ts needs ${JFK}`)
  process.exit(2)
}
const cores = availableParallelism()
const work = mkdtempSync(join(tmpdir(), 'spool-bench-audio-'))
const results: Record<string, unknown> = {
  machine: { cpu: cpus()[0]?.model.trim(), cores, node: process.version, loadAtStart: loadavg()[0] },
}
const log = (line: string) => {
  if (!values.json) console.log(line)
}

/** JFK (11.0 s) looped to at least `seconds`, as 16 kHz mono WAV. */
async function longAudio(seconds: number): Promise<string> {
  const times = Math.max(1, Math.ceil(seconds / 11))
  const path = join(work, `jfk-x${times}.wav`)
  if (existsSync(path)) return path
  await run('ffmpeg', [
    '-v',
    'error',
    '-y',
    '-stream_loop',
    String(times - 1),
    '-i',
    JFK,
    '-ac',
    '1',
    '-ar',
    '16000',
    path,
  ])
  return path
}

async function openPipeline(options: Parameters<typeof resolvePipelineOptions>[0] = {}) {
  const dir = mkdtempSync(join(work, 'spool-'))
  const codec = new AesGcmCodec([{ id: 'b1', key: randomBytes(32) }])
  const spool = await Spool.open({
    store: `sqlite:${join(dir, 'spool.db')}`,
    codec,
    logger: { error: () => {}, warn: () => {}, info: () => {}, debug: () => {} },
  })
  const pipeline = await startAudioPipeline(spool, resolvePipelineOptions({ dir: join(dir, 'audio'), ...options }))
  return {
    spool,
    pipeline,
    async close() {
      await pipeline.close({ graceMs: 0 })
      await spool.close({ graceMs: 0 })
    },
  }
}

/** Runs one session through the pipeline; wall ms from the file being handed over to processed. */
async function session(
  pipeline: AudioPipeline,
  path: string,
  metadata: Record<string, unknown> = {},
  kind: 'session' | 'transcription' = 'session',
): Promise<{ wallMs: number; view: SessionView }> {
  const started = performance.now()
  const { session } = await pipeline.sessions.createFromFile(path, { metadata, kind })
  const view = await pipeline.sessions.waitUntilFinished(session.id, 'default', 4 * 3_600_000)
  const wallMs = performance.now() - started
  if (view.status !== 'processed') throw new Error(`session ${view.status}: ${view.error}`)
  return { wallMs, view }
}

/** The same engine calls, made directly: what the work costs without Spool around it. */
async function bare(path: string, concurrency: number): Promise<{ wallMs: number; text: string }> {
  const started = performance.now()
  const info = await validateAudio(path, { decode: 'full' })
  const pre = await preprocessAudio(path, join(work, `bare-${randomBytes(4).toString('hex')}.wav`), {
    durationSec: info.durationSec,
  })
  const vad = await detectSpeechInFile(pre.path)
  const chunks = planChunks(vad.segments, pre.durationSec, { maxChunkSec: 30 }).filter((c) => c.speech)
  const diarizationChunks = planChunks(vad.segments, pre.durationSec, { maxChunkSec: 60 }).filter((c) => c.speech)
  const [transcript, diarization] = await Promise.all([
    transcribeChunked(createPocketsphinxEngine(), pre.path, chunks, { concurrency, workDir: work }),
    (async () => {
      const parts = await mapConcurrent(diarizationChunks, concurrency, (c) =>
        chunkEmbeddings(pre.path, c, vad.segments),
      )
      return diarizeFromEmbeddings(vad.segments, parts.flat(), {})
    })(),
  ])
  const merged = mergeSpeakers(transcript, diarization)
  assessQuality(transcript.words, { speech: vad.segments, durationSec: pre.durationSec })
  await extractNotes(createExtractiveNotesEngine(), merged, {})
  rmSync(pre.path, { force: true })
  return { wallMs: performance.now() - started, text: transcript.text }
}

const round = (n: number, digits = 0) => Math.round(n * 10 ** digits) / 10 ** digits

/**
 * CPU ms used so far by this process and the children it has waited for (ffmpeg, pocketsphinx):
 * less sensitive than wall time to other work on a shared machine.
 */
function cpuMs(): number {
  const usage = process.cpuUsage()
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]?.split(' ') ?? []
  const childTicks = Number(fields[13]) + Number(fields[14])
  return (usage.user + usage.system) / 1000 + childTicks * 10
}

async function measured<T extends { wallMs: number }>(work: () => Promise<T>): Promise<T & { cpuMs: number }> {
  const before = cpuMs()
  const result = await work()
  return { ...result, cpuMs: cpuMs() - before }
}

// A transcriber that returns nothing at once, to time diarization alone.
registerAudioEngine('transcription', 'bench-silent', () => ({
  name: 'bench-silent',
  transcribe: async () => ({ text: '', words: [], segments: [], engine: 'bench-silent' }),
}))

try {
  if (scenarios.has('overhead') || scenarios.has('parallel')) {
    const path = await longAudio(120)
    const p = await openPipeline()
    try {
      // Warm caches (model files, the VAD's WASM/ONNX runtime) and the speed figures.
      await session(p.pipeline, JFK)
      if (scenarios.has('overhead')) {
        // Interleaved, so both see the same machine; the best of `runs` of each.
        const bareRuns: { wallMs: number; cpuMs: number }[] = []
        const spoolRuns: { wallMs: number; cpuMs: number }[] = []
        // Within each Spool run: the share of the session's time in which no engine ran.
        const idleShares: number[] = []
        let timings: Record<string, number> | null = null
        let engine: Record<string, number> | null = null
        for (let i = 0; i < runs; i++) {
          bareRuns.push(await measured(() => bare(path, cores)))
          const s = await measured(() => session(p.pipeline, path))
          spoolRuns.push(s)
          timings = s.view.timings
          const { results } = await p.pipeline.sessions.view(s.view.id, 'default', { results: true })
          engine = results?.engineMs ?? null
          if (timings?.total && engine?.idle !== undefined) idleShares.push(engine.idle / timings.total)
        }
        const best = (list: { wallMs: number; cpuMs: number }[], key: 'wallMs' | 'cpuMs') =>
          Math.min(...list.map((r) => r[key]))
        const wall = { bare: best(bareRuns, 'wallMs'), spool: best(spoolRuns, 'wallMs') }
        const cpu = { bare: best(bareRuns, 'cpuMs'), spool: best(spoolRuns, 'cpuMs') }
        const percent = (x: { bare: number; spool: number }) => round(((x.spool - x.bare) / x.bare) * 100, 1)
        results.overhead = {
          audioSec: 121,
          bare: bareRuns.map((r) => ({ wallMs: round(r.wallMs), cpuMs: round(r.cpuMs) })),
          spool: spoolRuns.map((r) => ({ wallMs: round(r.wallMs), cpuMs: round(r.cpuMs) })),
          wallOverheadPercent: percent(wall),
          cpuOverheadPercent: percent(cpu),
          idlePercentOfSession: idleShares.map((x) => round(x * 100, 2)),
          timings,
          engineMs: engine,
        }
        log(
          `(a) time no engine ran, share of the session: ${idleShares.map((x) => `${round(x * 100, 2)} %`).join(', ')} (engine busy ${engine?.busy} ms of ${timings?.total} ms in the last run)`,
        )
        log(
          `    against the bare engine calls, best of ${runs}: wall bare ${round(wall.bare)} ms, Spool ${round(wall.spool)} ms → ${percent(wall)} %; CPU bare ${round(cpu.bare)} ms, Spool ${round(cpu.spool)} ms → ${percent(cpu)} %`,
        )
        log(
          `    runs (wall/CPU ms): bare ${bareRuns.map((r) => `${round(r.wallMs)}/${round(r.cpuMs)}`).join(', ')}; Spool ${spoolRuns.map((r) => `${round(r.wallMs)}/${round(r.cpuMs)}`).join(', ')}`,
        )
        log(`    Spool stage timings (last run): ${JSON.stringify(timings)}; engine ms ${JSON.stringify(engine)}`)
      }
      if (scenarios.has('parallel')) {
        // Each arrangement `runs` times, interleaved; the best of each.
        const t: number[] = []
        const d: number[] = []
        const both: number[] = []
        for (let i = 0; i < runs; i++) {
          const alone = await session(p.pipeline, path, { engines: { diarization: 'none' } })
          t.push(alone.view.timings?.transcription ?? 0)
          const diarizationOnly = await session(p.pipeline, path, { engines: { transcription: 'bench-silent' } })
          d.push(diarizationOnly.view.timings?.diarization ?? 0)
          const together = await session(p.pipeline, path)
          both.push(Math.max(together.view.timings?.transcription ?? 0, together.view.timings?.diarization ?? 0))
        }
        const [bt, bd, bb] = [Math.min(...t), Math.min(...d), Math.min(...both)]
        results.parallel = {
          transcriptionAloneMs: t,
          diarizationAloneMs: d,
          togetherMs: both,
          ratioToSlower: round(bb / Math.max(bt, bd), 3),
        }
        log(
          `(b) best of ${runs}: transcription alone ${bt} ms, diarization alone ${bd} ms, together ${bb} ms → ${round(bb / Math.max(bt, bd), 3)} × the slower (target ≤ 1.1); runs ${JSON.stringify({ t, d, both })}`,
        )
      }
    } finally {
      await p.close()
    }
  }

  if (scenarios.has('fanout')) {
    const seconds = minutes * 60
    const path = await longAudio(seconds)
    // 30 s of latency per hour of audio, like the hosted APIs; 16 requests at once, 429 beyond.
    // In its own process, as a hosted API is: its parsing does not run on the pipeline's event loop.
    const fake = await startUpstreamProcess({
      maxConcurrent: 16,
      retryAfter: '1',
      latency: { baseMs: 150, perAudioSecondMs: 30_000 / 3600 },
    })
    try {
      const openai = { baseUrl: fake.url, timeoutMs: 600_000 }
      const chunked = await openPipeline({
        engines: { transcription: 'openai' },
        engineConfig: { transcription: { openai } },
        limits: { transcription: { concurrency: 16 } },
        concurrency: { transcribeChunk: 16 },
      })
      let fanout: { wallMs: number; view: SessionView }
      try {
        fanout = await session(chunked.pipeline, path, {}, 'transcription')
      } finally {
        await chunked.close()
      }
      const unchunkedPipeline = await openPipeline({
        engines: { transcription: 'openai' },
        engineConfig: { transcription: { openai } },
        chunkSec: 5 * 3600,
      })
      let single: { wallMs: number; view: SessionView }
      try {
        single = await session(unchunkedPipeline.pipeline, path, {}, 'transcription')
      } finally {
        await unchunkedPipeline.close()
      }
      const upstream = await fake.stats()
      const limited = upstream.requests.filter((r) => r.status === 429).length
      results.fanout = {
        audioSec: round(fanout.view.durationMs / 1000),
        chunks: fanout.view.chunks.transcription.total,
        chunkedTranscriptionMs: fanout.view.timings?.transcription,
        chunkedSessionMs: round(fanout.wallMs),
        chunkedTimings: fanout.view.timings,
        unchunkedTranscriptionMs: single.view.timings?.transcription,
        unchunkedSessionMs: round(single.wallMs),
        peakConcurrentUpstream: upstream.peak,
        answered429: limited,
      }
      log(
        `(c) ${round(fanout.view.durationMs / 60000, 1)} min against the fake upstream: chunked fan-out (${fanout.view.chunks.transcription.total} chunks) transcription ${fanout.view.timings?.transcription} ms (whole session ${round(fanout.wallMs)} ms); unchunked ${single.view.timings?.transcription} ms (session ${round(single.wallMs)} ms); upstream peak ${upstream.peak} at once, ${limited} × 429`,
      )
      log(`    chunked stage timings: ${JSON.stringify(fanout.view.timings)}`)
    } finally {
      await fake.close()
    }
  }

  if (scenarios.has('hour')) {
    const path = await longAudio(minutes * 60)
    const p = await openPipeline()
    try {
      const s = await session(p.pipeline, path, { speakers: 1 })
      const audioSec = s.view.durationMs / 1000
      results.hour = {
        audioSec,
        wallMs: round(s.wallMs),
        audioSecondsPerWallSecond: round(audioSec / (s.wallMs / 1000), 2),
        timings: s.view.timings,
        chunks: s.view.chunks,
      }
      log(
        `(d) ${round(audioSec / 60, 1)} min end to end, offline engines: ${round(s.wallMs / 1000, 1)} s → ${round(audioSec / (s.wallMs / 1000), 2)} audio s per wall s; timings ${JSON.stringify(s.view.timings)}; chunks ${JSON.stringify(s.view.chunks)}`,
      )
    } finally {
      await p.close()
    }
  }
  results.loadAtEnd = loadavg()[0]
  if (values.json) console.log(JSON.stringify(results))
  else
    log(`load ${round((results.machine as { loadAtStart: number }).loadAtStart, 2)} → ${round(loadavg()[0] ?? 0, 2)}`)
} finally {
  rmSync(work, { recursive: true, force: true })
}
