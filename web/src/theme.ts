/** Light or dark: the system's choice until the toggle picks one, remembered in localStorage. */
export type Theme = 'light' | 'dark'

export function initialTheme(): Theme {
  const stored = localStorage.getItem('spool.theme')
  if (stored === 'light' || stored === 'dark') return stored
  return window.matchMedia?.('(prefers-color-scheme: dark)').matches ? 'dark' : 'light'
}

export function applyTheme(theme: Theme, remember = false): void {
  document.documentElement.dataset.theme = theme
  if (remember) localStorage.setItem('spool.theme', theme)
}
