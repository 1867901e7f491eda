/**
 * Compile-time checks that `spool/client` agrees with the committed OpenAPI document: for every
 * client method, what the server documents as its answer fits what the client declares it returns
 * (so the client never promises a field the server does not send), and what the client sends fits
 * the request body and query the server documents. `npm run typecheck` checks this file; nothing
 * runs it. The types come from src/client/openapi.gen.ts (`npm run openapi:types`), which
 * test/server/client.test.ts keeps in step with docs/openapi.json.
 *
 * `Coverage` lists every method of the client: a new method fails the typecheck until it is
 * checked here.
 */
import type { SpoolClient } from '../../src/client/index.js'
import type { components, operations } from '../../src/client/openapi.gen.js'
import type * as Client from '../../src/client/types.js'

type C = SpoolClient
type Op = keyof operations
type Schemas = components['schemas']

declare const checked: unique symbol
/** What a passing check answers; a failing one does not compile. */
type Checked = typeof checked

type Fn = (...args: never) => unknown
type Returned<F> = F extends (...args: never) => infer R ? Awaited<R> : never
type Param<F, I extends number> = F extends (...args: infer A) => unknown ? NonNullable<A[I]> : never
type Success<R> = R[Extract<keyof R, 200 | 201 | 202>]
type Json<T> = T extends { content: { 'application/json': infer B } } ? B : never
/** The JSON body of an operation's success answer, as the server documents it. */
type Answer<O extends Op> = Json<Success<operations[O]['responses']>>
type RequestBody<O extends Op> = Json<NonNullable<operations[O]['requestBody']>>
type Query<O extends Op> = NonNullable<operations[O]['parameters']['query']>

/** The server's answer, to pass to `fits` (nothing calls these: the file is only type-checked). */
declare function answer<O extends Op>(): Answer<O>
/** Checks that `value` (the server's) fits `Declared` (the client's). */
declare function fits<Declared>(value: Declared): Checked
/** Checks that a body the client sends is one the server accepts (object literals: no unknown fields). */
declare function sends<O extends Op>(body: RequestBody<O>): Checked
/** A query value as the client writes it on the wire: numbers and booleans as text. */
type Wire<V> = V extends number | boolean ? `${V}` : V
/** `Checked` when the server takes every name of the client's query `Q` and every value as sent; else why not. */
type QueryCheck<O extends Op, Q> = [Exclude<keyof Q, keyof Query<O>>] extends [never]
  ? [{ [K in keyof Q]: Wire<Q[K]> }] extends [Query<O>]
    ? Checked
    : { error: 'the server does not take a value the client sends'; sends: { [K in keyof Q]: Wire<Q[K]> } }
  : { error: 'the server does not take a name the client sends'; names: Exclude<keyof Q, keyof Query<O>> }
/** Checks that a query the client sends (`Q`, its type) is one the server accepts. */
declare function queries<O extends Op, Q>(): QueryCheck<O, Q>
/** Checks that the operation answers 204 and the client expects nothing. */
declare function empty<O extends Op, F extends Fn>(
  ...ok: 204 extends keyof operations[O]['responses']
    ? F extends (...args: never) => Promise<void>
      ? []
      : [never]
    : [never]
): Checked
/** Checks that the operation answers a stream (server-sent events), which the client subscribes to. */
declare function streams<O extends Op>(
  ...ok: Success<operations[O]['responses']> extends { content: { 'text/event-stream': unknown } } ? [] : [never]
): Checked
/** Checks that the operation exists. */
declare function route<O extends Op>(): Checked
/** A value of type `T`. */
declare function some<T>(): T
/** A value of the type of the client method's `I`th argument (without `undefined`). */
declare function arg<F extends Fn, I extends number>(): Param<F, I>

type Checks = readonly [Checked, ...Checked[]]
type Coverage = { [N in keyof C]: C[N] extends Fn ? Checks : { [M in keyof C[N]]: Checks } }

export const coverage: Coverage = {
  queues: {
    list: [fits<Returned<C['queues']['list']>>(answer<'queues.list'>().queues)],
    get: [fits<Returned<C['queues']['get']>>(answer<'queues.get'>())],
    configure: [
      fits<Returned<C['queues']['configure']>>(answer<'queues.configure'>()),
      sends<'queues.configure'>(arg<C['queues']['configure'], 1>()),
    ],
    pause: [fits<Returned<C['queues']['pause']>>(answer<'queues.pause'>())],
    resume: [fits<Returned<C['queues']['resume']>>(answer<'queues.resume'>())],
    stats: [fits<Returned<C['queues']['stats']>>(answer<'queues.stats'>())],
    limits: [fits<Returned<C['queues']['limits']>>(answer<'queues.limits'>())],
    resetLimits: [fits<Returned<C['queues']['resetLimits']>>(answer<'queues.limitsReset'>())],
    cleanup: [
      fits<Returned<C['queues']['cleanup']>>(answer<'queues.cleanup'>()),
      sends<'queues.cleanup'>(arg<C['queues']['cleanup'], 1>()),
    ],
    retryFailed: [
      fits<Returned<C['queues']['retryFailed']>>(answer<'queues.retryFailed'>()),
      sends<'queues.retryFailed'>(arg<C['queues']['retryFailed'], 1>()),
    ],
  },
  jobs: {
    create: [
      fits<Returned<C['jobs']['create']>>(answer<'jobs.create'>()),
      sends<'jobs.create'>({ payload: arg<C['jobs']['create'], 1>(), options: arg<C['jobs']['create'], 2>() }),
    ],
    createMany: [
      fits<Returned<C['jobs']['createMany']>>(answer<'jobs.createMany'>().jobs),
      sends<'jobs.createMany'>({ jobs: arg<C['jobs']['createMany'], 1>() }),
    ],
    get: [fits<Returned<C['jobs']['get']>>(answer<'jobs.get'>())],
    status: [fits<Returned<C['jobs']['status']>>(answer<'jobs.status'>())],
    position: [fits<Returned<C['jobs']['position']>>(answer<'jobs.position'>())],
    history: [
      fits<Returned<C['jobs']['history']>>(answer<'jobs.history'>().events),
      queries<'jobs.history', Param<C['jobs']['history'], 1>>(),
    ],
    list: [
      fits<Returned<C['jobs']['list']>>(answer<'jobs.list'>()),
      queries<'jobs.list', Param<C['jobs']['list'], 0>>(),
    ],
    counts: [
      fits<Returned<C['jobs']['counts']>>(answer<'jobs.counts'>()),
      queries<'jobs.counts', Param<C['jobs']['counts'], 0>>(),
    ],
    exportUrl: [
      queries<'jobs.export', { format: Param<C['jobs']['exportUrl'], 0> } & Param<C['jobs']['exportUrl'], 1>>(),
    ],
    export: [queries<'jobs.export', { format: Param<C['jobs']['export'], 0> } & Param<C['jobs']['export'], 1>>()],
    setPriority: [
      fits<Returned<C['jobs']['setPriority']>>(answer<'jobs.reprioritize'>()),
      sends<'jobs.reprioritize'>({ priority: arg<C['jobs']['setPriority'], 1>() }),
    ],
    retry: [fits<Returned<C['jobs']['retry']>>(answer<'jobs.retry'>())],
    cancel: [fits<Returned<C['jobs']['cancel']>>(answer<'jobs.cancel'>())],
    promote: [fits<Returned<C['jobs']['promote']>>(answer<'jobs.promote'>())],
    remove: [empty<'jobs.remove', C['jobs']['remove']>()],
    errors: [fits<Returned<C['jobs']['errors']>>(answer<'jobs.errors'>().errors)],
    children: [fits<Returned<C['jobs']['children']>>(answer<'jobs.children'>().children)],
    parents: [fits<Returned<C['jobs']['parents']>>(answer<'jobs.parents'>().parents)],
    bulk: [
      fits<Returned<C['jobs']['bulk']>>(answer<'jobs.bulk'>()),
      sends<'jobs.bulk'>({
        action: arg<C['jobs']['bulk'], 0>(),
        ...arg<C['jobs']['bulk'], 1>(),
        ...arg<C['jobs']['bulk'], 2>(),
      }),
    ],
  },
  flows: {
    create: [
      fits<Returned<C['flows']['create']>>(answer<'flows.create'>()),
      sends<'flows.create'>(arg<C['flows']['create'], 0>()),
    ],
  },
  events: {
    subscribe: [streams<'events.stream'>(), queries<'events.stream', Param<C['events']['subscribe'], 0>>()],
  },
  workers: {
    list: [fits<Returned<C['workers']['list']>>(answer<'workers.list'>().workers)],
    claim: [
      fits<Returned<C['workers']['claim']>>(answer<'leases.claim'>().jobs),
      sends<'leases.claim'>(arg<C['workers']['claim'], 1>()),
    ],
    heartbeat: [
      fits<Returned<C['workers']['heartbeat']>>(answer<'leases.heartbeat'>()),
      sends<'leases.heartbeat'>({ leaseToken: arg<C['workers']['heartbeat'], 1>() }),
    ],
    progress: [
      fits<Returned<C['workers']['progress']>>(answer<'leases.progress'>()),
      sends<'leases.progress'>({
        leaseToken: arg<C['workers']['progress'], 1>(),
        percent: arg<C['workers']['progress'], 2>(),
        stage: arg<C['workers']['progress'], 3>(),
      }),
    ],
    log: [
      fits<Returned<C['workers']['log']>>(answer<'leases.log'>()),
      sends<'leases.log'>({
        leaseToken: arg<C['workers']['log'], 1>(),
        level: arg<C['workers']['log'], 3>(),
        message: arg<C['workers']['log'], 2>(),
      }),
    ],
    complete: [
      fits<Returned<C['workers']['complete']>>(answer<'leases.complete'>()),
      sends<'leases.complete'>({
        leaseToken: arg<C['workers']['complete'], 1>(),
        result: arg<C['workers']['complete'], 2>(),
      }),
    ],
    fail: [
      fits<Returned<C['workers']['fail']>>(answer<'leases.fail'>()),
      sends<'leases.fail'>({ leaseToken: arg<C['workers']['fail'], 1>(), ...arg<C['workers']['fail'], 2>() }),
    ],
  },
  schedules: {
    list: [fits<Returned<C['schedules']['list']>>(answer<'schedules.list'>().schedules)],
    get: [fits<Returned<C['schedules']['get']>>(answer<'schedules.get'>())],
    preview: [
      fits<Returned<C['schedules']['preview']>>(answer<'schedules.preview'>()),
      queries<'schedules.preview', { count: Param<C['schedules']['preview'], 1> }>(),
    ],
    upsert: [
      fits<Returned<C['schedules']['upsert']>>(answer<'schedules.upsert'>()),
      sends<'schedules.upsert'>(arg<C['schedules']['upsert'], 1>()),
    ],
    pause: [fits<Returned<C['schedules']['pause']>>(answer<'schedules.pause'>())],
    resume: [fits<Returned<C['schedules']['resume']>>(answer<'schedules.resume'>())],
    run: [fits<Returned<C['schedules']['run']>>(answer<'schedules.run'>())],
    remove: [empty<'schedules.delete', C['schedules']['remove']>()],
  },
  workflows: {
    list: [fits<Returned<C['workflows']['list']>>(answer<'workflows.list'>().workflows)],
    get: [fits<Returned<C['workflows']['get']>>(answer<'workflows.get'>())],
    define: [
      fits<Returned<C['workflows']['define']>>(answer<'workflows.define'>()),
      sends<'workflows.define'>(arg<C['workflows']['define'], 1>()),
    ],
    remove: [empty<'workflows.delete', C['workflows']['remove']>()],
    start: [
      fits<Returned<C['workflows']['start']>>(answer<'workflows.start'>()),
      sends<'workflows.start'>({ params: some<unknown>(), ...arg<C['workflows']['start'], 2>() }),
    ],
    runs: [
      fits<Returned<C['workflows']['runs']>>(answer<'workflows.runs'>()),
      queries<'workflows.runs', Param<C['workflows']['runs'], 1>>(),
    ],
    run: [fits<Returned<C['workflows']['run']>>(answer<'workflows.run'>())],
    cancel: [fits<Returned<C['workflows']['cancel']>>(answer<'workflows.cancel'>())],
    retry: [fits<Returned<C['workflows']['retry']>>(answer<'workflows.retry'>())],
  },
  breakers: {
    list: [fits<Returned<C['breakers']['list']>>(answer<'breakers.list'>().breakers)],
    open: [fits<Returned<C['breakers']['open']>>(answer<'breakers.open'>())],
    close: [fits<Returned<C['breakers']['close']>>(answer<'breakers.close'>())],
    reset: [fits<Returned<C['breakers']['reset']>>(answer<'breakers.reset'>())],
    history: [
      fits<Returned<C['breakers']['history']>>(answer<'breakers.history'>().changes),
      queries<'breakers.history', Param<C['breakers']['history'], 1>>(),
    ],
  },
  sessions: {
    // A 404 from the list (no sessions API on this server) is its answer; the body is not read.
    available: [queries<'sessions.list', { limit: 1 }>()],
    list: [
      fits<Returned<C['sessions']['list']>>(answer<'sessions.list'>()),
      queries<'sessions.list', Param<C['sessions']['list'], 0>>(),
    ],
    get: [fits<Returned<C['sessions']['get']>>(answer<'sessions.get'>())],
    transcript: [
      fits<Returned<C['sessions']['transcript']>>(answer<'sessions.transcript'>()),
      queries<'sessions.transcript', { format: Param<C['sessions']['transcript'], 1> }>(),
    ],
    // `url` and `download` address a file of the session: its audio or a transcript format.
    url: [route<'sessions.audio'>(), queries<'sessions.transcript', { format: 'txt' }>()],
    download: [route<'sessions.audio'>(), queries<'sessions.transcript', { format: 'srt' }>()],
    setPriority: [
      fits<Returned<C['sessions']['setPriority']>>(answer<'sessions.update'>()),
      sends<'sessions.update'>({ priority: arg<C['sessions']['setPriority'], 1>() }),
    ],
    retry: [fits<Returned<C['sessions']['retry']>>(answer<'sessions.retry'>())],
    remove: [empty<'sessions.delete', C['sessions']['remove']>()],
    // A multipart body (the file, and `metadata` as JSON), which the document does not describe as JSON.
    upload: [
      fits<Returned<C['sessions']['upload']>>(answer<'sessions.create'>()),
      fits<Schemas['SessionMetadata']>(arg<C['sessions']['upload'], 1>()),
    ],
    subscribe: [streams<'sessions.events'>()],
  },
  keys: {
    create: [
      fits<Returned<C['keys']['create']>>(answer<'keys.create'>()),
      sends<'keys.create'>({ name: arg<C['keys']['create'], 0>(), scopes: arg<C['keys']['create'], 1>() }),
    ],
    list: [fits<Returned<C['keys']['list']>>(answer<'keys.list'>().keys)],
    revoke: [fits<Returned<C['keys']['revoke']>>(answer<'keys.revoke'>())],
  },
  audit: {
    list: [
      fits<Returned<C['audit']['list']>>(answer<'audit.list'>()),
      queries<'audit.list', Param<C['audit']['list'], 0>>(),
    ],
  },
  webhooks: {
    create: [
      fits<Returned<C['webhooks']['create']>>(answer<'webhooks.create'>()),
      sends<'webhooks.create'>(arg<C['webhooks']['create'], 0>()),
    ],
    list: [fits<Returned<C['webhooks']['list']>>(answer<'webhooks.list'>().webhooks)],
    remove: [empty<'webhooks.delete', C['webhooks']['remove']>()],
  },
  alerts: {
    create: [
      fits<Returned<C['alerts']['create']>>(answer<'alerts.create'>()),
      sends<'alerts.create'>(arg<C['alerts']['create'], 0>()),
    ],
    list: [fits<Returned<C['alerts']['list']>>(answer<'alerts.list'>().alerts)],
    remove: [empty<'alerts.delete', C['alerts']['remove']>()],
  },
  stats: [fits<Returned<C['stats']>>(answer<'stats'>())],
  me: [fits<Returned<C['me']>>(answer<'auth.me'>())],
  ai: {
    submit: [route<'ai.chatCompletions'>(), route<'ai.embeddings'>()],
    providers: [fits<Returned<C['ai']['providers']>>(answer<'ai.providers'>())],
  },
  health: {
    live: [fits<Returned<C['health']['live']>>(answer<'health.live'>())],
    ready: [fits<Returned<C['health']['ready']>>(answer<'health.ready'>())],
  },
}

/**
 * `Checked` when the client's type `A` and the server's `B` are the same shape: the same names,
 * each assignable to the other. Else what differs.
 */
type Same<A, B> = [Exclude<keyof A, keyof B> | Exclude<keyof B, keyof A>] extends [never]
  ? [A] extends [B]
    ? [B] extends [A]
      ? Checked
      : { error: 'the server may send what the client type does not allow' }
    : { error: 'the client type allows what the server does not send' }
  : { error: 'the names differ'; clientOnly: Exclude<keyof A, keyof B>; serverOnly: Exclude<keyof B, keyof A> }
/** Checks that the client's type `A` is the document's `B` (see `Same`). */
declare function same<A, B>(): Same<A, B>

type Results = NonNullable<Client.Session['results']>
type ServerResults = NonNullable<Schemas['Session']['results']>

/** Every named type of src/client/types.ts (and the client's inline answers) is the document's, both ways. */
export const types: Checked[] = [
  same<Client.JobState, Schemas['Job']['state']>(),
  same<Client.Priority, NonNullable<Schemas['EnqueueOptions']['priority']>>(),
  same<Client.Scope, Schemas['ApiKey']['scopes'][number]>(),
  same<Client.BreakerState, Schemas['Breaker']['state']>(),
  same<Client.SessionStatus, Schemas['Session']['status']>(),
  same<Client.Alert, Schemas['Alert']>(),
  same<Client.ApiKey, Schemas['ApiKey']>(),
  same<Client.AttemptError, Answer<'jobs.errors'>['errors'][number]>(),
  same<Client.AuditEntry, Schemas['AuditEntry']>(),
  same<Client.Breaker, Schemas['Breaker']>(),
  same<Client.BreakerChange, Answer<'breakers.history'>['changes'][number]>(),
  same<Client.BulkResult, Schemas['BulkResult']>(),
  same<Client.ChildJob, Answer<'jobs.children'>['children'][number]>(),
  same<Client.ClaimedJob, Schemas['ClaimedJob']>(),
  same<Client.Counts, Schemas['Counts']>(),
  same<Client.EnqueueOptions, Schemas['EnqueueOptions']>(),
  same<Client.EnqueueResult, Schemas['EnqueueResult']>(),
  same<Client.Job, Schemas['Job']>(),
  same<Client.JobFilter, Schemas['JobFilter']>(),
  same<Client.JobPage, Schemas['JobPage']>(),
  same<Client.JobCounts, Schemas['JobCounts']>(),
  same<Client.JobStatus, Schemas['JobStatus']>(),
  same<Client.ParentJob, Answer<'jobs.parents'>['parents'][number]>(),
  same<Client.Problem, Schemas['Problem']>(),
  same<Client.Queue, Schemas['Queue']>(),
  same<Client.QueueLimits, Schemas['Limits']>(),
  same<Client.Schedule, Schemas['Schedule']>(),
  same<Client.Session, Schemas['Session']>(),
  same<Client.SessionCreated, Schemas['SessionCreated']>(),
  same<Client.SessionMetadata, Schemas['SessionMetadata']>(),
  same<Client.SessionSummary, Schemas['SessionSummary']>(),
  same<Client.SpeakerTranscript, ServerResults['transcript']>(),
  same<Client.SessionNotes, NonNullable<ServerResults['notes']>['notes']>(),
  same<Client.QualityReport, ServerResults['quality']>(),
  same<Results, ServerResults>(),
  same<Client.TranscriptSegment, ServerResults['transcript']['segments'][number]>(),
  same<Client.TranscriptWord, ServerResults['transcript']['segments'][number]['words'][number]>(),
  same<Client.RiskFlag, NonNullable<ServerResults['notes']>['notes']['risk_flags'][number]>(),
  same<Client.SpoolEvent, Schemas['Event']>(),
  same<Client.Stats, Schemas['Stats']>(),
  same<Client.Webhook, Schemas['Webhook']>(),
  same<Client.WorkerInfo, Schemas['WorkerInfo']>(),
  same<Returned<C['me']>, Answer<'auth.me'>>(),
  same<Returned<C['jobs']['position']>, Answer<'jobs.position'>>(),
  same<Returned<C['queues']['cleanup']>, Answer<'queues.cleanup'>>(),
  same<Returned<C['schedules']['preview']>, Answer<'schedules.preview'>>(),
  same<Returned<C['audit']['list']>, Answer<'audit.list'>>(),
  same<Returned<C['sessions']['list']>, Answer<'sessions.list'>>(),
  same<Returned<C['health']['ready']>, Answer<'health.ready'>>(),
  same<Returned<C['workers']['fail']>, Answer<'leases.fail'>>(),
  same<Returned<C['workers']['heartbeat']>, Answer<'leases.heartbeat'>>(),
]
