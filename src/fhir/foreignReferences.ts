/**
 * Makes a record another member released resolvable by the reader (FHIR R4 references.html):
 * its references name things in the custodian's id space (`Patient/<custodian-local-id>`), which
 * mean nothing, or something else, at the reader's node. Rewritten:
 *
 * - the patient the read was about → `Patient?identifier=urn:medchain:patient|<address>`, a
 *   conditional reference the reader's node resolves to its own Patient for that chain address;
 *   the custodian's local patient id is not served;
 * - another record of a type stored here → `<Type>?_id=<id>&patient=<address>`: the search at the
 *   reader's node that returns it when the patient's consent shares it (also the entry's fullUrl);
 * - anything else relative (another patient, a Practitioner, an Organization: ids that resolve only
 *   at the custodian) → the reference is dropped and a `display` names the custodian.
 *
 * Absolute, `urn:` and contained (`#`) references are left alone. `meta.source` (set by the
 * requester) keeps naming the member the record came from.
 */
import type { Resource } from '@medplum/fhirtypes';
import { isResourceType, PATIENT_ADDRESS_SYSTEM } from './resourceTypes.js';

/** The conditional reference to the patient with chain address `address`. */
export const patientByAddress = (address: string): string =>
  `Patient?identifier=${PATIENT_ADDRESS_SYSTEM}|${address}`;

/** The reader-side search that finds record `type/id` of the patient at `address`. */
export const foreignRecordQuery = (type: string, id: string, address: string): string =>
  `${type}?_id=${id}&patient=${address}`;

const RELATIVE = /^([A-Z][A-Za-z]{1,63})\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[A-Za-z0-9\-.]{1,64})?$/;

function rewrite(ref: string, patientRef: string, address: string): string | null {
  const m = RELATIVE.exec(ref);
  if (!m) return ref;
  const [, type, id] = m as unknown as [string, string, string];
  if (`${type}/${id}` === patientRef) return patientByAddress(address);
  if (type !== 'Patient' && isResourceType(type)) return foreignRecordQuery(type, id, address);
  return null;
}

/**
 * A copy of `resource` (released by member `custodian` about the patient `patientRef` there, chain
 * address `address`) with its references rewritten as above.
 */
export function resolvableForeign<T extends Resource>(
  resource: T,
  patientRef: string,
  address: string,
  custodian: string,
): T {
  const walk = (v: unknown, inMeta: boolean): unknown => {
    if (Array.isArray(v)) return v.map((x) => walk(x, inMeta));
    if (typeof v !== 'object' || v === null) return v;
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = walk(x, inMeta || k === 'meta');
    const ref = (v as { reference?: unknown }).reference;
    if (!inMeta && typeof ref === 'string') {
      const r = rewrite(ref, patientRef, address);
      if (r === null) {
        delete out.reference;
        const kind = RELATIVE.exec(ref)?.[1] ?? 'resource';
        if (typeof out.display !== 'string') out.display = `a ${kind} known only to member ${custodian}`;
      } else out.reference = r;
    }
    return out;
  };
  return walk(resource, false) as T;
}
