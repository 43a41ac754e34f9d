/** A patient's records, readable: vitals charted, labs with ranges, and the clinical lists. */
import type { ListItem, Timeline as TimelineData } from '../lib/records.js';
import { day } from './common.js';
import { VitalsChart } from './VitalsChart.js';

function List({ title, items, empty }: { title: string; items: ListItem[]; empty: string }) {
  return (
    <section className="card" aria-label={title}>
      <h3>{title}</h3>
      {items.length === 0 ? (
        <p className="muted">{empty}</p>
      ) : (
        <ul className="items">
          {items.map((i) => (
            <li key={i.key}>
              <span className="item-text">{i.text}</span>
              {i.sensitive ? <span className="tag tag-sensitive">sensitive</span> : null}
              <span className="muted">
                {' '}
                {day(i.time)} · {i.detail ? `${i.detail} · ` : ''}
                {i.member}
              </span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

export function Timeline({ data }: { data: TimelineData }) {
  return (
    <div className="timeline">
      <section className="card wide" aria-label="Vital signs">
        <h3>Vital signs</h3>
        {data.vitals.length === 0 ? (
          <p className="muted">No vital signs.</p>
        ) : (
          <div className="vitals">
            {data.vitals.map((s) => (
              <VitalsChart key={s.code} series={s} />
            ))}
          </div>
        )}
      </section>
      <section className="card wide" aria-label="Lab results">
        <h3>Lab results</h3>
        {data.labs.length === 0 ? (
          <p className="muted">No lab results.</p>
        ) : (
          <div className="scroll">
            <table className="labs">
              <thead>
                <tr>
                  <th scope="col">Date</th>
                  <th scope="col">Test</th>
                  <th scope="col">Result</th>
                  <th scope="col">Reference range</th>
                  <th scope="col">Flag</th>
                  <th scope="col">Held by</th>
                </tr>
              </thead>
              <tbody>
                {data.labs.map((l) => (
                  <tr key={l.key} className={`row-${l.flag}`}>
                    <td>{day(l.time)}</td>
                    <td>{l.name}</td>
                    <td className="num">
                      {l.value} {l.unit}
                    </td>
                    <td className="num">
                      {l.range} {l.range ? l.unit : ''}
                    </td>
                    <td>
                      <span className={`flag flag-${l.flag}`}>
                        {l.flag === 'high'
                          ? '▲ high'
                          : l.flag === 'low'
                            ? '▼ low'
                            : l.flag === 'normal'
                              ? 'normal'
                              : '—'}
                      </span>
                    </td>
                    <td>{l.member}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
      <List title="Medications" items={data.medications} empty="No medications." />
      <List title="Conditions" items={data.conditions} empty="No conditions." />
      <List title="Allergies" items={data.allergies} empty="No allergies recorded." />
      <List title="Immunizations" items={data.immunizations} empty="No immunizations." />
    </div>
  );
}
