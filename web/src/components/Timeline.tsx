/**
 * A patient's records, readable: vitals charted, labs with ranges, and the clinical lists. Each
 * section says which members did not share it with the reader (lib/recordSections.ts), and reads
 * "No … recorded" only when none did and every member answered.
 */
import type { ReactNode } from 'react';
import {
  ASK_CONSENT,
  ASK_CONSENT_TAIL,
  type Gaps,
  hasNotice,
  NO_GAPS,
  SECTIONS,
  SEE_WHY,
  type Section,
  SOME_DID_NOT_ANSWER,
  sectionNotice,
} from '../lib/recordSections.js';
import type { ListItem, Timeline as TimelineData } from '../lib/records.js';
import { day } from './common.js';
import { VitalsChart } from './VitalsChart.js';

interface GapProps {
  gaps: Gaps;
  /** Opens the clinician's "ask the patient for more" form, when there is one. */
  onAskConsent?: (() => void) | undefined;
}

/**
 * What is not in a section: who did not share it and what to do, or that some member did not
 * answer; when nothing is missing and the section is empty, "No … recorded" (emptyText's words).
 */
function Missing({ section, gaps, onAskConsent, empty }: GapProps & { section: Section; empty: boolean }) {
  const n = sectionNotice(section, gaps);
  if (!hasNotice(n)) return empty ? <p className="muted">{section.empty}</p> : null;
  return (
    <p className="withheld" data-testid={`withheld-${section.key}`}>
      {n.withheld.join(' ')}
      {n.askConsent ? (
        <>
          {n.withheld.length > 0 ? ' ' : null}
          {onAskConsent ? (
            <button type="button" className="link" onClick={onAskConsent}>
              {ASK_CONSENT}
            </button>
          ) : (
            ASK_CONSENT
          )}
          {ASK_CONSENT_TAIL}
        </>
      ) : null}
      {n.seeWhy ? ` ${SEE_WHY}` : null}
      {n.incomplete ? ` ${SOME_DID_NOT_ANSWER}` : null}
    </p>
  );
}

function Card({
  section,
  wide,
  count,
  children,
  ...gap
}: GapProps & { section: Section; wide?: boolean; count: number; children: ReactNode }) {
  return (
    <section className={wide ? 'card wide' : 'card'} aria-label={section.title}>
      <h3>{section.title}</h3>
      {count > 0 ? children : null}
      <Missing section={section} empty={count === 0} {...gap} />
    </section>
  );
}

function List({ section, items, ...gap }: GapProps & { section: Section; items: ListItem[] }) {
  return (
    <Card section={section} count={items.length} {...gap}>
      <ul className="items">
        {items.map((i) => (
          <li key={i.key}>
            <span className="item-text">{i.text}</span>
            {i.sensitive ? <span className="tag tag-sensitive">sensitive</span> : null}
            {i.badge ? (
              <span className={`tag tag-${i.badge.tone}`} data-testid="record-badge">
                <span aria-hidden="true">{i.badge.tone === 'ok' ? '✓ ' : '✖ '}</span>
                {i.badge.text}
              </span>
            ) : null}
            <span className="muted">
              {' '}
              {day(i.time)} · {i.detail ? `${i.detail} · ` : ''}
              {i.member}
            </span>
          </li>
        ))}
      </ul>
    </Card>
  );
}

export function Timeline({
  data,
  gaps = NO_GAPS,
  onAskConsent,
}: {
  data: TimelineData;
  gaps?: Gaps;
  onAskConsent?: (() => void) | undefined;
}) {
  const gap = { gaps, onAskConsent };
  return (
    <div className="timeline">
      <Card section={SECTIONS.vitals} wide count={data.vitals.length} {...gap}>
        <div className="vitals">
          {data.vitals.map((s) => (
            <VitalsChart key={s.key} series={s} />
          ))}
        </div>
      </Card>
      <Card section={SECTIONS.labs} wide count={data.labs.length} {...gap}>
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
      </Card>
      <List section={SECTIONS.medications} items={data.medications} {...gap} />
      <List section={SECTIONS.conditions} items={data.conditions} {...gap} />
      <List section={SECTIONS.allergies} items={data.allergies} {...gap} />
      <List section={SECTIONS.immunizations} items={data.immunizations} {...gap} />
    </div>
  );
}
