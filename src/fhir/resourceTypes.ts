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
  'Immunization',
  'Procedure',
  'DiagnosticReport',
  'DocumentReference',
] as const;
export type ResourceType = (typeof RESOURCE_TYPES)[number];

export const isResourceType = (t: string): t is ResourceType =>
  (RESOURCE_TYPES as readonly string[]).includes(t);

export type ParamKind = 'token' | 'reference' | 'date';

export interface ParamDef {
  kind: ParamKind;
  /** FHIRPath to the indexed values (relative to the resource). */
  path: string;
}

const patientRef = (path: string): ParamDef => ({ kind: 'reference', path });
const code = (path: string): ParamDef => ({ kind: 'token', path });
const date = (path: string): ParamDef => ({ kind: 'date', path });

/** Per-type search parameters beyond the common `_id`, `_lastUpdated`, `_count`, `_offset`. */
export const SEARCH_PARAMS: Record<ResourceType, Record<string, ParamDef>> = {
  Patient: { identifier: code('Patient.identifier') },
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
};

/** FHIRPath of the reference to the patient a resource belongs to (undefined for Patient itself). */
export function patientPath(type: ResourceType): string | undefined {
  return SEARCH_PARAMS[type].patient?.path;
}

/** Identifier system linking a Patient to the patient's chain address. */
export const PATIENT_ADDRESS_SYSTEM = 'urn:medchain:patient';
/** Extension carrying the patient's X25519 public key (base64), so records are wrapped to them. */
export const PATIENT_KEY_EXTENSION = 'https://medchain.dev/fhir/StructureDefinition/patient-encryption-key';
