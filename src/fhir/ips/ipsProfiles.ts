/**
 * The vendored IPS StructureDefinitions (hl7.fhir.uv.ips 2.0.0, vendor/hl7.fhir.uv.ips-2.0.0/):
 * read once, adapted in memory so that @medplum/core's validator can parse them, and indexed.
 * What the adaptation leaves out is checked by src/fhir/ips/validateIps.ts from the same files,
 * so nothing the IPS requires is hand-typed here (section codes, cardinalities, invariants).
 *
 * Adaptations for @medplum/core 4.5 (its snapshot parser throws on, or misreads, these):
 * 1. optional extension slices (`…extension:section-note`, min 0) are removed: nested inside the
 *    section slices they are attached to the wrong slicing (every section then matches no slice);
 * 2. `contentReference` elements inside a slice (`Composition.section:X.section`, max 0) are
 *    removed: the parser takes their cardinality as the slice's; the base element stays;
 * 3. slicing discriminators Medplum does not evaluate (`profile`, `exists`, and `type` on a path
 *    other than `$this`, which it compares with the slice's own type) are removed, and a slicing
 *    left with none is removed with its slices: Bundle.entry (type and profile of the resource)
 *    and each section's entry slicing (profile of the resolved target).
 */
import { readFileSync } from 'node:fs';
import { indexStructureDefinitionBundle } from '@medplum/core';
import type { ElementDefinition, StructureDefinition } from '@medplum/fhirtypes';
import { loadFhirDefinitions } from '../definitions.js';

/** The canonical base of IPS profiles. */
export const IPS_BASE = 'http://hl7.org/fhir/uv/ips/StructureDefinition/';

/** The vendored profiles (file StructureDefinition-<name>.json). */
export const IPS_PROFILE_NAMES = [
  'Bundle-uv-ips',
  'Composition-uv-ips',
  'Patient-uv-ips',
  'Organization-uv-ips',
  'AllergyIntolerance-uv-ips',
  'Condition-uv-ips',
  'MedicationRequest-uv-ips',
  'CodeableConcept-uv-ips',
  'Coding-uv-ips',
] as const;
export type IpsProfileName = (typeof IPS_PROFILE_NAMES)[number];

const VENDOR = new URL('../../../vendor/hl7.fhir.uv.ips-2.0.0/', import.meta.url);

/** One Composition.section slice of Composition-uv-ips. */
export interface SectionSlice {
  name: string;
  /** The section code's pattern (LOINC). */
  system: string;
  code: string;
  /** `short` of the slice without "IPS " and " Section" ("Allergies and Intolerances"). */
  title: string;
  min: number;
  max: number;
  /** Error-severity invariants of the slice (e.g. ips-comp-1), FHIRPath on the section. */
  constraints: { key: string; human: string; expression: string }[];
  /** Resource types an entry of the section may reference (from the entry element's target profiles). */
  entryTypes: string[];
}

/** One Bundle.entry slice of Bundle-uv-ips: a resource type and the profile its resources conform to. */
export interface EntrySlice {
  name: string;
  resourceType: string;
  /** Profile canonical, when the slice names one. */
  profile?: string;
  min: number;
  max: number;
}

export interface IpsProfiles {
  /** As vendored (unchanged). */
  raw: ReadonlyMap<string, StructureDefinition>;
  /** Adapted for @medplum/core, by canonical URL. */
  adapted: ReadonlyMap<string, StructureDefinition>;
  sections: readonly SectionSlice[];
  entries: readonly EntrySlice[];
  /** Bundle-uv-ips's minimum of Bundle.entry.fullUrl (1). */
  entryFullUrlMin: number;
}

const maxOf = (m: string | undefined) =>
  m === undefined || m === '*' ? Number.POSITIVE_INFINITY : Number(m);
const lastSegment = (url: string) => (url.split('|')[0] as string).split('/').pop() as string;

const supported = (d: { type?: string; path?: string }) =>
  d.type === 'value' || d.type === 'pattern' || (d.type === 'type' && d.path === '$this');

/** A copy of `sd` that @medplum/core's snapshot parser reads correctly (rules in the file comment). */
export function forMedplum(sd: StructureDefinition): StructureDefinition {
  const copy = structuredClone(sd);
  const dropped: string[] = [];
  // A dropped element takes its children and slices; a removed slicing (`<id>:`) its slices.
  const under = (id: string, p: string) =>
    p.endsWith(':') ? id.startsWith(p) : id === p || id.startsWith(`${p}.`) || id.startsWith(`${p}:`);
  const kept: ElementDefinition[] = [];
  for (const e of copy.snapshot?.element ?? []) {
    const id = e.id ?? '';
    if (dropped.some((p) => under(id, p))) continue;
    const optionalExtensionSlice = /\.(extension|modifierExtension):[^.:]+$/.test(id) && e.min === 0;
    const recursionInSlice = /:[^.]+\./.test(id) && e.contentReference !== undefined;
    if (optionalExtensionSlice || recursionInSlice) {
      dropped.push(id);
      continue;
    }
    if (e.slicing) {
      const discriminator = (e.slicing.discriminator ?? []).filter(supported);
      if (discriminator.length === 0) {
        delete e.slicing;
        dropped.push(`${id}:`);
      } else e.slicing.discriminator = discriminator;
    }
    kept.push(e);
  }
  copy.snapshot = { ...copy.snapshot, element: kept };
  return copy;
}

/** The section slices of the (unadapted) Composition-uv-ips. */
export function sectionSlices(composition: StructureDefinition): SectionSlice[] {
  const els = composition.snapshot?.element ?? [];
  return els
    .filter(
      (e) => e.path === 'Composition.section' && e.sliceName && e.id === `Composition.section:${e.sliceName}`,
    )
    .map((slice) => {
      const at = (suffix: string) => els.find((e) => e.id === `${slice.id}.${suffix}`);
      const coding = at('code')?.patternCodeableConcept?.coding?.[0];
      if (!coding?.system || !coding.code) throw new Error(`${slice.id} has no code pattern`);
      const targets = (at('entry')?.type ?? []).flatMap((t) => t.targetProfile ?? []);
      return {
        name: slice.sliceName as string,
        system: coding.system,
        code: coding.code,
        title: (slice.short ?? slice.sliceName ?? '').replace(/^IPS /, '').replace(/ Section$/, ''),
        min: slice.min ?? 0,
        max: maxOf(slice.max),
        constraints: (slice.constraint ?? [])
          .filter((c) => c.severity === 'error' && c.expression && c.key)
          .map((c) => ({ key: c.key as string, human: c.human ?? '', expression: c.expression as string })),
        entryTypes: [...new Set(targets.map(lastSegment))],
      };
    });
}

/** The entry slices of the (unadapted) Bundle-uv-ips. */
export function entrySlices(bundle: StructureDefinition): EntrySlice[] {
  const els = bundle.snapshot?.element ?? [];
  return els
    .filter((e) => e.path === 'Bundle.entry' && e.sliceName && e.id === `Bundle.entry:${e.sliceName}`)
    .map((slice) => {
      const type = els.find((e) => e.id === `${slice.id}.resource`)?.type?.[0];
      if (!type?.code) throw new Error(`${slice.id} has no resource type`);
      const profile = type.profile?.[0];
      return {
        name: slice.sliceName as string,
        resourceType: type.code,
        ...(profile ? { profile: profile.split('|')[0] as string } : {}),
        min: slice.min ?? 0,
        max: maxOf(slice.max),
      };
    });
}

/** Read one vendored StructureDefinition as it is on disk. */
export function readIpsProfile(name: IpsProfileName): StructureDefinition {
  return JSON.parse(readFileSync(new URL(`StructureDefinition-${name}.json`, VENDOR), 'utf8'));
}

let loaded: IpsProfiles | undefined;

/** Read, adapt and index the vendored IPS profiles (once; after the R4 definitions). */
export function loadIpsProfiles(): IpsProfiles {
  if (loaded) return loaded;
  loadFhirDefinitions();
  const raw = new Map<string, StructureDefinition>();
  const adapted = new Map<string, StructureDefinition>();
  for (const name of IPS_PROFILE_NAMES) {
    const sd = readIpsProfile(name);
    raw.set(sd.url as string, sd);
    adapted.set(sd.url as string, forMedplum(sd));
  }
  indexStructureDefinitionBundle([...adapted.values()]);
  const bundle = raw.get(`${IPS_BASE}Bundle-uv-ips`) as StructureDefinition;
  loaded = {
    raw,
    adapted,
    sections: sectionSlices(raw.get(`${IPS_BASE}Composition-uv-ips`) as StructureDefinition),
    entries: entrySlices(bundle),
    entryFullUrlMin: bundle.snapshot?.element?.find((e) => e.id === 'Bundle.entry.fullUrl')?.min ?? 0,
  };
  return loaded;
}
