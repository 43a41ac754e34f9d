/**
 * Referential integrity of a resource about to be written (FHIR R4 references §2.3.0): every
 * local reference (`Type/id` or `Type/id/_history/n` of a type this member stores) must name a
 * record that exists here and is not deleted, or one the same transaction writes; `#id` must name
 * a contained resource. What is not checked, on purpose (docs/api.md "References"):
 * - absolute URLs (another member's record, or any server's): they are not ours to resolve, and
 *   asking another member would be a cross-member read;
 * - `Type/id` of a type this node does not store (Practitioner, Organization, Medication...): there
 *   is nothing here to check them against.
 * Refused: `urn:uuid:` / `urn:oid:` outside a Bundle (src/records/bundleProcessor.ts resolves those
 * of a Bundle's own entries before this runs), conditional references (`Patient?identifier=...`),
 * which would be a search that the log does not show, and strings that are no reference form.
 */
import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import { unprocessable } from '../errors.js';
import { isResourceType, type ResourceType } from '../fhir/resourceTypes.js';

/** What the check can see of the store: a record's head, and whether a version is live. */
export interface ReferenceLookup {
  head(type: ResourceType, id: string): { version: number; deleted: boolean } | undefined;
  /** Whether version `version` of the record exists and is not a deletion. */
  liveVersion(type: ResourceType, id: string, version: number): boolean;
}

/** What a transaction is about to do, by "Type/id": its writes exist afterwards, its deletes do not. */
export type PlannedWrites = ReadonlyMap<string, 'write' | 'delete'>;

interface Found {
  path: string;
  reference: string;
}

/** Every `reference` string of every Reference in `value`, with its FHIRPath location. */
export function referencesIn(value: unknown, path: string, out: Found[] = []): Found[] {
  if (Array.isArray(value)) {
    value.forEach((v, i) => {
      referencesIn(v, `${path}[${i}]`, out);
    });
  } else if (typeof value === 'object' && value !== null) {
    for (const [k, v] of Object.entries(value)) {
      if (k === 'reference' && typeof v === 'string') out.push({ path, reference: v });
      else if (typeof v === 'object' && v !== null) referencesIn(v, `${path}.${k}`, out);
    }
  }
  return out;
}

const LOCAL = /^([A-Z][A-Za-z]{1,63})\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/(\d{1,9}))?$/;
const CONDITIONAL = /^[A-Z][A-Za-z]{1,63}\?/;
const ABSOLUTE = /^[A-Za-z][A-Za-z0-9+.-]*:/;

const issue = (path: string, text: string): OperationOutcomeIssue => ({
  severity: 'error',
  code: 'not-found',
  details: { text: `${path}: ${text}` },
  expression: [path],
});

/** Why `reference` (at `path`) does not resolve, or undefined when it does or is not checked here. */
function problem(
  resource: { resourceType: string; id: string; contained?: { id?: string }[] },
  path: string,
  reference: string,
  lookup: ReferenceLookup,
  planned: PlannedWrites,
): OperationOutcomeIssue | undefined {
  const shown = reference.slice(0, 100);
  if (reference.startsWith('#')) {
    const id = reference.slice(1);
    if (id === '' || (resource.contained ?? []).some((c) => c?.id === id)) return undefined;
    return issue(path, `${shown} names no contained resource (contained[].id)`);
  }
  if (/^urn:(uuid|oid):/i.test(reference))
    return issue(
      path,
      `${shown} resolves only inside a transaction or batch Bundle, to an entry's fullUrl; outside one refer to Type/id`,
    );
  if (CONDITIONAL.test(reference))
    return issue(
      path,
      `conditional reference ${shown} is not resolved here (it would be a patient lookup the log does not show); find the record with a search and refer to Type/id`,
    );
  if (ABSOLUTE.test(reference)) return undefined;
  const m = LOCAL.exec(reference);
  if (!m)
    return issue(path, `${shown} is not a reference (Type/id, Type/id/_history/n, #id or an absolute URL)`);
  const [, type, id, version] = m as unknown as [string, string, string, string | undefined];
  if (!isResourceType(type)) return undefined;
  const missing = issue(path, `${type}/${id} does not exist at this member`);
  if (type === resource.resourceType && id === resource.id) return undefined; // itself
  const plan = planned.get(`${type}/${id}`);
  if (plan === 'delete') return missing;
  const head = lookup.head(type, id);
  if (version === undefined) return plan === 'write' || (head && !head.deleted) ? undefined : missing;
  const v = Number(version);
  if (lookup.liveVersion(type, id, v)) return undefined;
  if (plan === 'write' && v === (head?.version ?? 0) + 1) return undefined;
  return issue(path, `${type}/${id}/_history/${v} does not exist at this member`);
}

/**
 * Refuse (422, every unresolved reference named with its element) a resource whose references do
 * not resolve here. `resource.id` is the id it is written under (a reference to itself resolves).
 */
export function checkReferences(
  resource: { resourceType: string; id: string; contained?: { id?: string }[] },
  lookup: ReferenceLookup,
  planned: PlannedWrites = new Map(),
): void {
  const issues = referencesIn(resource, resource.resourceType).flatMap((r) => {
    const p = problem(resource, r.path, r.reference, lookup, planned);
    return p ? [p] : [];
  });
  if (issues.length === 0) return;
  const first = issues[0]?.details?.text ?? '';
  throw unprocessable(
    `${resource.resourceType} has a reference that does not resolve: ${first}${
      issues.length > 1 ? ` (and ${issues.length - 1} more)` : ''
    }`,
    issues,
  );
}
