/**
 * The fake OpenAI-compatible upstream (test/helpers/fake-openai.ts) in a process of its own, for
 * bench/audio.ts's fan-out scenario: a hosted API does its multipart parsing and waiting on other
 * machines, not on the event loop of the Spool process that calls it. Forked with an IPC channel:
 * the options come as the first message, the URL goes back as `{ url }`, and `stats` is answered
 * with `{ requests, peak }`; `close` ends the process.
 *
 *   const upstream = await startUpstreamProcess({ maxConcurrent: 16, latency: { … } })
 *   …
 *   const { requests, peak } = await upstream.stats()
 *   await upstream.close()
 */
import { type ChildProcess, fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { type FakeOpenAIOptions, type RequestRecord, startFakeOpenAI } from '../test/helpers/fake-openai.js'

type Message = { type: 'start'; options: FakeOpenAIOptions } | { type: 'stats' } | { type: 'close' }
type Reply = { type: 'started'; url: string } | { type: 'stats'; requests: RequestRecord[]; peak: number }

export interface UpstreamProcess {
  url: string
  stats(): Promise<{ requests: RequestRecord[]; peak: number }>
  close(): Promise<void>
}

/** Forks this file as the upstream and resolves once it listens. */
export async function startUpstreamProcess(options: FakeOpenAIOptions): Promise<UpstreamProcess> {
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), [], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  const next = <T extends Reply['type']>(type: T) =>
    new Promise<Extract<Reply, { type: T }>>((resolve, reject) => {
      const onMessage = (message: Reply) => {
        if (message.type !== type) return
        child.off('message', onMessage)
        child.off('exit', onExit)
        resolve(message as Extract<Reply, { type: T }>)
      }
      const onExit = (code: number | null) => reject(new Error(`the upstream process exited (${code})`))
      child.on('message', onMessage)
      child.once('exit', onExit)
    })
  const started = next('started')
  child.send({ type: 'start', options } satisfies Message)
  const { url } = await started
  return {
    url,
    async stats() {
      const answer = next('stats')
      child.send({ type: 'stats' } satisfies Message)
      const { requests, peak } = await answer
      return { requests, peak }
    },
    async close() {
      if (child.exitCode !== null) return
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.send({ type: 'close' } satisfies Message)
      await exited
    },
  }
}

// Run as the forked child: serve until told to close.
if (process.argv[1] === fileURLToPath(import.meta.url) && process.send) {
  let fake: Awaited<ReturnType<typeof startFakeOpenAI>> | undefined
  process.on('message', async (message: Message) => {
    if (message.type === 'start') {
      fake = await startFakeOpenAI(message.options)
      process.send?.({ type: 'started', url: fake.url } satisfies Reply)
    } else if (message.type === 'stats' && fake) {
      process.send?.({ type: 'stats', requests: fake.requests, peak: fake.peakConcurrent() } satisfies Reply)
    } else if (message.type === 'close') {
      await fake?.close()
      process.disconnect()
    }
  })
}
