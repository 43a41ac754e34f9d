/**
 * One IPS document from the IPS documents of several members (each `GET /patients/<address>/summary`):
 * what a patient's own client does to get a summary of their records at every member, since no
 * member reads another member's records for the patient. Sections are merged by their code, the
 * first document's Patient stands for all (references to the others' Patient entries are pointed at
 * it), every member stays an author, and what could not be fetched is said in the narrative.
 *
 * Browser-safe (the portal imports it): types only, no Node.js or validator imports. The result is
 * validated by the node's tests (src/fhir/ips/mergeIps.test.ts), not in the browser.
 */
import type { Bundle, BundleEntry, Composition, CompositionSection, Resource } from '@medplum/fhirtypes';
import { escapeXhtml, xhtmlDiv } from './xhtml.js';

const INNER = /^<div[^>]*>([\s\S]*)<\/div>$/;
const inner = (div: string | undefined) => (div ? (INNER.exec(div)?.[1] ?? '') : '');
/** Replace every `reference` equal to a key of `map` by its value. */
function repoint<T>(v: T, map: ReadonlyMap<string, string>): T {
  if (Array.isArray(v)) return v.map((x) => repoint(x, map)) as T;
  if (typeof v !== 'object' || v === null) return v;
  return Object.fromEntries(
    Object.entries(v).map(([k, x]) => [
      k,
      k === 'reference' && typeof x === 'string' ? (map.get(x) ?? x) : repoint(x, map),
    ]),
  ) as T;
}

const codeOf = (s: CompositionSection) => s.code?.coding?.map((c) => `${c.system}|${c.code}`).join(',') ?? '';

/**
 * Merge `docs` (IPS document Bundles, at least one) into one; `missing` are sentences about members
 * whose summary could not be had ("clinic did not answer"), told in the Composition's narrative.
 */
export function mergeIpsDocuments(
  docs: readonly Bundle[],
  missing: readonly string[],
  now: Date,
  uuid: () => string,
): Bundle {
  const first = docs[0];
  if (!first) throw new Error('mergeIpsDocuments needs at least one document');
  const parts = docs.map((d) => {
    const entries = d.entry ?? [];
    const composition = entries[0]?.resource as Composition;
    const patient = entries.find((e) => e.resource?.resourceType === 'Patient');
    return { d, entries, composition, patient };
  });
  const base = parts[0] as (typeof parts)[number];
  const patientUrl = base.patient?.fullUrl as string;
  const toBase = new Map<string, string>();
  for (const p of parts.slice(1)) if (p.patient?.fullUrl) toBase.set(p.patient.fullUrl, patientUrl);

  const sections: CompositionSection[] = (base.composition.section ?? []).map((s) => {
    const same = parts.flatMap((p) => (p.composition.section ?? []).filter((x) => codeOf(x) === codeOf(s)));
    const entry = same.flatMap((x) => x.entry ?? []);
    const merged: CompositionSection = {
      ...s,
      text: {
        status: 'generated',
        div: xhtmlDiv(same.map((x) => inner(x.text?.div)).join('')),
      },
    };
    delete merged.entry;
    delete merged.emptyReason;
    if (entry.length) merged.entry = entry;
    else {
      const withheld = same.find((x) => x.emptyReason?.coding?.some((c) => c.code === 'withheld'));
      merged.emptyReason = (withheld ?? same[0])?.emptyReason ?? { text: 'No information available' };
    }
    return merged;
  });
  const authors = parts.flatMap((p) => p.composition.author ?? []);
  const restricted = parts.some((p) => p.composition.confidentiality === 'R');
  const composition: Composition = {
    ...base.composition,
    identifier: { system: 'urn:ietf:rfc:3986', value: `urn:uuid:${uuid()}` },
    date: now.toISOString(),
    author: authors,
    confidentiality: restricted ? 'R' : 'N',
    text: {
      status: 'generated',
      div: xhtmlDiv(
        `<p>${escapeXhtml(`${base.composition.title}: the summaries of ${authors.map((a) => a.display ?? 'a member').join(', ')}, merged by the patient's own client on ${now.toISOString()}.`)}</p>${missing.length ? `<ul>${missing.map((m) => `<li>${escapeXhtml(m)}</li>`).join('')}</ul>` : ''}`,
      ),
    },
    section: sections,
  };
  delete composition.custodian;
  const rest: BundleEntry[] = parts.flatMap((p, i) =>
    p.entries
      .slice(1)
      .filter((e) => i === 0 || e !== p.patient)
      .map((e) => ({ ...e, resource: repoint(e.resource as Resource, toBase) })),
  );
  return {
    resourceType: 'Bundle',
    ...(first.meta ? { meta: first.meta } : {}),
    identifier: { system: 'urn:ietf:rfc:3986', value: `urn:uuid:${uuid()}` },
    type: 'document',
    timestamp: now.toISOString(),
    entry: [{ fullUrl: base.entries[0]?.fullUrl as string, resource: composition }, ...rest],
  };
}
