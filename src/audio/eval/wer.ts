/**
 * Word error rate: (substitutions + deletions + insertions) / reference words, after the usual
 * normalisation (lower case, punctuation removed, apostrophes inside words kept). The alignment
 * is returned too, so callers can score what happened to each reference word (e.g. whether it
 * was attributed to the right speaker).
 */

export interface AlignmentStep {
  op: 'match' | 'substitution' | 'deletion' | 'insertion'
  /** Index into the normalised reference words (absent for an insertion). */
  ref?: number
  /** Index into the normalised hypothesis words (absent for a deletion). */
  hyp?: number
}

export interface WerResult {
  wer: number
  substitutions: number
  deletions: number
  insertions: number
  referenceWords: number
  alignment: AlignmentStep[]
}

/**
 * Lower case, punctuation removed, split on whitespace.
 *
 * @example
 * normaliseWords("And so, my fellow Americans: ask not…") // ['and', 'so', 'my', 'fellow', 'americans', 'ask', 'not']
 */
export function normaliseWords(text: string): string[] {
  return text
    .toLowerCase()
    .replace(/[’`]/g, "'")
    .replace(/[^\p{L}\p{N}'\s-]/gu, ' ')
    .replace(/(^|\s)['-]+|['-]+(?=\s|$)/g, ' ')
    .replace(/-/g, ' ')
    .split(/\s+/)
    .filter((w) => w !== '')
}

/**
 * @example
 * wordErrorRate('ask not what your country can do', 'ask what your country can do').wer // 1/7
 */
export function wordErrorRate(
  reference: string | readonly string[],
  hypothesis: string | readonly string[],
): WerResult {
  const ref = typeof reference === 'string' ? normaliseWords(reference) : reference.flatMap(normaliseWords)
  const hyp = typeof hypothesis === 'string' ? normaliseWords(hypothesis) : hypothesis.flatMap(normaliseWords)
  const rows = ref.length + 1
  const cols = hyp.length + 1
  const cost = new Uint32Array(rows * cols)
  for (let i = 0; i < rows; i++) cost[i * cols] = i
  for (let j = 0; j < cols; j++) cost[j] = j
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const same = ref[i - 1] === hyp[j - 1]
      cost[i * cols + j] = Math.min(
        (cost[(i - 1) * cols + (j - 1)] as number) + (same ? 0 : 1),
        (cost[(i - 1) * cols + j] as number) + 1,
        (cost[i * cols + (j - 1)] as number) + 1,
      )
    }
  }
  const alignment: AlignmentStep[] = []
  let i = ref.length
  let j = hyp.length
  while (i > 0 || j > 0) {
    const here = cost[i * cols + j] as number
    if (i > 0 && j > 0 && here === (cost[(i - 1) * cols + (j - 1)] as number) + (ref[i - 1] === hyp[j - 1] ? 0 : 1)) {
      alignment.push({ op: ref[i - 1] === hyp[j - 1] ? 'match' : 'substitution', ref: i - 1, hyp: j - 1 })
      i--
      j--
    } else if (i > 0 && here === (cost[(i - 1) * cols + j] as number) + 1) {
      alignment.push({ op: 'deletion', ref: i - 1 })
      i--
    } else {
      alignment.push({ op: 'insertion', hyp: j - 1 })
      j--
    }
  }
  alignment.reverse()
  const count = (op: AlignmentStep['op']) => alignment.filter((s) => s.op === op).length
  const substitutions = count('substitution')
  const deletions = count('deletion')
  const insertions = count('insertion')
  return {
    wer: ref.length === 0 ? (hyp.length === 0 ? 0 : 1) : (substitutions + deletions + insertions) / ref.length,
    substitutions,
    deletions,
    insertions,
    referenceWords: ref.length,
    alignment,
  }
}
