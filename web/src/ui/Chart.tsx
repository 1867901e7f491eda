/** A time-series line chart (uPlot: ~45 kB, canvas, fast enough to redraw every second). */
import { useEffect, useRef, useState } from 'react'
import uPlot from 'uplot'
import 'uplot/dist/uPlot.min.css'

export interface ChartSeries {
  label: string
  color: string
  values: (number | null)[]
  /** Fill under the line. */
  fill?: boolean
}

interface Props {
  title: string
  /** Epoch seconds. */
  t: number[]
  series: ChartSeries[]
  height?: number
  unit?: string
  /** Show at least this many seconds, ending now (a series with few points still reads as a timeline). */
  span?: number
}

function cssVar(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || '#888'
}

export function TimeChart({ title, t, series, height = 160, unit = '', span }: Props) {
  const box = useRef<HTMLDivElement>(null)
  const plot = useRef<uPlot | null>(null)
  const shape = series.map((s) => s.label).join('|')
  // Colours come from the theme's CSS variables: rebuild when the theme changes.
  const [theme, setTheme] = useState(() => document.documentElement.dataset.theme)
  useEffect(() => {
    const observer = new MutationObserver(() => setTheme(document.documentElement.dataset.theme))
    observer.observe(document.documentElement, { attributes: true, attributeFilter: ['data-theme'] })
    return () => observer.disconnect()
  }, [])

  // Build once per set of series; later renders only swap the data.
  // biome-ignore lint/correctness/useExhaustiveDependencies: rebuilt when the series change, not their values
  useEffect(() => {
    const element = box.current
    if (!element) return
    const axis = {
      stroke: cssVar('--muted'),
      grid: { stroke: cssVar('--grid'), width: 1 },
      ticks: { stroke: cssVar('--grid') },
    }
    const options: uPlot.Options = {
      width: Math.max(element.clientWidth, 200),
      height,
      legend: { show: true },
      cursor: { drag: { x: false, y: false } },
      scales: {
        x: {
          time: true,
          ...(span !== undefined && {
            range: (_u, min, max) => {
              const end = Math.max(max, Date.now() / 1000)
              return [Math.min(min, end - span), end]
            },
          }),
        },
        y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.15)] },
      },
      axes: [axis, { ...axis, size: 44, values: (_u, values) => values.map((v) => `${formatNumber(v)}${unit}`) }],
      series: [
        {},
        ...series.map((s) => ({
          label: s.label,
          stroke: s.color,
          width: 2,
          ...(s.fill && { fill: `${s.color}22` }),
          points: { show: false },
        })),
      ],
    }
    const chart = new uPlot(options, [t, ...series.map((s) => s.values)] as uPlot.AlignedData, element)
    plot.current = chart
    const resize = new ResizeObserver(() => chart.setSize({ width: Math.max(element.clientWidth, 200), height }))
    resize.observe(element)
    return () => {
      resize.disconnect()
      chart.destroy()
      plot.current = null
    }
  }, [shape, height, unit, span, theme])

  useEffect(() => {
    plot.current?.setData([t, ...series.map((s) => s.values)] as uPlot.AlignedData)
  })

  return (
    <figure className="chart">
      <figcaption>{title}</figcaption>
      <div ref={box} role="img" aria-label={`${title} chart`} />
    </figure>
  )
}

export function formatNumber(value: number): string {
  if (Math.abs(value) >= 1_000_000) return `${(value / 1_000_000).toFixed(1)}M`
  if (Math.abs(value) >= 10_000) return `${Math.round(value / 1000)}k`
  if (Math.abs(value) >= 1000) return `${(value / 1000).toFixed(1)}k`
  return Number.isInteger(value) ? String(value) : value.toFixed(1)
}
