import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import { formatTick } from '../../data/format.js';
import type { TimeZoneMode } from '../../data/timezone.js';
import type { IngestSeries } from './ingest.js';

function cssVar(el: Element, name: string, fallback: string): string {
  return getComputedStyle(el).getPropertyValue(name).trim() || fallback;
}

/** The ingest-rate chart (uPlot: ~20 KB gzipped, canvas, cheap to update). */
export function IngestChart({ series, unit, tz }: { series: IngestSeries; unit: string; tz: TimeZoneMode }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const latest = useRef(series);
  latest.current = series;

  // Create once (again when the time zone changes: the ticks); data updates go through setData,
  // sizes through a ResizeObserver.
  // biome-ignore lint/correctness/useExhaustiveDependencies: tz is read by the tick formatter
  useEffect(() => {
    const el = box.current;
    if (el === null) return;
    const accent = cssVar(el, '--accent', '#4fc3f7');
    const grid = cssVar(el, '--grid', 'rgba(255,255,255,0.08)');
    const text = cssVar(el, '--muted', '#9aa4b2');
    // Axis type as large as the page's (28 px on the wall), in the app's one time format.
    const px = Math.round(Number.parseFloat(getComputedStyle(document.documentElement).fontSize) || 16);
    const axis = { stroke: text, grid: { stroke: grid }, ticks: { stroke: grid }, font: `${px}px system-ui` };
    const ySize = px * 3.5;
    const opts: uPlot.Options = {
      width: el.clientWidth || 600,
      height: el.clientHeight || 240,
      // The last time tick is centred on the plot's right edge: room for half the longest one
      // ("05-08 13:04"), or the wall's 28 px type cut it to "06:0". Other sides as uPlot pads them.
      padding: [
        null,
        Math.max(Math.round(ySize / 2), Math.ceil(textWidth('00-00 00:00', axis.font) / 2) + 4),
        null,
        null,
      ],
      legend: { show: false },
      cursor: { show: true, drag: { x: false, y: false } },
      scales: { x: { time: true } },
      // Whole episodes only: no 0.5 ticks on a count axis.
      axes: [
        {
          ...axis,
          size: px * 2.5,
          space: px * 7,
          values: (u: uPlot, splits: number[]) => {
            const span = ((u.scales.x?.max ?? 0) - (u.scales.x?.min ?? 0)) * 1000;
            return splits.map((t) => formatTick(t * 1000, span));
          },
        },
        {
          ...axis,
          size: ySize,
          incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 100_000],
        },
      ],
      series: [
        {},
        {
          label: `episodes / ${unit}`,
          stroke: accent,
          width: 2,
          points: { show: false },
          fill: `${accent}33`,
          paths: uPlot.paths.stepped?.({ align: 1 }),
        },
      ],
    };
    const u = new uPlot(opts, [latest.current.x, latest.current.y], el);
    plot.current = u;
    const ro = new ResizeObserver(() => {
      u.setSize({ width: el.clientWidth, height: el.clientHeight || 240 });
    });
    ro.observe(el);
    return () => {
      ro.disconnect();
      u.destroy();
      plot.current = null;
    };
  }, [unit, tz]);

  useEffect(() => {
    plot.current?.setData([series.x, series.y]);
  }, [series]);

  return <div className="chart" ref={box} data-testid="ingest-chart" />;
}

/** Width in CSS pixels of `text` in `font`, as a canvas draws it (0 where there is no canvas). */
function textWidth(text: string, font: string): number {
  const ctx = document.createElement('canvas').getContext('2d');
  if (ctx === null) return 0;
  ctx.font = font;
  return ctx.measureText(text).width;
}
