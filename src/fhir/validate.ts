/**
 * Validation of incoming resources against the FHIR R4 StructureDefinitions (@medplum/core
 * validateResource) and their required value-set bindings (src/fhir/requiredBindings.ts), plus
 * medchain's own rules: the type must be one this node stores and match the URL, ids must be FHIR
 * ids, and the patient chain address must be an address. (References are checked against the
 * store by src/records/referenceCheck.ts, which needs the store.)
 */
import { OperationOutcomeError, validateResource } from '@medplum/core';
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

/**
 * Check the shape of an untrusted JSON value and validate it; returns it typed. `terms` are the
 * value sets required bindings are checked against (the R4 definitions unless a test gives others).
 */
export function validateIncoming(
  body: unknown,
  expectedType?: ResourceType,
  terms: ValueSetIndex = definitionValueSets(),
): Resource & { resourceType: ResourceType } {
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
  const id = (body as { id?: unknown }).id;
  if (id !== undefined && (typeof id !== 'string' || !FHIR_ID.test(id)))
    throw badRequest('id is not a valid FHIR id');
  try {
    validateResource(body as Resource);
  } catch (err) {
    if (err instanceof OperationOutcomeError) {
      const issues = err.outcome.issue ?? [];
      throw unprocessable(`${type} is not valid FHIR R4: ${issues.length} problem(s)`, issues);
    }
    throw err;
  }
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
  const codes = requiredBindingIssues(body as Resource, terms);
  if (codes.length > 0) {
    const first = codes[0]?.details?.text ?? '';
    throw unprocessable(
      `${type} is not valid FHIR R4: ${first}${codes.length > 1 ? ` (and ${codes.length - 1} more code problem(s))` : ''}`,
      codes,
    );
  }
  if (type === 'Patient') checkPatientLinks(body as Patient);
  return body as Resource & { resourceType: ResourceType };
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
