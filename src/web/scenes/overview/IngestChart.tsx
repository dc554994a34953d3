import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import type { IngestSeries } from './ingest.js';

function cssVar(el: Element, name: string, fallback: string): string {
  return getComputedStyle(el).getPropertyValue(name).trim() || fallback;
}

/** The ingest-rate chart (uPlot: ~20 KB gzipped, canvas, cheap to update). */
export function IngestChart({ series, unit }: { series: IngestSeries; unit: string }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);

  // Create once; data updates go through setData, sizes through a ResizeObserver.
  useEffect(() => {
    const el = box.current;
    if (el === null) return;
    const accent = cssVar(el, '--accent', '#4fc3f7');
    const grid = cssVar(el, '--grid', 'rgba(255,255,255,0.08)');
    const text = cssVar(el, '--muted', '#9aa4b2');
    const axis = { stroke: text, grid: { stroke: grid }, ticks: { stroke: grid }, font: '14px system-ui' };
    const opts: uPlot.Options = {
      width: el.clientWidth || 600,
      height: el.clientHeight || 240,
      legend: { show: false },
      cursor: { show: true, drag: { x: false, y: false } },
      scales: { x: { time: true } },
      // Whole episodes only: no 0.5 ticks on a count axis.
      axes: [
        axis,
        { ...axis, size: 56, incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 100_000] },
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
    const u = new uPlot(opts, [[], []], el);
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
  }, [unit]);

  useEffect(() => {
    plot.current?.setData([series.x, series.y]);
  }, [series]);

  return <div className="chart" ref={box} data-testid="ingest-chart" />;
}
