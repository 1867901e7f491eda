import { describe, expect, it } from 'vitest'
import { clusterEmbeddings, type Embedding } from './cluster.js'

/** Deterministic pseudo-random numbers (mulberry32). */
function random(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/**
 * Windows from `centres` (one voice each), taking turns three windows at a time. Window means
 * scatter by ±`spread` around the voice; frames within a window vary by `2 × spread` (as with
 * real MFCCs, frames vary much more than window means).
 */
function voices(
  centres: number[][],
  perVoice: number,
  spread: number,
  seed = 1,
): { embeddings: Embedding[]; truth: number[] } {
  const next = random(seed)
  const embeddings: Embedding[] = []
  const truth: number[] = []
  for (let i = 0; i < perVoice * centres.length; i++) {
    const voice = Math.floor(i / 3) % centres.length
    const centre = centres[voice] as number[]
    embeddings.push({
      start: i * 0.75,
      end: i * 0.75 + 1.5,
      vector: centre.map((c) => c + (next() - 0.5) * 2 * spread),
      spread: centre.map(() => 2 * spread),
      frames: 150,
    })
    truth.push(voice)
  }
  return { embeddings, truth }
}

const centre = (seed: number) => {
  const next = random(seed)
  return Array.from({ length: 19 }, () => (next() - 0.5) * 20)
}

describe('clusterEmbeddings', () => {
  it('separates voices when the count is given, labels numbered by first appearance', () => {
    const { embeddings, truth } = voices([centre(1), centre(2), centre(3)], 20, 1.5)
    const result = clusterEmbeddings(embeddings, { numSpeakers: 3 })
    expect(result.numSpeakers).toBe(3)
    expect(result.labels).toEqual(truth)
  })

  it('estimates the count from the frame statistics', () => {
    const two = voices([centre(4), centre(5)], 30, 1.5)
    expect(clusterEmbeddings(two.embeddings).labels).toEqual(two.truth)
    const one = voices([centre(6)], 40, 1.5)
    expect(clusterEmbeddings(one.embeddings).numSpeakers).toBe(1)
  })

  it('falls back to the silhouette without statistics, and reduces large inputs first', () => {
    const { embeddings, truth } = voices([centre(7), centre(8)], 400, 1.5)
    const bare = embeddings.map(({ start, end, vector }) => ({ start, end, vector }))
    const result = clusterEmbeddings(bare, { maxItems: 100 })
    expect(result.numSpeakers).toBe(2)
    expect(result.silhouette).toBeGreaterThan(0.3)
    expect(result.labels).toEqual(truth)
  })

  it('handles the trivial cases', () => {
    expect(clusterEmbeddings([])).toEqual({ labels: [], numSpeakers: 0, silhouette: undefined })
    const { embeddings } = voices([centre(9), centre(10)], 5, 1)
    expect(clusterEmbeddings(embeddings, { numSpeakers: 1 }).labels.every((l) => l === 0)).toBe(true)
    expect(clusterEmbeddings(embeddings, { maxSpeakers: 1 }).numSpeakers).toBe(1)
  })
})
