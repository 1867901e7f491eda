import { describe, expect, it } from 'vitest'
import { ClaimOrder } from './claim-order.js'

/** A promise settled from outside, and a log of what happened in which order. */
function deferred<T>() {
  let resolve: (value: T) => void = () => {}
  const promise = new Promise<T>((r) => {
    resolve = r
  })
  return { promise, resolve }
}
const tick = () => new Promise((resolve) => setImmediate(resolve))
const claimed = (priorities: number[]) => ({ priorities })
const of = (result: { priorities: number[] }) => result.priorities

describe('ClaimOrder', () => {
  it('holds an enqueue that outranks the last claim until the claims in flight return, and later claims until it ends', async () => {
    const order = new ClaimOrder()
    const log: string[] = []
    // A first claim returns low jobs (priority 10): the queue is known to hold them.
    await order.claim('q', async () => claimed([10, 10]), of)

    const inFlight = deferred<{ priorities: number[] }>()
    const first = order.claim('q', () => inFlight.promise, of).then(() => log.push('claim 1 returned'))
    const insert = deferred<string>()
    let insertStarted = false
    const urgent = order
      .insert(new Map([['q', 1]]), () => {
        insertStarted = true
        log.push('insert sent')
        return insert.promise
      })
      .then(() => log.push('insert returned'))
    await tick()
    expect(insertStarted).toBe(false) // waits for the claim in flight

    let secondSent = false
    const second = order
      .claim(
        'q',
        async () => {
          secondSent = true
          log.push('claim 2 sent')
          return claimed([1])
        },
        of,
      )
      .then(() => log.push('claim 2 returned'))
    await tick()
    expect(secondSent).toBe(false)

    inFlight.resolve(claimed([10]))
    await tick()
    expect(insertStarted).toBe(true)
    expect(secondSent).toBe(false) // held back while the urgent enqueue runs
    insert.resolve('ok')
    await Promise.all([first, urgent, second])
    expect(log).toEqual(['claim 1 returned', 'insert sent', 'insert returned', 'claim 2 sent', 'claim 2 returned'])
  })

  it('holds claims sent while an urgent enqueue runs, though none was in flight when it began', async () => {
    const order = new ClaimOrder()
    await order.claim('q', async () => claimed([10]), of)
    const insert = deferred<void>()
    const urgent = order.insert(new Map([['q', 1]]), () => insert.promise)
    let sent = false
    const claim = order.claim(
      'q',
      async () => {
        sent = true
        return claimed([1])
      },
      of,
    )
    await tick()
    expect(sent).toBe(false)
    insert.resolve()
    await Promise.all([urgent, claim])
    expect(sent).toBe(true)
  })

  it('lets enqueues no more urgent than what is claimed run beside claims', async () => {
    const order = new ClaimOrder()
    await order.claim('q', async () => claimed([5]), of)
    const inFlight = deferred<{ priorities: number[] }>()
    const claim = order.claim('q', () => inFlight.promise, of)
    let ran = false
    await order.insert(new Map([['q', 5]]), async () => {
      ran = true
    })
    expect(ran).toBe(true)
    // Another queue's claims never hold an enqueue back.
    await order.insert(new Map([['other', 0]]), async () => {})
    inFlight.resolve(claimed([5]))
    await claim
  })

  it('holds nothing back before a claim of the queue returned jobs', async () => {
    const order = new ClaimOrder()
    const inFlight = deferred<{ priorities: number[] }>()
    const claim = order.claim('q', () => inFlight.promise, of)
    let ran = false
    await order.insert(new Map([['q', 1]]), async () => {
      ran = true
    })
    expect(ran).toBe(true)
    inFlight.resolve(claimed([]))
    await claim
  })

  it('does not hold later claims back after an urgent enqueue failed', async () => {
    const order = new ClaimOrder()
    await order.claim('q', async () => claimed([10]), of)
    const inFlight = deferred<{ priorities: number[] }>()
    const claim = order.claim('q', () => inFlight.promise, of)
    const insert = order.insert(new Map([['q', 1]]), async () => {
      throw new Error('refused')
    })
    inFlight.resolve(claimed([10]))
    await claim
    await expect(insert).rejects.toThrow('refused')
    await expect(order.claim('q', async () => claimed([1]), of)).resolves.toEqual(claimed([1]))
  })
})
