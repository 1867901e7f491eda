/**
 * How fast each stage runs here, learned from finished sessions, for the ETA: wall ms per
 * second of audio plus a fixed cost, per stage and engine (`transcription:pocketsphinx`,
 * `diarization:baseline`, `notes:openai`, …). Each saved session moves the figure a third of
 * the way towards what it measured (an exponential moving average), so the ETA follows a
 * machine that is busier or an upstream that got slower without jumping on one outlier.
 *
 * The figures are records (collection `audio.speed`), shared by every node; reads are cached
 * for 30 s. Until a stage has been measured, the defaults below (measured on the 2-core
 * development machine, docs/audio.md) stand in.
 */
import type { Spool } from '../../engine/spool.js'

export const SPEED = 'audio.speed'
const TENANT = 'default'
const CACHE_MS = 30_000
const ALPHA = 1 / 3

export interface Speed {
  /** Wall ms per second of audio. */
  perSecMs: number
  /** Wall ms whatever the length. */
  fixedMs: number
  samples: number
}

const DEFAULTS: Record<string, Omit<Speed, 'samples'>> = {
  validate: { perSecMs: 3, fixedMs: 150 },
  preprocess: { perSecMs: 12, fixedMs: 250 },
  'transcription:pocketsphinx': { perSecMs: 600, fixedMs: 400 },
  'transcription:sherpa': { perSecMs: 150, fixedMs: 1_000 },
  'transcription:openai': { perSecMs: 60, fixedMs: 500 },
  'chunk:pocketsphinx': { perSecMs: 850, fixedMs: 150 },
  'chunk:sherpa': { perSecMs: 300, fixedMs: 200 },
  'chunk:openai': { perSecMs: 30, fixedMs: 300 },
  'diarization:baseline': { perSecMs: 25, fixedMs: 150 },
  'diarization:sherpa': { perSecMs: 100, fixedMs: 1_000 },
  'diarization:none': { perSecMs: 0, fixedMs: 20 },
  merge: { perSecMs: 0.2, fixedMs: 40 },
  'notes:extractive': { perSecMs: 0.5, fixedMs: 60 },
  'notes:openai': { perSecMs: 2, fixedMs: 5_000 },
  save: { perSecMs: 0.3, fixedMs: 60 },
}

const FALLBACK: Omit<Speed, 'samples'> = { perSecMs: 100, fixedMs: 500 }

export class SpeedModel {
  private cache: { at: number; speeds: Map<string, Speed> } | null = null

  constructor(private readonly spool: Spool) {}

  /** Expected wall ms of `key` on `durationSec` of audio. */
  async expectMs(key: string, durationSec: number): Promise<number> {
    const speed = (await this.all()).get(key) ?? { ...(DEFAULTS[key] ?? FALLBACK), samples: 0 }
    return speed.fixedMs + speed.perSecMs * durationSec
  }

  /** Every learned figure (defaults for the rest are not listed). */
  async all(): Promise<Map<string, Speed>> {
    const now = Date.now()
    if (this.cache && now - this.cache.at < CACHE_MS) return this.cache.speeds
    const rows = await this.spool.records.list<Speed>(SPEED, { tenant: TENANT, limit: 1000 })
    const speeds = new Map(rows.map((row) => [row.id, row.data]))
    this.cache = { at: now, speeds }
    return speeds
  }

  /**
   * Learns from one measurement: `wallMs` for `durationSec` of audio. The fixed cost keeps its
   * default; the per-second figure moves towards the measurement.
   *
   * @example
   * await speed.observe('transcription:pocketsphinx', 11.0, 4_800)
   */
  async observe(key: string, durationSec: number, wallMs: number): Promise<void> {
    if (!(durationSec > 0) || !(wallMs >= 0)) return
    const current = (await this.spool.records.get<Speed>(SPEED, key))?.data ?? {
      ...(DEFAULTS[key] ?? FALLBACK),
      samples: 0,
    }
    const measured = Math.max(0, wallMs - current.fixedMs) / durationSec
    const perSecMs = current.samples === 0 ? measured : current.perSecMs + ALPHA * (measured - current.perSecMs)
    const next: Speed = {
      perSecMs: Math.round(perSecMs * 1000) / 1000,
      fixedMs: current.fixedMs,
      samples: current.samples + 1,
    }
    await this.spool.records.put(SPEED, { id: key, tenant: TENANT, data: next })
    this.cache?.speeds.set(key, next)
  }
}
