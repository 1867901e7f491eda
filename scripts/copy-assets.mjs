// Copies the .sql files next to the compiled JavaScript that reads them.
import { cpSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'

function copySql(from, to) {
  for (const name of readdirSync(from)) {
    const source = join(from, name)
    if (statSync(source).isDirectory()) copySql(source, join(to, name))
    else if (name.endsWith('.sql')) cpSync(source, join(to, name))
  }
}
copySql('src', 'dist')
