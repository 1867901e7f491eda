/**
 * Token estimates for the tokens-per-minute limit: what a request reserves before it is sent.
 * Prompt tokens are counted with `gpt-tokenizer` (the o200k_base encoding of current OpenAI
 * models; other providers' tokenizers differ by a few percent, which the reservation absorbs),
 * plus 4 tokens a message for the chat format; the completion is reserved at its `max_tokens`
 * (or `max_completion_tokens`, or the provider's `defaultMaxTokens`) times `n`. After the call
 * the reservation is settled down to the response's `usage.total_tokens`.
 *
 * The tokenizer's tables (a few MB) load on the first estimate, not at start.
 */

type Counter = (text: string) => number
let counter: Promise<Counter> | null = null

function loadCounter(): Promise<Counter> {
  counter ??= import('gpt-tokenizer').then((mod) => (text: string) => mod.countTokens(text))
  return counter
}

const PER_MESSAGE = 4

/**
 * @example
 * await estimateTokens('chat', { messages: [{ role: 'user', content: 'Hi' }], max_tokens: 50 }, 1024) // 57
 */
export async function estimateTokens(
  kind: 'chat' | 'embeddings' | 'gemini',
  body: Record<string, unknown>,
  defaultMaxTokens: number,
): Promise<number> {
  const count = await loadCounter()
  if (kind === 'embeddings') {
    const input = body.input
    const items = Array.isArray(input) ? input : [input]
    let total = 0
    for (const item of items) {
      if (typeof item === 'string') total += count(item)
      else if (Array.isArray(item)) total += item.length
    }
    return Math.max(1, total)
  }
  if (kind === 'gemini') {
    // Gemini's request: `contents[].parts[].text`, `systemInstruction`, `generationConfig`.
    let prompt = 3
    const contents = Array.isArray(body.contents) ? body.contents : [body.contents]
    for (const content of [...contents, body.systemInstruction]) {
      const parts = (content as { parts?: unknown } | undefined)?.parts
      prompt += PER_MESSAGE + count(textOf({ content: Array.isArray(parts) ? parts : [] }))
    }
    const config = (body.generationConfig ?? {}) as { maxOutputTokens?: unknown; candidateCount?: unknown }
    const asked =
      typeof config.maxOutputTokens === 'number' && config.maxOutputTokens > 0 ? config.maxOutputTokens : undefined
    const n =
      typeof config.candidateCount === 'number' && config.candidateCount >= 1 ? Math.floor(config.candidateCount) : 1
    return prompt + (asked ?? defaultMaxTokens) * n
  }
  let prompt = 3
  for (const message of Array.isArray(body.messages) ? body.messages : []) {
    prompt += PER_MESSAGE + count(textOf(message))
  }
  if (body.tools !== undefined) prompt += count(JSON.stringify(body.tools))
  const asked = [body.max_completion_tokens, body.max_tokens].find((v) => typeof v === 'number' && v > 0) as
    | number
    | undefined
  const n = typeof body.n === 'number' && body.n >= 1 ? Math.floor(body.n) : 1
  return prompt + (asked ?? defaultMaxTokens) * n
}

/** The text of a chat message: its string content, or the text parts of a multi-part one. */
function textOf(message: unknown): string {
  if (!message || typeof message !== 'object') return ''
  const { content, name, tool_calls: toolCalls } = message as Record<string, unknown>
  let text = typeof name === 'string' ? name : ''
  if (typeof content === 'string') text += content
  else if (Array.isArray(content)) {
    for (const part of content) {
      if (part && typeof part === 'object' && typeof (part as { text?: unknown }).text === 'string') {
        text += (part as { text: string }).text
      }
    }
  }
  if (toolCalls !== undefined) text += JSON.stringify(toolCalls)
  return text
}
