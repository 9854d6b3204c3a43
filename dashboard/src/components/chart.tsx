/**
 * A chart.js chart in a canvas. Only the pieces the dashboard draws are registered, which keeps
 * chart.js's share of the bundle small. The chart is updated in place when its data changes
 * (auto-refresh does not flash), and the canvas carries a text description for screen readers.
 */
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Filler,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
  type ChartDataset,
  type ChartOptions,
} from 'chart.js';
import { useEffect, useRef } from 'preact/hooks';
import { colourOf } from '../colours';

Chart.register(BarController, BarElement, CategoryScale, Filler, Legend, LinearScale, LineController, LineElement, PointElement, Tooltip);
// Axis text and grid lines follow the page's theme (light or dark).
const theme = getComputedStyle(document.documentElement);
Chart.defaults.color = theme.getPropertyValue('--muted').trim() || '#5f6b7a';
Chart.defaults.borderColor = theme.getPropertyValue('--border').trim() || '#dde2e8';

/** A series as the pages describe it; styling is decided here, once. */
export interface Dataset {
  label: string;
  data: (number | null)[];
  /** One colour, or one per bar. Default: the palette, in order (for a fixed list of metrics). */
  colour?: string | string[];
}

/** Dots on short lines; on long ones only where a value stands alone (no line reaches it). */
function pointRadiusOf(data: (number | null)[]): number | ((context: { dataIndex: number }) => number) {
  if (data.length <= 60) return 2;
  return ({ dataIndex: i }) => (data[i] !== null && (data[i - 1] ?? null) === null && (data[i + 1] ?? null) === null ? 2.5 : 0);
}

export interface ChartProps {
  type: 'bar' | 'line';
  /** One per x value; tooltips show them. */
  labels: string[];
  /** Shorter forms of `labels` for the x axis. */
  tickLabels?: string[];
  /** X axis title, e.g. which clock times are in. */
  xTitle?: string;
  datasets: Dataset[];
  /** Y axis title, with its unit. */
  yTitle: string;
  /** How a value reads in the tooltip and on the axis. */
  format: (value: number) => string;
  stacked?: boolean;
  /** What the chart shows, for screen readers and tests. */
  label: string;
}

export function ChartView(props: ChartProps) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const chart = useRef<Chart | null>(null);

  const datasets = props.datasets.map((d, i) => {
    const colour = d.colour ?? colourOf(i);
    return props.type === 'bar'
      ? { type: 'bar', label: d.label, data: d.data, backgroundColor: colour, borderWidth: 0 }
      : {
          type: 'line',
          label: d.label,
          data: d.data,
          borderColor: colour,
          backgroundColor: colour,
          borderWidth: 2,
          pointRadius: pointRadiusOf(d.data),
          tension: 0.2,
        };
  }) as ChartDataset<'bar' | 'line', (number | null)[]>[];
  const options: ChartOptions<'bar' | 'line'> = {
    responsive: true,
    maintainAspectRatio: false,
    animation: false,
    interaction: { mode: 'index', intersect: false },
    scales: {
      x: {
        stacked: props.stacked,
        // Category ticks are indexes into the labels: show the short form of the same one.
        ticks: { autoSkip: true, maxRotation: 0, autoSkipPadding: 12, callback: (_, index) => (props.tickLabels ?? props.labels)[index] },
        title: { display: props.xTitle !== undefined, text: props.xTitle },
        grid: { display: false },
      },
      y: {
        stacked: props.stacked,
        beginAtZero: true,
        title: { display: true, text: props.yTitle },
        ticks: { callback: (v) => props.format(Number(v)), maxTicksLimit: 6 },
      },
    },
    plugins: {
      legend: { display: datasets.length > 1, position: 'bottom', labels: { boxWidth: 12, usePointStyle: true } },
      tooltip: { callbacks: { label: (item) => `${item.dataset.label}: ${item.parsed.y === null ? '–' : props.format(item.parsed.y)}` } },
    },
  };

  useEffect(() => {
    const existing = chart.current;
    if (existing && (existing.config as { type: string }).type === props.type) {
      existing.data.labels = props.labels;
      existing.data.datasets = datasets;
      existing.options = options;
      existing.update('none');
      return;
    }
    existing?.destroy();
    chart.current = new Chart(canvas.current!, { type: props.type, data: { labels: props.labels, datasets }, options });
  });
  useEffect(() => () => chart.current?.destroy(), []);

  const total = props.datasets.reduce((sum, d) => sum + d.data.reduce<number>((s, v) => s + (v ?? 0), 0), 0);
  return (
    <div class="chart" data-series={props.datasets.length} data-total={total} data-x-title={props.xTitle}>
      <canvas ref={canvas} role="img" aria-label={props.label} />
    </div>
  );
}
