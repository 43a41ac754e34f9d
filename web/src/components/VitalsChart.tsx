/** One vital sign over time (uPlot), with the same numbers as a table for screen readers. */
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { VitalSeries } from '../lib/records.js';
import { day } from './common.js';

export function VitalsChart({ series }: { series: VitalSeries }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const xs = series.points.map((p) => p.time / 1000);
    const ys = series.points.map((p) => p.value);
    const plot = new uPlot(
      {
        width: Math.max(240, Math.min(el.clientWidth || 320, 520)),
        height: 160,
        legend: { show: false },
        series: [
          {},
          { label: series.name, stroke: '#1f5fa8', width: 2, points: { size: 7, fill: '#1f5fa8' } },
        ],
        axes: [{ stroke: '#444' }, { stroke: '#444', size: 48 }],
      },
      [xs, ys],
      el,
    );
    return () => plot.destroy();
  }, [series]);
  return (
    <figure className="vital">
      <figcaption>
        {series.name} <span className="unit">({series.unit})</span>
      </figcaption>
      <div ref={box} className="chart" aria-hidden="true" />
      <details>
        <summary>Values</summary>
        <table>
          <thead>
            <tr>
              <th scope="col">Date</th>
              <th scope="col">Value</th>
              <th scope="col">Held by</th>
            </tr>
          </thead>
          <tbody>
            {series.points.map((p) => (
              <tr key={`${p.time}-${p.member}`}>
                <td>{day(p.time)}</td>
                <td>
                  {p.value} {series.unit}
                </td>
                <td>{p.member}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </figure>
  );
}
