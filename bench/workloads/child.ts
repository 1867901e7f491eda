/**
 * The body of a measurement process: `node --import tsx bench/workloads/<script>.ts <workload>
 * '<ChildOptions JSON>'` warms up, runs one workload and prints its result as one JSON line.
 */
import { SCENARIOS, warmUp } from './scenarios.js'
import { ALL_WORKLOADS, type ChildOptions, type Driver, SERVER_PROCESS, SYSTEMS, type Workload } from './types.js'

export function parseChildArgs(argv: string[]): { workload: Workload; options: ChildOptions } {
  const [workload, json] = argv
  if (!ALL_WORKLOADS.includes(workload as Workload) || json === undefined) {
    throw new Error(`usage: <workload> '<options JSON>'; workloads: ${ALL_WORKLOADS.join(', ')}`)
  }
  return { workload: workload as Workload, options: JSON.parse(json) as ChildOptions }
}

/** Runs one measurement and exits: 0 with the result on stdout, 1 with the error on stderr. */
export function runChild(open: (options: ChildOptions) => Promise<Driver>): void {
  const main = async () => {
    const { workload, options } = parseChildArgs(process.argv.slice(2))
    const driver = await open(options)
    try {
      await warmUp(driver)
      const serverProcess = SERVER_PROCESS[SYSTEMS[options.system].store]
      const database = options.pgUrl && serverProcess === 'postgres' ? new URL(options.pgUrl).pathname.slice(1) : ''
      const result = await SCENARIOS[workload](driver, options.sizes, {
        serverProcess,
        ...(database && { database: decodeURIComponent(database) }),
      })
      process.stdout.write(`${JSON.stringify(result)}\n`)
    } finally {
      await driver.close()
    }
  }
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
      process.exit(1)
    },
  )
}
