/**
 * The AI gateway in `spool start`: serves the configured providers' queues in this process; in
 * the demo with no provider configured, a LOCAL FAKE provider (src/ai/demo.ts) and a trickle of
 * requests, so the quick start shows the gateway working offline without any API key.
 */
import { DEMO_MODEL, DEMO_PROVIDER, startDemoProvider, startDemoTraffic } from '../ai/demo.js'
import { gatewayFor } from '../ai/gateway.js'
import type { Spool } from '../engine/spool.js'
import type { CliConfig } from './config.js'

export async function startGateway(
  spool: Spool,
  config: CliConfig,
  say: (line: string) => void,
): Promise<{ config: CliConfig; close(options: { graceMs: number }): Promise<void> }> {
  const configured = Object.keys(config.providers).length > 0
  const demo = !configured && config.demo ? await startDemoProvider() : null
  const providers = demo ? { [DEMO_PROVIDER]: demo.provider } : config.providers
  if (Object.keys(providers).length === 0) return { config, close: async () => {} }
  const gateway = gatewayFor(spool, { providers, gateway: config.gateway })
  try {
    await gateway.start()
  } catch (error) {
    await demo?.close()
    throw error
  }
  let stopTraffic = () => {}
  if (demo) {
    let reported = false
    stopTraffic = startDemoTraffic(gateway, (error) => {
      if (!reported) say(`ai demo: a request could not be queued: ${(error as Error).message}`)
      reported = true
    })
    say(
      `ai gateway: a LOCAL FAKE provider (made-up answers, no API key) serves model "${DEMO_MODEL}" at /v1/chat/completions; waves of requests queue on "ai.${DEMO_PROVIDER}" (limit 120/min, some 429s and 503s)`,
    )
  } else {
    const models = gateway.models()
    say(
      `ai gateway: ${Object.keys(providers).join(', ')} serving ${models.length} models at /v1/chat/completions, /v1/embeddings`,
    )
  }
  return {
    config: { ...config, providers },
    async close(options) {
      stopTraffic()
      await gateway.close(options)
      await demo?.close()
    },
  }
}
