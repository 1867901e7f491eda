/**
 * `spool models pull` against a mirror on 127.0.0.1 that serves archives and files generated
 * here in sherpa-onnx's release layout (random bytes under the published names: no model weights
 * are fetched or committed). Checks the engines' own detection finds what was unpacked, that a
 * second pull downloads nothing, and that a wrong digest, a truncated body, a 404 and a broken
 * archive fail with a clear message and leave nothing in the models folder.
 */
import { execFile } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { detectSherpaDiarizationModels } from '../../src/audio/engines/diarization/sherpa.js'
import { detectSherpaAsrModel } from '../../src/audio/engines/transcription/sherpa.js'
import { pullModels } from '../../src/audio/model-pull.js'
import { MODEL_SETS, type ModelSet } from '../../src/audio/model-sets.js'
import { main } from '../../src/cli/commands.js'

const run = promisify(execFile)

/** A .tar.bz2 holding `root/` with these files, made by the system tar. */
async function archive(work: string, root: string, files: Record<string, Buffer>): Promise<Buffer> {
  const dir = await mkdtemp(join(work, 'src-'))
  await mkdir(join(dir, root))
  for (const [name, content] of Object.entries(files)) await writeFile(join(dir, root, name), content)
  const out = join(dir, 'out.tar.bz2')
  await run('tar', ['-cjf', out, '-C', dir, root])
  return readFile(out)
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex')

describe('spool models pull against a local mirror', () => {
  let work: string
  let dir: string
  let server: Server
  let base: string
  const served = new Map<string, Buffer>()
  const truncated = new Set<string>()
  const requests: string[] = []
  let whisper: Buffer
  let segmentation: Buffer
  const embedding = randomBytes(4096)

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'spool-models-pull-'))
    whisper = await archive(work, 'sherpa-onnx-whisper-tiny.en', {
      'tiny.en-encoder.onnx': randomBytes(3000),
      'tiny.en-encoder.int8.onnx': randomBytes(2000),
      'tiny.en-decoder.onnx': randomBytes(3000),
      'tiny.en-decoder.int8.onnx': randomBytes(2000),
      'tiny.en-tokens.txt': Buffer.from('a 0\nb 1\n'),
    })
    segmentation = await archive(work, 'sherpa-onnx-pyannote-segmentation-3-0', {
      'model.onnx': randomBytes(5000),
      'model.int8.onnx': randomBytes(1500),
      LICENSE: Buffer.from('test'),
    })
    served.set('/mirror/asr-models/sherpa-onnx-whisper-tiny.en.tar.bz2', whisper)
    served.set('/mirror/asr-models/silero_vad.onnx', randomBytes(1024))
    served.set('/mirror/asr-models/sherpa-onnx-moonshine-tiny-en-int8.tar.bz2', randomBytes(200_000))
    truncated.add('/mirror/asr-models/sherpa-onnx-moonshine-tiny-en-int8.tar.bz2')
    served.set('/mirror/speaker-segmentation-models/sherpa-onnx-pyannote-segmentation-3-0.tar.bz2', segmentation)
    served.set('/mirror/speaker-recongition-models/nemo_en_titanet_small.onnx', embedding)
    served.set('/broken/speaker-segmentation-models/sherpa-onnx-pyannote-segmentation-3-0.tar.bz2', randomBytes(900))
    server = createServer((req, res) => {
      const path = req.url ?? ''
      requests.push(path)
      const body = served.get(path)
      if (!body) {
        res.writeHead(404).end('not found')
        return
      }
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(body.length) })
      if (truncated.has(path)) {
        // Half the body, then the connection drops.
        res.write(body.subarray(0, body.length / 2), () => res.destroy())
        return
      }
      res.end(body)
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mirror`
  })
  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve))
    await rm(work, { recursive: true, force: true })
  })
  beforeEach(async () => {
    dir = await mkdtemp(join(work, 'models-'))
    requests.length = 0
  })

  async function spool(...argv: string[]) {
    const out: string[] = []
    const err: string[] = []
    const code = await main(
      argv,
      { out: (text) => out.push(text), err: (text) => err.push(text) },
      { PATH: process.env.PATH, SPOOL_MODELS_DIR: dir },
    )
    return { code, out: out.join('\n'), err: err.join('\n') }
  }

  it('pulls Whisper into the layout the sherpa engine detects; a second pull downloads nothing', async () => {
    const before = await spool('models', 'ls', '--json')
    expect(before.code).toBe(0)
    expect(JSON.parse(before.out)).toMatchObject({ dir, sets: expect.any(Array) })
    expect(JSON.parse(before.out).sets.every((s: { installed: boolean }) => !s.installed)).toBe(true)

    const first = await spool('models', 'pull', 'whisper-tiny.en', '--url', base)
    expect(first.code, first.err).toBe(0)
    expect(first.out).toContain(`downloading ${base}/asr-models/sherpa-onnx-whisper-tiny.en.tar.bz2`)
    const model = detectSherpaAsrModel(join(dir, 'whisper'))
    expect(model).toMatchObject({
      kind: 'whisper',
      encoder: join(dir, 'whisper', 'tiny.en-encoder.int8.onnx'),
      decoder: join(dir, 'whisper', 'tiny.en-decoder.int8.onnx'),
      tokens: join(dir, 'whisper', 'tiny.en-tokens.txt'),
    })
    expect(await readFile(join(dir, 'whisper', 'tiny.en-tokens.txt'), 'utf8')).toBe('a 0\nb 1\n')
    expect((await readdir(dir)).sort()).toEqual(['whisper'])
    expect(requests).toEqual(['/mirror/asr-models/sherpa-onnx-whisper-tiny.en.tar.bz2'])

    const ls = await spool('models', 'ls', '--json')
    const sets = JSON.parse(ls.out).sets as { name: string; installed: boolean }[]
    expect(sets.filter((s) => s.installed).map((s) => s.name)).toEqual(['whisper-tiny.en'])

    const second = await spool('models', 'pull', 'whisper-tiny.en', '--url', base, '--json')
    expect(second.code, second.err).toBe(0)
    expect(JSON.parse(second.out).files).toMatchObject([{ set: 'whisper-tiny.en', outcome: 'present' }])
    expect(requests).toHaveLength(1)

    const forced = await spool('models', 'pull', 'whisper-tiny.en', '--url', base, '--force', '--json')
    expect(forced.code, forced.err).toBe(0)
    expect(JSON.parse(forced.out).files).toMatchObject([
      { outcome: 'downloaded', bytes: whisper.length, sha256: sha256(whisper) },
    ])
    expect(requests).toHaveLength(2)
    expect(detectSherpaAsrModel(join(dir, 'whisper'))?.kind).toBe('whisper')
  })

  it('refuses a file whose digest is not the published one, keeping nothing', async () => {
    const result = await spool('models', 'pull', 'silero-vad', '--url', base)
    expect(result.code).toBe(1)
    expect(result.err).toMatch(/silero_vad\.onnx: sha256 [0-9a-f]{64} does not match the published 9e2449e1/)
    expect(await readdir(dir)).toEqual([])
  })

  it('refuses a truncated download, a 404 and an unknown set', async () => {
    const cut = await spool('models', 'pull', 'moonshine-tiny-en', '--url', base)
    expect(cut.code).toBe(1)
    expect(cut.err).toMatch(/moonshine-tiny-en-int8\.tar\.bz2: (the download broke off|got \d+ bytes of the 200000)/)
    expect(await readdir(dir)).toEqual([])

    const missing = await spool('models', 'pull', 'whisper-tiny.en', '--url', `${base}/nowhere`)
    expect(missing.code).toBe(1)
    expect(missing.err).toContain('answered 404')
    expect(await readdir(dir)).toEqual([])

    const unknown = await spool('models', 'pull', 'whisper-huge', '--url', base)
    expect(unknown.code).toBe(2)
    expect(unknown.err).toContain('unknown model set "whisper-huge"; known: silero-vad, whisper-tiny.en')
    expect((await spool('models', 'pull')).code).toBe(2)
  })

  it('assembles the diarization set (archive + file) as the sherpa diarizer reads it, checking digests', async () => {
    // The catalogue's entries with the digests and sizes of the generated files.
    const real = MODEL_SETS.find((set) => set.name === 'speaker-diarization') as ModelSet
    const sets: ModelSet[] = [
      {
        ...real,
        downloads: real.downloads.map((d) => {
          const body = d.archiveRoot ? segmentation : embedding
          return { ...d, bytes: body.length, sha256: sha256(body) }
        }),
      },
    ]
    const lines: string[] = []
    const files = await pullModels(['speaker-diarization'], { dir, baseUrl: base, sets, onLine: (l) => lines.push(l) })
    expect(files.map((f) => f.outcome)).toEqual(['downloaded', 'downloaded'])
    expect(detectSherpaDiarizationModels(join(dir, 'speaker-diarization'))).toEqual({
      segmentation: join(dir, 'speaker-diarization', 'sherpa-onnx-pyannote-segmentation-3-0', 'model.int8.onnx'),
      embedding: join(dir, 'speaker-diarization', 'nemo_en_titanet_small.onnx'),
    })
    expect(real.installed(dir)).toBe(true)
    expect(lines.at(-1)).toMatch(/nemo_en_titanet_small\.onnx \(4096 bytes, sha256 [0-9a-f]{12}…\)/)

    // Not bzip2 at all: tar's complaint, nothing unpacked.
    const other = await mkdtemp(join(work, 'models-'))
    await expect(
      pullModels(['speaker-diarization'], {
        dir: other,
        baseUrl: base.replace('/mirror', '/broken'),
        sets: [{ ...real, downloads: [{ ...(real.downloads[0] as ModelSet['downloads'][0]) }] }],
      }),
    ).rejects.toThrow(/cannot unpack/)
    expect(await readdir(other)).toEqual([])
  })
})
