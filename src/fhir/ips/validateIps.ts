/**
 * Validation of an IPS document Bundle (HL7 IPS 2.0.0) against the vendored profiles:
 *
 * - @medplum/core validateResource with the (adapted) Bundle-uv-ips: R4 structure and types of the
 *   Bundle and every resource in it, the profile's cardinalities (identifier, timestamp, fullUrl,
 *   no search/request/response), fixed values and patterns, and its error invariants (bdl-ips-1:
 *   the Composition is the first entry; R4's bdl-*);
 * - each entry's resource with the profile of its Bundle-uv-ips entry slice (Composition-uv-ips:
 *   type 60591-5, subject, section cardinality by code; Patient-uv-ips: name, birthDate; …);
 * - here, from the same vendored files, what Medplum cannot evaluate (see ipsProfiles.ts): the entry
 *   slices' cardinalities by resource type, the required sections by their code pattern, each
 *   section slice's invariants (ips-comp-1: entries or an emptyReason) evaluated with Medplum's
 *   FHIRPath, that section entries reference the types the slice allows, and that every reference
 *   in the document resolves to an entry's fullUrl.
 *
 * Not checked: terminology bindings (no value-set expansion), profile discriminators on section
 * entries beyond the entry's own profile, and the optional section-note extension's profile.
 */
import { evalFhirPath, OperationOutcomeError, validateResource } from '@medplum/core';
import type { Bundle, Composition, OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { IPS_BASE, type IpsProfiles, loadIpsProfiles } from './ipsProfiles.js';

const issue = (text: string, expression: string): OperationOutcomeIssue => ({
  severity: 'error',
  code: 'invariant',
  details: { text },
  expression: [expression],
});

/** Medplum's error issues for `resource` against the adapted profile `url` (warnings dropped). */
function medplumIssues(resource: Resource, url: string, profiles: IpsProfiles, at: string) {
  const profile = profiles.adapted.get(url);
  if (!profile) return [issue(`no vendored profile ${url} to validate ${resource.resourceType} with`, at)];
  try {
    validateResource(resource, { profile });
    return [];
  } catch (err) {
    if (!(err instanceof OperationOutcomeError)) throw err;
    return (err.outcome.issue ?? [])
      .filter((i) => i.severity === 'error')
      .map((i) => ({
        ...i,
        expression: (i.expression ?? []).map((e) => {
          // Medplum's paths start at the resource validated; say where it sits in the document.
          const rest = e.replace(/^\w+\.?/, '');
          return at === '' ? e : rest ? `${at}.${rest}` : at;
        }),
      }));
  }
}

/** The profile a resource of `type` conforms to in an IPS document (its only Bundle-uv-ips entry slice). */
export function ipsProfileOf(type: string, profiles = loadIpsProfiles()): string | undefined {
  const slices = profiles.entries.filter((s) => s.resourceType === type);
  return slices.length === 1 ? slices[0]?.profile : undefined;
}

/** Error issues of one resource against its IPS profile (none when it conforms). */
export function validateIpsEntry(resource: Resource, profiles = loadIpsProfiles()): OperationOutcomeIssue[] {
  const url = ipsProfileOf(resource.resourceType, profiles);
  if (!url) return [issue(`no single IPS profile for ${resource.resourceType}`, resource.resourceType)];
  return medplumIssues(resource, url, profiles, resource.resourceType);
}

/** Every `reference` string inside `v`, with its path. */
function references(v: unknown, at: string): { at: string; ref: string }[] {
  if (Array.isArray(v)) return v.flatMap((x, i) => references(x, `${at}[${i}]`));
  if (typeof v !== 'object' || v === null) return [];
  return Object.entries(v).flatMap(([k, x]) =>
    k === 'reference' && typeof x === 'string' ? [{ at: `${at}.${k}`, ref: x }] : references(x, `${at}.${k}`),
  );
}

const hasCoding = (
  c: Composition['section'] extends (infer S)[] | undefined ? S : never,
  system: string,
  code: string,
) => (c.code?.coding ?? []).some((x) => x.system === system && x.code === code);

/** Error issues of an IPS document Bundle (none when it validates). */
export function validateIpsDocument(bundle: Bundle, profiles = loadIpsProfiles()): OperationOutcomeIssue[] {
  const issues = medplumIssues(bundle, `${IPS_BASE}Bundle-uv-ips`, profiles, '');
  const entries = bundle.entry ?? [];
  // Entry slices by resource type, and each resource against its slice's profile.
  const byType = new Map<string, typeof profiles.entries>();
  for (const s of profiles.entries) byType.set(s.resourceType, [...(byType.get(s.resourceType) ?? []), s]);
  for (const [type, slices] of byType) {
    if (slices.length !== 1) continue; // several profiles of one type (Observation): all 0..*
    const s = slices[0] as (typeof slices)[number];
    const n = entries.filter((e) => e.resource?.resourceType === type).length;
    if (n < s.min || n > s.max)
      issues.push(
        issue(
          `Bundle-uv-ips slice '${s.name}' needs ${s.min}..${Number.isFinite(s.max) ? s.max : '*'} ${type} entries, found ${n}`,
          'Bundle.entry',
        ),
      );
  }
  entries.forEach((e, i) => {
    const r = e.resource;
    if (!r) return;
    const slices = byType.get(r.resourceType);
    const url = slices?.length === 1 ? slices[0]?.profile : undefined;
    if (url) issues.push(...medplumIssues(r, url, profiles, `Bundle.entry[${i}].resource`));
  });
  // References resolve inside the document (Medplum does not report a missing entry.fullUrl).
  const byUrl = new Map<string, Resource>();
  entries.forEach((e, i) => {
    if (!e.fullUrl && profiles.entryFullUrlMin > 0)
      issues.push(
        issue(`entry ${i} has no fullUrl (Bundle-uv-ips: Bundle.entry.fullUrl 1..1)`, `Bundle.entry[${i}]`),
      );
    if (!e.fullUrl || !e.resource) return;
    if (byUrl.has(e.fullUrl))
      issues.push(issue(`fullUrl ${e.fullUrl} is used twice`, `Bundle.entry[${i}].fullUrl`));
    byUrl.set(e.fullUrl, e.resource);
  });
  entries.forEach((e, i) => {
    for (const { at, ref } of references(e.resource, `Bundle.entry[${i}].resource`))
      if (!ref.startsWith('#') && !byUrl.has(ref))
        issues.push(issue(`reference ${ref} does not resolve to an entry of the document`, at));
  });
  // Sections: required by code, invariants, entry types.
  const composition = entries[0]?.resource;
  if (composition?.resourceType !== 'Composition') {
    issues.push(issue('the first entry must be the Composition', 'Bundle.entry[0]'));
    return issues;
  }
  const sections = composition.section ?? [];
  for (const slice of profiles.sections) {
    const found = sections
      .map((s, i) => ({ s, i }))
      .filter(({ s }) => hasCoding(s, slice.system, slice.code));
    if (found.length < slice.min || found.length > slice.max)
      issues.push(
        issue(
          `Composition-uv-ips needs ${slice.min}..${Number.isFinite(slice.max) ? slice.max : '*'} '${slice.title}' section (${slice.code}), found ${found.length}`,
          'Bundle.entry[0].resource.section',
        ),
      );
    for (const { s, i } of found) {
      const at = `Bundle.entry[0].resource.section[${i}]`;
      for (const c of slice.constraints) {
        const v = evalFhirPath(c.expression, s);
        if (!(v.length === 1 && v[0] === true)) issues.push(issue(`${c.key}: ${c.human}`, at));
      }
      (s.entry ?? []).forEach((ref, j) => {
        const target = ref.reference ? byUrl.get(ref.reference) : undefined;
        if (target && !slice.entryTypes.includes(target.resourceType))
          issues.push(
            issue(`a ${slice.title} section may not list a ${target.resourceType}`, `${at}.entry[${j}]`),
          );
      });
    }
  }
  return issues;
}
