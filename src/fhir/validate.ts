/**
 * Validation of incoming resources against the FHIR R4 StructureDefinitions (@medplum/core
 * validateResource) and their required value-set bindings (src/fhir/requiredBindings.ts), plus
 * medchain's own rules: the type must be one this node stores and match the URL, ids must be FHIR
 * ids, and the patient chain address must be an address. (References are checked against the
 * store by src/records/referenceCheck.ts, which needs the store.)
 */
import { isDeepStrictEqual } from 'node:util';
import { getDataType, OperationOutcomeError, validateResource } from '@medplum/core';
import type { Patient, Resource } from '@medplum/fhirtypes';
import { isAddress } from 'viem';
import { badRequest, unprocessable } from '../errors.js';
import { parseFhirDate } from './dates.js';
import { requiredBindingIssues } from './requiredBindings.js';
import {
  isResourceType,
  PATIENT_ADDRESS_SYSTEM,
  PATIENT_KEY_EXTENSION,
  RESOURCE_TYPES,
  type ResourceType,
} from './resourceTypes.js';
import { definitionValueSets, type ValueSetIndex } from './valueSets.js';

export const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;

declare const VALIDATED: unique symbol;
/**
 * A resource this process validated (validatedResource, revise): frozen, and recognized by the
 * record service, which stores it without validating it again. The brand is checked at run time
 * too (`isValidated`), so a value merely cast to this type is validated as any other.
 */
export type Validated<T extends Resource = Resource> = T & {
  readonly resourceType: ResourceType;
  readonly [VALIDATED]: true;
};

/** The objects validatedResource or revise accepted (never a copy: spreading one makes a new object). */
const validatedObjects = new WeakSet<object>();

/** Whether `v` is a resource validatedResource or revise accepted in this process. */
export const isValidated = (v: unknown): v is Validated =>
  typeof v === 'object' && v !== null && validatedObjects.has(v);

function deepFreeze<T>(v: T): T {
  if (typeof v !== 'object' || v === null || Object.isFrozen(v)) return v;
  Object.freeze(v);
  for (const x of Object.values(v as object)) deepFreeze(x);
  return v;
}

/** Kept as validated: deeply frozen, so what the record service stores is what was checked. */
function keep<T extends Resource>(r: T): Validated<T> {
  deepFreeze(r);
  validatedObjects.add(r);
  return r as Validated<T>;
}

/** The body is a JSON object of a type stored here (and the one expected); returns that type. */
function checkType(body: unknown, expectedType: ResourceType | undefined): ResourceType {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw badRequest('the body must be a FHIR resource (a JSON object)');
  }
  const type = (body as { resourceType?: unknown }).resourceType;
  if (typeof type !== 'string') throw badRequest('resourceType is missing');
  if (!isResourceType(type)) {
    throw badRequest(
      `resourceType "${type.slice(0, 40)}" is not stored here; supported: ${RESOURCE_TYPES.join(', ')}`,
    );
  }
  if (expectedType && type !== expectedType) {
    throw badRequest(`resourceType "${type}" does not match the URL (${expectedType})`);
  }
  return type;
}

function checkId(body: object): void {
  const id = (body as { id?: unknown }).id;
  if (id !== undefined && (typeof id !== 'string' || !FHIR_ID.test(id)))
    throw badRequest('id is not a valid FHIR id');
}

/** The R4 StructureDefinition check (@medplum/core): 422 with the validator's issues. */
function checkStructure(body: Resource, type: string): void {
  try {
    validateResource(body);
  } catch (err) {
    if (err instanceof OperationOutcomeError) {
      const issues = err.outcome.issue ?? [];
      throw unprocessable(`${type} is not valid FHIR R4: ${issues.length} problem(s)`, issues);
    }
    throw err;
  }
}

/** What the R4 validator leaves out: real dates, required bindings, medchain's Patient links. */
function checkTerms(body: Resource, type: string, terms: ValueSetIndex): void {
  const badDates = impossibleDates(body, type);
  if (badDates.length > 0) {
    throw unprocessable(
      `${type} is not valid FHIR R4: ${badDates.length} impossible date(s)`,
      badDates.map((path) => ({
        severity: 'error',
        code: 'value',
        details: { text: 'Invalid date' },
        expression: [path],
      })),
    );
  }
  const codes = requiredBindingIssues(body, terms);
  if (codes.length > 0) {
    const first = codes[0]?.details?.text ?? '';
    throw unprocessable(
      `${type} is not valid FHIR R4: ${first}${codes.length > 1 ? ` (and ${codes.length - 1} more code problem(s))` : ''}`,
      codes,
    );
  }
  if (type === 'Patient') checkPatientLinks(body as Patient);
}

/**
 * Check the shape of an untrusted JSON value and validate it; returns it typed. `terms` are the
 * value sets required bindings are checked against (the R4 definitions unless a test gives others).
 */
export function validateIncoming(
  body: unknown,
  expectedType?: ResourceType,
  terms: ValueSetIndex = definitionValueSets(),
): Resource & { resourceType: ResourceType } {
  if (isValidated(body)) return acceptValidated(body, expectedType);
  const type = checkType(body, expectedType);
  checkId(body as object);
  checkStructure(body as Resource, type);
  checkTerms(body as Resource, type, terms);
  return body as Resource & { resourceType: ResourceType };
}

/**
 * A resource validated before (validatedResource, revise), as the record service takes it: only
 * that it is of the expected type is checked (the cheap part); the rest held when it was validated
 * and it has been frozen since.
 */
export function acceptValidated<T extends Resource>(
  v: Validated<T>,
  expectedType?: ResourceType,
): Validated<T> {
  checkType(v, expectedType);
  return v;
}

/**
 * `validateIncoming` with the caller's own rules in between: `afterStructure` runs on the
 * structurally valid value before the terminology checks, so a caller's refusal (naming an
 * element) comes before a code-binding one, as when it parsed the value first and the record
 * service validated it when storing. The value is not kept as validated (see validatedResource).
 */
export function validateStaged<T extends Resource>(
  body: unknown,
  expectedType: ResourceType,
  opts: { afterStructure?: (r: T) => void; terms?: ValueSetIndex } = {},
): T {
  if (isValidated(body)) {
    const v = acceptValidated(body as Validated<T>, expectedType);
    opts.afterStructure?.(v);
    return v;
  }
  const type = checkType(body, expectedType);
  checkStructure(body as Resource, type);
  checkId(body as object);
  opts.afterStructure?.(body as T);
  checkTerms(body as Resource, type, opts.terms ?? definitionValueSets());
  return body as T;
}

/**
 * Validate an untrusted value once, where it enters (validateStaged), and keep it as validated:
 * frozen, and stored by the record service without a second validation. Pass the returned value
 * on; a copy (a spread) is a new object and would be validated again (or use `revise`).
 */
export function validatedResource<T extends Resource>(
  body: unknown,
  expectedType: ResourceType,
  opts: { afterStructure?: (r: T) => void; terms?: ValueSetIndex } = {},
): Validated<T> {
  return keep(validateStaged(body, expectedType, opts));
}

/**
 * Whether `built` validates in full all the same: under the test runner (node --test sets
 * NODE_TEST_CONTEXT in every test process and what it spawns) and with MEDCHAIN_CHECK_BUILT=1, so
 * every test that makes a node build a resource checks the builder's output.
 */
const CHECK_BUILT = process.env.MEDCHAIN_CHECK_BUILT === '1' || process.env.NODE_TEST_CONTEXT !== undefined;

/**
 * A resource this node built itself, only from values it validated (a validated resource's
 * elements, its own ids, codes and amounts), by a builder whose outputs are property-tested
 * against the R4 validator: kept as validated without validating it again. Never for anything
 * that came from outside the node as it came (that is `validatedResource`). Under the test
 * runner or MEDCHAIN_CHECK_BUILT=1 it is validated in full (see CHECK_BUILT), so a builder that
 * ever makes an invalid resource fails the tests that use it.
 */
export function built<T extends Resource>(resource: T, type: ResourceType): Validated<T> {
  if (CHECK_BUILT) return validatedResource(resource, type);
  checkType(resource, type);
  return keep(resource);
}

/** Resource-level invariants that concern only `contained` and `text` (DomainResource dom-*). */
const DOMAIN_INVARIANT = /^dom-\d+$/;

/**
 * A literal reference to another resource, not to a contained one: `Type/id` (optionally with its
 * version) or an absolute URI with no whitespace and no fragment.
 */
const RESOURCE_REFERENCE =
  /^(?:[A-Z][A-Za-z]{1,63}\/[A-Za-z0-9\-.]{1,64}(?:\/_history\/[A-Za-z0-9\-.]{1,64})?|[A-Za-z][A-Za-z0-9+.-]*:[^\s#]{1,2048})$/;

/**
 * Whether `b` is `a` with only literal references pointed elsewhere: the same structure and
 * values except `reference` strings, each a reference to a resource (RESOURCE_REFERENCE) in both.
 * The R4 rules on Reference.reference (a string; ref-1, which is about `#` references to
 * contained resources) hold of any such string, and no other element of `a` changed, so what was
 * valid in `a` is valid in `b` (as when a copy of a Claim points its references back at the
 * provider's records).
 */
function retargetedOnly(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!retargetedOnly(a[i], b[i])) return false;
    return true;
  }
  if (typeof a !== 'object' || a === null || typeof b !== 'object' || b === null || Array.isArray(b))
    return false;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka) {
    if (!Object.hasOwn(b, k)) return false;
    const x = (a as Record<string, unknown>)[k];
    const y = (b as Record<string, unknown>)[k];
    if (k === 'reference' && typeof x === 'string' && typeof y === 'string') {
      if (x !== y && !(RESOURCE_REFERENCE.test(x) && RESOURCE_REFERENCE.test(y))) return false;
    } else if (!retargetedOnly(x, y)) return false;
  }
  return true;
}

/**
 * `next`, a revision of the validated `base` built by this code (elements set, replaced or
 * dropped), validated where it differs: the top-level elements that changed are validated as a
 * partial resource (structure, cardinality, constraints, real dates, required bindings), the rest
 * was validated in `base` and is taken as it is (so is an element whose only change is literal
 * references pointed elsewhere: see retargetedOnly). A resource type with invariants across elements
 * (other than DomainResource's, about `contained` and `text`), or a change to `contained`,
 * `text` or the type, is validated whole. Either way nothing of `next` goes unchecked.
 */
export function revise<T extends Resource>(
  base: Validated<T>,
  next: T,
  terms: ValueSetIndex = definitionValueSets(),
): Validated<T> {
  if (!isValidated(base)) throw new TypeError('revise: the base resource was not validated');
  const type = base.resourceType;
  const b = base as unknown as Record<string, unknown>;
  const n = next as unknown as Record<string, unknown>;
  // An element whose only change is references pointed elsewhere stays valid (retargetedOnly).
  const changed = [...new Set([...Object.keys(b), ...Object.keys(n)])].filter(
    (k) => !isDeepStrictEqual(b[k], n[k]) && !retargetedOnly(b[k], n[k]),
  );
  const schema = getDataType(type);
  const whole =
    changed.some((k) => k === 'resourceType' || k === 'contained' || k === 'text') ||
    (schema.constraints ?? []).some((c) => c.severity === 'error' && !DOMAIN_INVARIANT.test(c.key));
  if (whole) {
    checkType(next, type);
    checkId(next);
    checkStructure(next, type);
    checkTerms(next, type, terms);
    return keep(next);
  }
  if (changed.length === 0) return keep(next);
  checkId(next);
  const partial = { resourceType: type } as Record<string, unknown>;
  for (const k of changed) if (n[k] !== undefined) partial[k] = n[k];
  // Constraints of a changed element may look at the contained resources (ref-1: `#id`).
  if (n.contained !== undefined) partial.contained = n.contained;
  // The partial lacks the unchanged required elements: only issues about what changed count.
  const about = (issue: { expression?: string[] }) =>
    (issue.expression ?? []).some(
      (e) =>
        changed.some(
          (k) => e === `${type}.${k}` || e.startsWith(`${type}.${k}.`) || e.startsWith(`${type}.${k}[`),
        ) || e === type,
    );
  try {
    validateResource(partial as unknown as Resource);
  } catch (err) {
    if (!(err instanceof OperationOutcomeError)) throw err;
    const issues = (err.outcome.issue ?? []).filter((i) => i.severity === 'error' && about(i));
    if (issues.length > 0)
      throw unprocessable(`${type} is not valid FHIR R4: ${issues.length} problem(s)`, issues);
  }
  checkTerms(partial as unknown as Resource, type, terms);
  return keep(next);
}

const DATE_SHAPE = /^\d{4}-\d{2}(-\d{2}(T[\d:.]+(Z|[+-]\d{2}:\d{2}))?)?$/;

/**
 * Paths of date-shaped strings that name no real instant (2020-02-31, 2024-13-01, 25:00). The
 * R4 validator checks the format only; a record with an impossible date is refused here.
 */
function impossibleDates(value: unknown, at: string): string[] {
  if (typeof value === 'string') return DATE_SHAPE.test(value) && !parseFhirDate(value) ? [at] : [];
  if (Array.isArray(value)) return value.flatMap((v, i) => impossibleDates(v, `${at}[${i}]`));
  if (typeof value === 'object' && value !== null) {
    return Object.entries(value).flatMap(([k, v]) => (k === 'div' ? [] : impossibleDates(v, `${at}.${k}`)));
  }
  return [];
}

function checkPatientLinks(p: Patient): void {
  for (const i of p.identifier ?? []) {
    if (
      i.system === PATIENT_ADDRESS_SYSTEM &&
      !(typeof i.value === 'string' && isAddress(i.value, { strict: false }))
    ) {
      throw unprocessable(
        `identifier ${PATIENT_ADDRESS_SYSTEM} must be the patient's chain address (0x + 40 hex digits)`,
      );
    }
  }
  for (const e of p.extension ?? []) {
    if (e.url === PATIENT_KEY_EXTENSION && patientKeyBytes(e.valueBase64Binary)?.length !== 32) {
      throw unprocessable(
        `extension ${PATIENT_KEY_EXTENSION} must be valueBase64Binary of a 32-byte X25519 public key`,
      );
    }
  }
}

function patientKeyBytes(b64: string | undefined): Buffer | undefined {
  if (typeof b64 !== 'string' || !/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) return undefined;
  return Buffer.from(b64, 'base64');
}

/** The patient's X25519 public key from a Patient resource, when it carries one. */
export function patientEncryptionKey(p: Patient): Uint8Array | undefined {
  const e = (p.extension ?? []).find((x) => x.url === PATIENT_KEY_EXTENSION);
  const k = patientKeyBytes(e?.valueBase64Binary);
  return k?.length === 32 ? new Uint8Array(k) : undefined;
}
