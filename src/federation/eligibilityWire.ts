/**
 * The member-signed eligibility message (issue 13): the provider's node POSTs
 * `{request: CoverageEligibilityRequest}` to the insurer's `/federation/eligibility` and gets
 * `{response: CoverageEligibilityResponse}` back. Both parsers are strict: any field not listed is
 * a 400 naming it, so nothing rides along; the resources themselves are checked by
 * src/claims/fhirEligibility.ts.
 */
import { badRequest } from '../errors.js';

/** The path of the insurer's intake. */
export const ELIGIBILITY_PATH = '/federation/eligibility';
/** Largest serialized request or response accepted (a request has no items: a few KiB at most). */
export const MAX_ELIGIBILITY_BYTES = 32_768;

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function only(body: unknown, key: 'request' | 'response', type: string): Record<string, unknown> {
  if (!isObject(body)) throw badRequest(`send {"${key}": {"resourceType": "${type}", ...}}`);
  for (const k of Object.keys(body))
    if (k !== key) throw badRequest(`eligibility: "${k.slice(0, 40)}" is not part of the message`);
  const r = body[key];
  if (!isObject(r) || r.resourceType !== type) throw badRequest(`eligibility.${key} must be a FHIR ${type}`);
  if (JSON.stringify(r).length > MAX_ELIGIBILITY_BYTES)
    throw badRequest(`eligibility.${key} is larger than ${MAX_ELIGIBILITY_BYTES} bytes`);
  return r;
}

/** The insurer's side: the request in a message (still to be checked as FHIR). */
export const parseEligibilityAsk = (body: unknown): Record<string, unknown> =>
  only(body, 'request', 'CoverageEligibilityRequest');

/** The provider's side: the response in the insurer's answer (still to be checked as FHIR). */
export const parseEligibilityAnswer = (body: unknown): Record<string, unknown> =>
  only(body, 'response', 'CoverageEligibilityResponse');
