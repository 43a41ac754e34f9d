/**
 * Assembly of an International Patient Summary document (HL7 IPS 2.0.0, Bundle-uv-ips) from records
 * already released by the gatekeeper: a Composition (LOINC 60591-5) with one section per section
 * slice given (the required ones of Composition-uv-ips: problems, allergies, medications), the
 * Patient, the authoring member as an Organization, and the records. Every entry gets a
 * `urn:uuid:` fullUrl and every reference inside the document points at one: the patient
 * reference of each record at the Patient entry, references between records of one member at
 * their entries, and references to anything not in the document become a `display` only.
 *
 * Pure: no I/O, no decisions (the gatekeeper decided and logged what is passed in).
 */
import type {
  Bundle,
  BundleEntry,
  CodeableConcept,
  Composition,
  CompositionSection,
  Organization,
  Patient,
  Reference,
  Resource,
} from '@medplum/fhirtypes';
import { MEMBER_SYSTEM } from '../remoteCodes.js';
import { isResourceType, patientPath } from '../resourceTypes.js';
import { IPS_BASE, type SectionSlice } from './ipsProfiles.js';
import { escapeXhtml, xhtmlDiv } from './xhtml.js';

export { escapeXhtml };

/** A member of the consortium, as named in the document. */
export interface SummaryMember {
  address: string;
  name: string;
}

/** A released record and the member that holds it. */
export interface SummaryRecord {
  resource: Resource;
  member: SummaryMember;
}

/** Something the reader must know about a section: a refusal, a member that did not answer, a record left out. */
export interface SummaryNote {
  /** The resource type it is about; undefined: every section. */
  resourceType?: string;
  text: string;
  /** Records were withheld (consent, purpose): an empty section then says `withheld`. */
  withheld: boolean;
}

export interface SummaryInput {
  patient: Patient;
  author: SummaryMember;
  /** The sections to write, each with the stored resource types it lists. */
  sections: readonly { slice: SectionSlice; resourceTypes: readonly string[] }[];
  records: readonly SummaryRecord[];
  notes: readonly SummaryNote[];
  /** v3 Confidentiality of the document: R when any record is sensitive (the caller decides), else N. */
  confidentiality: 'N' | 'R';
  now: Date;
  uuid: () => string;
}

const LOINC = 'http://loinc.org';
const EMPTY_REASON = 'http://terminology.hl7.org/CodeSystem/list-empty-reason';

const div = xhtmlDiv;
const list = (items: readonly string[]) =>
  items.length ? `<ul>${items.map((i) => `<li>${escapeXhtml(i)}</li>`).join('')}</ul>` : '';

const conceptText = (c: CodeableConcept | undefined): string =>
  c?.text ?? c?.coding?.find((x) => x.display)?.display ?? c?.coding?.[0]?.code ?? 'unnamed';

/** One line of narrative for a record. */
function describe(r: Resource): string {
  const x = r as unknown as Record<string, unknown>;
  switch (r.resourceType) {
    case 'Condition': {
      const status = conceptText(x.clinicalStatus as CodeableConcept | undefined);
      const onset = typeof x.onsetDateTime === 'string' ? `, since ${x.onsetDateTime}` : '';
      return `${conceptText(x.code as CodeableConcept)}${x.clinicalStatus ? ` (${status})` : ''}${onset}`;
    }
    case 'AllergyIntolerance': {
      const reactions = ((x.reaction as { manifestation?: CodeableConcept[] }[] | undefined) ?? [])
        .flatMap((re) => (re.manifestation ?? []).map(conceptText))
        .join(', ');
      const crit = typeof x.criticality === 'string' ? `, criticality ${x.criticality}` : '';
      return `${conceptText(x.code as CodeableConcept)}${reactions ? `: ${reactions}` : ''}${crit}`;
    }
    case 'MedicationRequest': {
      const dose = ((x.dosageInstruction as { text?: string }[] | undefined) ?? [])
        .map((d) => d.text)
        .filter(Boolean)
        .join('; ');
      return `${conceptText(x.medicationCodeableConcept as CodeableConcept)}${dose ? `, ${dose}` : ''} (${String(x.status ?? 'unknown')})`;
    }
    default:
      return r.resourceType;
  }
}

/** `Type/id` of a record, keyed by its member (two members may use the same ids). */
const keyOf = (member: string, ref: string) => `${member}|${ref}`;

/** Point every reference in `r` at a document entry, or keep only its display. */
function rewriteReferences(
  r: Resource,
  member: SummaryMember,
  patientUrl: string,
  urls: ReadonlyMap<string, string>,
): Resource {
  const copy = structuredClone(r) as Resource & Record<string, unknown>;
  const path = isResourceType(r.resourceType) ? patientPath(r.resourceType) : undefined;
  const patientKey = path?.split('.')[1];
  const originalPatient = patientKey ? (copy[patientKey] as Reference | undefined)?.reference : undefined;
  if (patientKey) copy[patientKey] = { reference: patientUrl };
  const walk = (v: unknown, top: boolean): unknown => {
    if (Array.isArray(v)) return v.map((x) => walk(x, false));
    if (typeof v !== 'object' || v === null) return v;
    const o = v as Record<string, unknown>;
    if (typeof o.reference === 'string' && !o.reference.startsWith('#') && !top) {
      const target =
        o.reference === patientUrl || o.reference === originalPatient
          ? patientUrl
          : urls.get(keyOf(member.address, o.reference));
      if (target) return { ...o, reference: target };
      const { reference, ...rest } = o;
      const type = reference.split(/[/?]/)[0];
      return { ...rest, display: rest.display ?? `${type} held at ${member.name} (not in this summary)` };
    }
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, walk(x, false)]));
  };
  return walk(copy, true) as Resource;
}

/** The IPS document Bundle for `input`. */
export function assembleIpsDocument(input: SummaryInput): Bundle {
  const urn = () => `urn:uuid:${input.uuid()}`;
  const patientUrl = urn();
  const authorUrl = urn();
  const compositionUrl = urn();
  const inSections = new Set(input.sections.flatMap((s) => s.resourceTypes));
  const records = input.records.filter((r) => inSections.has(r.resource.resourceType));
  const urls = new Map<string, string>();
  for (const r of records)
    urls.set(keyOf(r.member.address, `${r.resource.resourceType}/${r.resource.id}`), urn());
  const entryUrl = (r: SummaryRecord) =>
    urls.get(keyOf(r.member.address, `${r.resource.resourceType}/${r.resource.id}`)) as string;

  const organization: Organization = {
    resourceType: 'Organization',
    meta: { profile: [`${IPS_BASE}Organization-uv-ips`] },
    identifier: [{ system: MEMBER_SYSTEM, value: input.author.address }],
    name: input.author.name,
  };
  const sections: CompositionSection[] = input.sections.map(({ slice, resourceTypes }) => {
    const mine = records.filter((r) => resourceTypes.includes(r.resource.resourceType));
    const notes = input.notes.filter(
      (n) => n.resourceType === undefined || resourceTypes.includes(n.resourceType),
    );
    const lines = mine.map((r) => `${describe(r.resource)} — from ${r.member.name}`);
    const section: CompositionSection = {
      title: slice.title,
      code: { coding: [{ system: slice.system, code: slice.code }], text: slice.title },
      text: {
        status: 'generated',
        div: div(
          `${lines.length ? list(lines) : `<p>${escapeXhtml(notes.some((n) => n.withheld) ? 'Information withheld.' : 'No information available.')}</p>`}${notes.length ? `<p>Notes:</p>${list(notes.map((n) => n.text))}` : ''}`,
        ),
      },
    };
    if (mine.length) section.entry = mine.map((r) => ({ reference: entryUrl(r) }));
    else {
      const withheld = notes.some((n) => n.withheld);
      section.emptyReason = {
        coding: [
          {
            system: EMPTY_REASON,
            code: withheld ? 'withheld' : 'unavailable',
            display: withheld ? 'Information Withheld' : 'Unavailable',
          },
        ],
        text: withheld ? 'Information withheld' : 'No information available',
      };
    }
    return section;
  });
  const name = input.patient.name?.[0];
  const who = name ? [name.given?.join(' '), name.family].filter(Boolean).join(' ') || name.text : undefined;
  const composition: Composition = {
    resourceType: 'Composition',
    meta: { profile: [`${IPS_BASE}Composition-uv-ips`] },
    identifier: { system: 'urn:ietf:rfc:3986', value: urn() },
    status: 'final',
    type: { coding: [{ system: LOINC, code: '60591-5', display: 'Patient summary Document' }] },
    subject: { reference: patientUrl },
    date: input.now.toISOString(),
    author: [{ reference: authorUrl, display: input.author.name }],
    title: `International Patient Summary${who ? ` of ${who}` : ''}`,
    confidentiality: input.confidentiality,
    custodian: { reference: authorUrl, display: input.author.name },
    text: {
      status: 'generated',
      div: div(
        `<p>${escapeXhtml(`International Patient Summary${who ? ` of ${who}` : ''}, assembled by ${input.author.name} on ${input.now.toISOString()} from the records the patient's consent releases.`)}</p>`,
      ),
    },
    section: sections,
  };
  const patient = rewriteReferences(
    {
      ...structuredClone(input.patient),
      meta: { ...input.patient.meta, profile: [`${IPS_BASE}Patient-uv-ips`] },
    },
    input.author,
    patientUrl,
    new Map(),
  );
  const entry: BundleEntry[] = [
    { fullUrl: compositionUrl, resource: composition },
    { fullUrl: patientUrl, resource: patient },
    { fullUrl: authorUrl, resource: organization },
    ...records.map((r) => ({
      fullUrl: entryUrl(r),
      resource: rewriteReferences(r.resource, r.member, patientUrl, urls),
    })),
  ];
  return {
    resourceType: 'Bundle',
    meta: { profile: [`${IPS_BASE}Bundle-uv-ips`] },
    identifier: { system: 'urn:ietf:rfc:3986', value: urn() },
    type: 'document',
    timestamp: input.now.toISOString(),
    entry,
  };
}
