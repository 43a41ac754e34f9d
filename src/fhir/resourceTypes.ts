/**
 * The FHIR R4 resource types a medchain node stores, and the search parameters each supports
 * (names and meaning as in FHIR R4; a type without a parameter in FHIR does not get one here).
 */
export const RESOURCE_TYPES = [
  'Patient',
  'Encounter',
  'Observation',
  'Condition',
  'AllergyIntolerance',
  'MedicationRequest',
  // Dispensing a verified drug unit to a patient (src/supply/medicationDispense.ts).
  'MedicationDispense',
  'Immunization',
  'Procedure',
  'DiagnosticReport',
  'DocumentReference',
  'Coverage',
  'CoverageEligibilityRequest',
  'CoverageEligibilityResponse',
  'Claim',
  'ClaimResponse',
  'ExplanationOfBenefit',
] as const;
export type ResourceType = (typeof RESOURCE_TYPES)[number];

/**
 * The financial types (insurance and claims, issue 13): billing and insurer staff work with them,
 * clinicians do not (src/access/roles.ts); their consent category is `general` (recordCategory.ts).
 */
export const FINANCIAL_TYPES = [
  'Coverage',
  'CoverageEligibilityRequest',
  'CoverageEligibilityResponse',
  'Claim',
  'ClaimResponse',
  'ExplanationOfBenefit',
] as const satisfies readonly ResourceType[];
export type FinancialType = (typeof FINANCIAL_TYPES)[number];
export const isFinancialType = (t: string): t is FinancialType =>
  (FINANCIAL_TYPES as readonly string[]).includes(t);

export const isResourceType = (t: string): t is ResourceType =>
  (RESOURCE_TYPES as readonly string[]).includes(t);

export type ParamKind = 'token' | 'reference' | 'date' | 'string';

export interface ParamDef {
  kind: ParamKind;
  /** FHIRPath to the indexed values (relative to the resource). */
  path: string;
  /** The code system of a plain `code` element (e.g. Patient.gender), so `system|code` finds it too. */
  system?: string;
  /**
   * Kept only as blind tokens, never as plaintext: a string as its normalized name parts
   * (src/fhir/nameParts.ts), a date as one token per precision (src/fhir/dateTokens.ts).
   */
  blind?: true;
  /** How this node departs from the parameter's FHIR definition (the CapabilityStatement says so). */
  documentation?: string;
}

const patientRef = (path: string): ParamDef => ({ kind: 'reference', path });
const code = (path: string): ParamDef => ({ kind: 'token', path });
const date = (path: string): ParamDef => ({ kind: 'date', path });

const NAME_DOC =
  "Matches whole name parts, case- and accent-insensitive (NFKD, diacritics stripped; parts split on spaces, hyphens and apostrophes, and O'Brien also matches OBrien), not prefixes as in FHIR: the blind index keeps no prefixes. Several parts in one value must all match; commas separate alternatives.";
const namePart = (path: string): ParamDef => ({ kind: 'string', path, blind: true, documentation: NAME_DOC });

/** Per-type search parameters beyond the common `_id`, `_lastUpdated`, `_count`, `_offset`. */
export const SEARCH_PARAMS: Record<ResourceType, Record<string, ParamDef>> = {
  Patient: {
    identifier: code('Patient.identifier'),
    name: namePart('Patient.name'),
    family: namePart('Patient.name.family'),
    given: namePart('Patient.name.given'),
    birthdate: {
      kind: 'date',
      path: 'Patient.birthDate',
      blind: true,
      documentation:
        'Equality only, at year, month or day precision (1980, 1980-04, 1980-04-01): the birth date is kept as blind tokens, so the prefixes ge, le, gt, lt are refused.',
    },
    gender: { kind: 'token', path: 'Patient.gender', system: 'http://hl7.org/fhir/administrative-gender' },
  },
  Encounter: {
    patient: patientRef('Encounter.subject'),
    subject: patientRef('Encounter.subject'),
    date: date('Encounter.period'),
  },
  Observation: {
    patient: patientRef('Observation.subject'),
    subject: patientRef('Observation.subject'),
    code: code('Observation.code'),
    date: date('Observation.effective'),
  },
  Condition: {
    patient: patientRef('Condition.subject'),
    subject: patientRef('Condition.subject'),
    code: code('Condition.code'),
  },
  AllergyIntolerance: {
    patient: patientRef('AllergyIntolerance.patient'),
    code: code('AllergyIntolerance.code'),
    date: date('AllergyIntolerance.recordedDate'),
  },
  MedicationRequest: {
    patient: patientRef('MedicationRequest.subject'),
    subject: patientRef('MedicationRequest.subject'),
    code: code('MedicationRequest.medication'),
  },
  MedicationDispense: {
    patient: patientRef('MedicationDispense.subject'),
    subject: patientRef('MedicationDispense.subject'),
    whenhandedover: date('MedicationDispense.whenHandedOver'),
  },
  Immunization: { patient: patientRef('Immunization.patient'), date: date('Immunization.occurrence') },
  Procedure: {
    patient: patientRef('Procedure.subject'),
    subject: patientRef('Procedure.subject'),
    code: code('Procedure.code'),
    date: date('Procedure.performed'),
  },
  DiagnosticReport: {
    patient: patientRef('DiagnosticReport.subject'),
    subject: patientRef('DiagnosticReport.subject'),
    code: code('DiagnosticReport.code'),
    date: date('DiagnosticReport.effective'),
  },
  DocumentReference: {
    patient: patientRef('DocumentReference.subject'),
    subject: patientRef('DocumentReference.subject'),
    date: date('DocumentReference.date'),
  },
  Coverage: {
    patient: patientRef('Coverage.beneficiary'),
    beneficiary: patientRef('Coverage.beneficiary'),
    identifier: code('Coverage.identifier'),
    status: code('Coverage.status'),
  },
  CoverageEligibilityRequest: {
    patient: patientRef('CoverageEligibilityRequest.patient'),
    identifier: code('CoverageEligibilityRequest.identifier'),
    created: date('CoverageEligibilityRequest.created'),
    status: code('CoverageEligibilityRequest.status'),
  },
  CoverageEligibilityResponse: {
    patient: patientRef('CoverageEligibilityResponse.patient'),
    identifier: code('CoverageEligibilityResponse.identifier'),
    created: date('CoverageEligibilityResponse.created'),
    outcome: code('CoverageEligibilityResponse.outcome'),
    status: code('CoverageEligibilityResponse.status'),
  },
  Claim: {
    patient: patientRef('Claim.patient'),
    identifier: code('Claim.identifier'),
    created: date('Claim.created'),
    status: code('Claim.status'),
    use: code('Claim.use'),
  },
  ClaimResponse: {
    patient: patientRef('ClaimResponse.patient'),
    identifier: code('ClaimResponse.identifier'),
    created: date('ClaimResponse.created'),
    outcome: code('ClaimResponse.outcome'),
    status: code('ClaimResponse.status'),
  },
  ExplanationOfBenefit: {
    patient: patientRef('ExplanationOfBenefit.patient'),
    identifier: code('ExplanationOfBenefit.identifier'),
    created: date('ExplanationOfBenefit.created'),
    status: code('ExplanationOfBenefit.status'),
  },
};

/** FHIRPath of the reference to the patient a resource belongs to (undefined for Patient itself). */
export function patientPath(type: ResourceType): string | undefined {
  return SEARCH_PARAMS[type].patient?.path;
}

/** Identifier system linking a Patient to the patient's chain address. */
export const PATIENT_ADDRESS_SYSTEM = 'urn:medchain:patient';
/** Extension carrying the patient's X25519 public key (base64), so records are wrapped to them. */
export const PATIENT_KEY_EXTENSION = 'https://medchain.dev/fhir/StructureDefinition/patient-encryption-key';
