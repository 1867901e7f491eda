/** A minimal SSE reader for tests: frames as they arrive, with ids and comments. */
export interface Frame {
  id?: number
  event?: string
  data?: unknown
  comment?: string
}

export interface SseConnection {
  status: number
  frames: Frame[]
  /** Resolves once `count` data frames (with ids) have arrived. */
  waitFor(count: number, timeoutMs?: number): Promise<Frame[]>
  waitForComment(text: string, timeoutMs?: number): Promise<void>
  close(): void
  closed: Promise<void>
}

export async function openSse(url: string, headers: Record<string, string>): Promise<SseConnection> {
  const abort = new AbortController()
  const response = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: abort.signal })
  const frames: Frame[] = []
  let notify = () => {}
  const closed = (async () => {
    if (!response.body) return
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader()
    let buffer = ''
    try {
      for (;;) {
        const { value, done } = await reader.read()
        if (done) return
        buffer += value
        let end = buffer.indexOf('\n\n')
        while (end >= 0) {
          const raw = buffer.slice(0, end)
          buffer = buffer.slice(end + 2)
          end = buffer.indexOf('\n\n')
          const frame: Frame = {}
          for (const line of raw.split('\n')) {
            if (line.startsWith(':')) frame.comment = line.slice(1).trim()
            else if (line.startsWith('id: ')) frame.id = Number(line.slice(4))
            else if (line.startsWith('event: ')) frame.event = line.slice(7)
            else if (line.startsWith('data: ')) frame.data = JSON.parse(line.slice(6))
          }
          frames.push(frame)
          notify()
        }
      }
    } catch {
      // aborted
    } finally {
      notify()
    }
  })()
  const until = (check: () => boolean, what: string, timeoutMs: number) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`timed out waiting for ${what}; got ${JSON.stringify(frames).slice(0, 500)}`)),
        timeoutMs,
      )
      const test = () => {
        if (check()) {
          clearTimeout(timer)
          notify = () => {}
          resolve()
        }
      }
      notify = test
      test()
    })
  const dataFrames = () => frames.filter((frame) => frame.data !== undefined)
  return {
    status: response.status,
    frames,
    async waitFor(count, timeoutMs = 10_000) {
      await until(() => dataFrames().length >= count, `${count} events`, timeoutMs)
      return dataFrames()
    },
    async waitForComment(text, timeoutMs = 10_000) {
      await until(() => frames.some((frame) => frame.comment === text), `comment ${text}`, timeoutMs)
    },
    close: () => abort.abort(),
    closed,
  }
}
