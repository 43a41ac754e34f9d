/**
 * One vital sign over time (uPlot): one line, or systolic and diastolic together for blood
 * pressure; the same numbers as a table for screen readers. Dates as everywhere (lib/dates.ts).
 */
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { formatDay } from '../lib/dates.js';
import { alignedRows, type VitalSeries } from '../lib/records.js';

const COLOURS = ['#1f5fa8', '#b3261e', '#2e7d32'];

export function VitalsChart({ series }: { series: VitalSeries }) {
  const box = useRef<HTMLDivElement>(null);
  const rows = alignedRows(series);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const data = alignedRows(series);
    const xs = data.map((r) => r.time / 1000);
    const ys = series.lines.map((_, i) => data.map((r) => r.values[i] ?? null));
    const plot = new uPlot(
      {
        width: Math.max(240, Math.min(el.clientWidth || 320, 520)),
        height: 160,
        legend: { show: false },
        series: [
          {},
          ...series.lines.map((l, i) => ({
            label: l.name,
            stroke: COLOURS[i % COLOURS.length] as string,
            width: 2,
            spanGaps: true,
            points: { size: 7, fill: COLOURS[i % COLOURS.length] as string },
          })),
        ],
        axes: [
          { stroke: '#444', space: 90, values: (_u, ticks) => ticks.map((t) => formatDay(t * 1000)) },
          { stroke: '#444', size: 48 },
        ],
      },
      [xs, ...ys] as uPlot.AlignedData,
      el,
    );
    return () => plot.destroy();
  }, [series]);
  const many = series.lines.length > 1;
  return (
    <figure className="vital">
      <figcaption>
        {series.name} {series.unit ? <span className="unit">({series.unit})</span> : null}
        {many ? (
          <span className="legend">
            {series.lines.map((l, i) => (
              <span key={l.code} style={{ color: COLOURS[i % COLOURS.length] }}>
                {' '}
                ● {l.name}
              </span>
            ))}
          </span>
        ) : null}
      </figcaption>
      <div ref={box} className="chart" aria-hidden="true" />
      <details>
        <summary>Values</summary>
        <table>
          <thead>
            <tr>
              <th scope="col">Date</th>
              {series.lines.map((l) => (
                <th key={l.code} scope="col">
                  {many ? l.name : 'Value'}
                </th>
              ))}
              <th scope="col">Held by</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={`${r.time}-${r.member}`}>
                <td>{formatDay(r.time)}</td>
                {r.values.map((v, i) => (
                  <td key={series.lines[i]?.code}>{v === null ? '—' : `${v} ${series.unit}`.trim()}</td>
                ))}
                <td>{r.member}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </figure>
  );
}
