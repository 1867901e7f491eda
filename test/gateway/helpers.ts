/** A test server with the AI gateway serving its providers in the same process, as `spool start` runs them. */
import { type Gateway, gatewayFor } from '../../src/ai/gateway.js'
import { startServer, type TestServer, type TestServerOptions } from '../server/helpers.js'

/**
 * Starts a server with `options` (its `config.providers` and `config.gateway`), then the gateway
 * on the server's own settings; `env` stands in for the process environment holding the keys.
 *
 * @example
 * ;({ t, gateway } = await startGatewayServer({ config: { providers } }, { FAKE_UPSTREAM_KEY: 'sk-test' }))
 */
export async function startGatewayServer(
  options: TestServerOptions,
  env?: Record<string, string>,
): Promise<{ t: TestServer; gateway: Gateway }> {
  const t = await startServer(options)
  const gateway = gatewayFor(t.spool, {
    providers: t.server.config.providers,
    gateway: t.server.config.gateway,
    ...(env && { env }),
  })
  await gateway.start()
  return { t, gateway }
}
