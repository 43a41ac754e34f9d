/**
 * Log entries as FHIR R4 AuditEvent resources, shaped after the IHE Basic Audit Log Patterns
 * (BALP): type "rest", subtype the FHIR interaction, action C/R/U/D/E, outcome 0 or 4, the
 * pseudonymous agent as requestor, the member as observer, the record and the patient as entities.
 */
import type { AuditEvent, AuditEventEntity } from '@medplum/fhirtypes';
import type { LogEntry } from './entry.js';

const DCM = 'http://dicom.nema.org/resources/ontology/DCM';
const RESTFUL = 'http://hl7.org/fhir/restful-interaction';
const V3_PURPOSE: Record<string, string> = {
  treatment: 'TREAT',
  payment: 'HPAYMT',
  operations: 'HOPERAT',
  research: 'HRESCH',
  emergency: 'ETREAT',
};

const INTERACTION: Record<string, [string, 'C' | 'R' | 'U' | 'D' | 'E']> = {
  create: ['create', 'C'],
  read: ['read', 'R'],
  vread: ['vread', 'R'],
  search: ['search-type', 'E'],
  update: ['update', 'U'],
  delete: ['delete', 'D'],
  history: ['history-instance', 'R'],
  export: ['search-system', 'E'],
};

/** The AuditEvent for log entry `e` (id "<member>-<index>"). */
export function toAuditEvent(e: LogEntry): AuditEvent {
  const [subtype, action] = INTERACTION[e.action] ?? [e.action, 'E'];
  const entity: AuditEventEntity[] = [];
  if (e.target?.id) {
    entity.push({
      what: {
        reference: `${e.target.resourceType}/${e.target.id}${e.target.version ? `/_history/${e.target.version}` : ''}`,
      },
      type: {
        system: 'http://terminology.hl7.org/CodeSystem/audit-entity-type',
        code: '2',
        display: 'System Object',
      },
      ...(e.target.ciphertextHash
        ? { detail: [{ type: 'ciphertextHash', valueString: e.target.ciphertextHash }] }
        : {}),
    });
  }
  if (e.patient) {
    entity.push({
      what: { identifier: { system: 'urn:medchain:patient', value: e.patient } },
      type: {
        system: 'http://terminology.hl7.org/CodeSystem/audit-entity-type',
        code: '1',
        display: 'Person',
      },
      role: { system: 'http://terminology.hl7.org/CodeSystem/object-role', code: '1', display: 'Patient' },
    });
  }
  const purpose = V3_PURPOSE[e.purpose];
  return {
    resourceType: 'AuditEvent',
    id: `${e.member.slice(2).toLowerCase()}-${e.index}`,
    type: { system: DCM, code: 'rest', display: 'RESTful Operation' },
    subtype: [{ system: RESTFUL, code: subtype }],
    action,
    recorded: new Date(e.time).toISOString(),
    outcome: e.outcome === 'permit' ? '0' : '4',
    outcomeDesc: e.reason,
    ...(purpose
      ? {
          purposeOfEvent: [
            { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason', code: purpose }] },
          ],
        }
      : {}),
    agent: [
      {
        type: {
          coding: [
            { system: 'http://terminology.hl7.org/CodeSystem/extra-security-role-type', code: 'humanuser' },
          ],
        },
        who: { identifier: { system: `urn:medchain:member:${e.member}:actor`, value: e.actor } },
        requestor: true,
      },
    ],
    source: {
      observer: { identifier: { system: 'urn:medchain:member', value: e.member } },
      type: [{ system: 'http://terminology.hl7.org/CodeSystem/security-source-type', code: '4' }],
    },
    ...(entity.length ? { entity } : {}),
    ...(e.action === 'break-glass'
      ? {
          meta: { security: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason', code: 'BTG' }] },
        }
      : {}),
  };
}
