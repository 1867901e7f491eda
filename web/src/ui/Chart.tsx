/**
 * A time-series line chart (uPlot: ~45 kB, canvas, fast enough to redraw every second).
 *
 * The time axis is laid out for its labels, not uPlot's defaults: ticks are at least one label
 * width apart (measured in the axis font), labels are short (`14:05:30`, `14:05`, `8 Dec`), and
 * the plot leaves half a label of room on the right so the last one is not cut off. A chart with
 * `span` shows at least that many seconds ending now, also with one sample or none (uPlot's range
 * of a single point is years wide).
 */
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

const AXIS_FONT = '12px system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif'
const HOUR_CYCLE: Intl.DateTimeFormatOptions = { hourCycle: 'h23' }
const formats = {
  seconds: new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit', ...HOUR_CYCLE }),
  minutes: new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', ...HOUR_CYCLE }),
  days: new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short' }),
}

/** A time label as short as the tick spacing allows (seconds only when ticks are under a minute apart). */
export function timeLabel(epochSeconds: number, incrementSeconds: number): string {
  const date = new Date(epochSeconds * 1000)
  if (incrementSeconds < 60) return formats.seconds.format(date)
  if (incrementSeconds < 86_400) return formats.minutes.format(date)
  return formats.days.format(date)
}

let measurer: CanvasRenderingContext2D | null = null
/** The width in CSS pixels of `text` in the axis font. */
function textWidth(text: string): number {
  measurer ??= document.createElement('canvas').getContext('2d')
  if (!measurer) return text.length * 8
  measurer.font = AXIS_FONT
  return Math.ceil(measurer.measureText(text).width)
}

/** The widest time label the axis can draw (a sample at 23:59:59, and a long month name). */
function widestTimeLabel(): number {
  const late = new Date(2024, 11, 28, 23, 59, 59).getTime() / 1000
  return Math.max(textWidth(timeLabel(late, 1)), textWidth(timeLabel(late, 86_400)))
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
      font: AXIS_FONT,
      grid: { stroke: cssVar('--grid'), width: 1 },
      ticks: { stroke: cssVar('--grid') },
    }
    const labelWidth = widestTimeLabel()
    const options: uPlot.Options = {
      width: Math.max(element.clientWidth, 200),
      height,
      legend: { show: true },
      cursor: { drag: { x: false, y: false } },
      // Room on the right for half of the last time label, which is centred on its tick.
      padding: [8, Math.ceil(labelWidth / 2) + 4, 0, 0],
      scales: {
        x: {
          time: true,
          ...(span !== undefined && {
            // From the data, not uPlot's min and max: for a single point uPlot passes a max
            // 86,400,000 s (1,000 days) past it.
            range: (u): uPlot.Range.MinMax => {
              const times = u.data[0] ?? []
              const first = times[0]
              const last = times[times.length - 1]
              const end = Math.max(last ?? 0, Date.now() / 1000)
              return [first === undefined ? end - span : Math.min(first, end - span), end]
            },
          }),
        },
        y: { range: (_u, _min, max) => [0, Math.max(1, (max ?? 0) * 1.15)] },
      },
      axes: [
        {
          ...axis,
          // Ticks at least a label and a gap apart, so labels never overlap.
          space: labelWidth + 16,
          values: (_u, splits, _axis, _space, increment) => splits.map((t) => timeLabel(t, increment)),
        },
        { ...axis, size: 48, values: (_u, values) => values.map((v) => `${formatNumber(v)}${unit}`) },
      ],
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
    // For tests and debugging: the chart of this element (document.querySelector(…).uplot).
    Object.assign(element, { uplot: chart })
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
