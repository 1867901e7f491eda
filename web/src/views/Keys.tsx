/** API keys of this tenant: create (the key is shown once) and revoke. Admins only. */
import { useQuery, useQueryClient } from '@tanstack/react-query'
import { type FormEvent, useState } from 'react'
import type { Scope } from 'spool/client'
import { useClient, useMe } from '../api'
import { Empty, ErrorBox, Loading, StateBadge, Time, useAction, useConfirm } from '../ui/parts'

const SCOPES: Scope[] = ['admin', 'producer', 'worker', 'reader']

export function KeysView() {
  const client = useClient()
  const me = useMe()
  const action = useAction()
  const confirm = useConfirm()
  const queryClient = useQueryClient()
  const keys = useQuery({ queryKey: ['keys'], queryFn: () => client.keys.list(), enabled: me.can('admin') })
  const [name, setName] = useState('')
  const [scopes, setScopes] = useState<Scope[]>(['reader'])
  const [token, setToken] = useState<string | null>(null)
  if (!me.can('admin')) return <Empty title="API keys are for admins" />
  const create = async (event: FormEvent) => {
    event.preventDefault()
    const key = await action(
      () => client.keys.create(name, scopes),
      (k) => `Created key ${k.id}`,
    )
    if (key) {
      setToken(key.token)
      setName('')
      await queryClient.invalidateQueries({ queryKey: ['keys'] })
    }
  }
  return (
    <div className="stack">
      <h1>API keys</h1>
      {token && (
        <div className="card notice" role="status">
          <strong>Copy the new key now: it is shown this once.</strong>
          <div className="row">
            <code className="token" data-testid="new-token">
              {token}
            </code>
            <button type="button" className="button small" onClick={() => void navigator.clipboard?.writeText(token)}>
              Copy
            </button>
            <button type="button" className="button small ghost" onClick={() => setToken(null)}>
              Done
            </button>
          </div>
        </div>
      )}
      <form className="card form-grid" onSubmit={create} aria-labelledby="new-key">
        <h2 id="new-key" className="span-all">
          Create a key in tenant {me.tenant}
        </h2>
        <label className="field">
          <span>Name</span>
          <input required maxLength={100} value={name} onChange={(e) => setName(e.target.value)} />
        </label>
        <fieldset className="field">
          <legend>Scopes</legend>
          <div className="row wrap">
            {SCOPES.map((scope) => (
              <label key={scope} className="check">
                <input
                  type="checkbox"
                  checked={scopes.includes(scope)}
                  onChange={(e) => setScopes(e.target.checked ? [...scopes, scope] : scopes.filter((s) => s !== scope))}
                />{' '}
                {scope}
              </label>
            ))}
          </div>
        </fieldset>
        <div className="row end span-all">
          <button type="submit" className="button primary" disabled={scopes.length === 0 || !name}>
            Create key
          </button>
        </div>
      </form>
      {keys.isPending ? (
        <Loading />
      ) : keys.isError ? (
        <ErrorBox error={keys.error} />
      ) : (
        <div className="table-wrap">
          <table className="table">
            <thead>
              <tr>
                <th scope="col">Id</th>
                <th scope="col">Name</th>
                <th scope="col">Scopes</th>
                <th scope="col">Created</th>
                <th scope="col">Status</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {keys.data.map((k) => (
                <tr key={k.id}>
                  <th scope="row">
                    <code>{k.id}</code>
                  </th>
                  <td>{k.name}</td>
                  <td>{k.scopes.join(', ')}</td>
                  <td>
                    <Time at={k.createdAt} /> <span className="muted small">{k.createdBy ?? ''}</span>
                  </td>
                  <td>
                    <StateBadge
                      state={k.revokedAt ? 'revoked' : 'active-key'}
                      label={k.revokedAt ? 'revoked' : 'active'}
                    />
                  </td>
                  <td>
                    {!k.revokedAt && k.id !== me.id && (
                      <button
                        type="button"
                        className="button small danger"
                        onClick={async () => {
                          if (
                            await confirm({
                              title: `Revoke key ${k.name}?`,
                              body: 'It stops working at once. This cannot be undone.',
                              confirm: 'Revoke',
                              danger: true,
                            })
                          ) {
                            await action(() => client.keys.revoke(k.id), 'Revoked')
                            await queryClient.invalidateQueries({ queryKey: ['keys'] })
                          }
                        }}
                      >
                        Revoke
                      </button>
                    )}
                    {k.id === me.id && <span className="muted small">this key</span>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  )
}
