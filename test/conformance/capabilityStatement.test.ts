/**
 * The CapabilityStatement is the truth (issue 15): every interaction, operation and search
 * parameter it lists is exercised and must work, and every FHIR R4 search parameter of a type it
 * does not list must be refused. A route that disappears, or a table entry the API does not honour,
 * fails here.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { getSearchParameters } from '@medplum/core';
import type { CapabilityStatement, CapabilityStatementRestResource, Resource } from '@medplum/fhirtypes';
import { capabilityStatement } from '../../src/fhir/capability.js';
import { loadFhirDefinitions } from '../../src/fhir/definitions.js';
import { startTestNode, type TestNode } from '../support/testNode.js';
import { assertValid } from './conformanceNode.js';

let t: TestNode;
let cs: CapabilityStatement;
before(async () => {
  loadFhirDefinitions();
  t = await startTestNode();
  cs = (await t.app.inject({ method: 'GET', url: '/fhir/metadata' })).json();
});
after(() => t?.close());

async function call(method: string, url: string, role: 'clinician' | 'admin' | 'billing', body?: unknown) {
  const r = await t.app.inject({
    method: method as 'GET',
    url,
    headers: {
      authorization: `Bearer ${await t.token(role)}`,
      ...(body ? { 'content-type': 'application/fhir+json' } : {}),
    },
    ...(body ? { payload: JSON.stringify(body) } : {}),
  });
  return { status: r.statusCode, body: r.body, json: () => r.json() };
}

const insurer = (account = `0x${'33'.repeat(20)}`) => ({
  identifier: { system: 'urn:medchain:member', value: account },
});
const claimType = {
  coding: [{ system: 'http://terminology.hl7.org/CodeSystem/claim-type', code: 'professional' }],
};
/** Insurance and claims are billing work: clinicians may not touch them (src/access/roles.ts). */
const FINANCIAL = new Set([
  'Coverage',
  'CoverageEligibilityRequest',
  'CoverageEligibilityResponse',
  'Claim',
  'ClaimResponse',
  'ExplanationOfBenefit',
]);
const roleFor = (type: string) => (FINANCIAL.has(type) ? 'billing' : 'clinician');

/** A minimal valid resource of each type the statement may list, about patient `pid`. */
function sample(type: string, pid: string): Resource {
  const subject = { reference: `Patient/${pid}` };
  const text = { text: 'conformance sample' };
  const samples: Record<string, Resource> = {
    Patient: {
      resourceType: 'Patient',
      name: [{ family: 'Capability', given: ['Conformance'] }],
      birthDate: '1970-01-01',
    },
    Encounter: {
      resourceType: 'Encounter',
      status: 'finished',
      class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
      subject,
    },
    Observation: { resourceType: 'Observation', status: 'final', code: text, subject },
    Condition: { resourceType: 'Condition', code: text, subject },
    AllergyIntolerance: {
      resourceType: 'AllergyIntolerance',
      clinicalStatus: {
        coding: [
          { system: 'http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical', code: 'active' },
        ],
      },
      code: text,
      patient: subject,
    },
    MedicationRequest: {
      resourceType: 'MedicationRequest',
      status: 'active',
      intent: 'order',
      medicationCodeableConcept: text,
      subject,
    },
    MedicationDispense: {
      resourceType: 'MedicationDispense',
      status: 'completed',
      medicationCodeableConcept: text,
      subject,
      whenHandedOver: '2024-01-02T10:00:00Z',
    },
    Immunization: {
      resourceType: 'Immunization',
      status: 'completed',
      vaccineCode: text,
      patient: subject,
      occurrenceDateTime: '2024-01-01',
    },
    Procedure: { resourceType: 'Procedure', status: 'completed', code: text, subject },
    DiagnosticReport: { resourceType: 'DiagnosticReport', status: 'final', code: text, subject },
    DocumentReference: {
      resourceType: 'DocumentReference',
      status: 'current',
      subject,
      content: [{ attachment: { contentType: 'text/plain', data: Buffer.from('note').toString('base64') } }],
    },
    Coverage: {
      resourceType: 'Coverage',
      status: 'active',
      beneficiary: subject,
      payor: [{ identifier: { system: 'urn:medchain:member', value: `0x${'33'.repeat(20)}` } }],
    },
    CoverageEligibilityRequest: {
      resourceType: 'CoverageEligibilityRequest',
      status: 'active',
      purpose: ['validation'],
      patient: subject,
      created: '2024-01-01',
      insurer: insurer(),
    },
    CoverageEligibilityResponse: {
      resourceType: 'CoverageEligibilityResponse',
      status: 'active',
      purpose: ['validation'],
      patient: subject,
      created: '2024-01-01',
      request: {
        identifier: { system: 'urn:ietf:rfc:3986', value: 'urn:uuid:0b9f5d3e-1c1e-4b8e-9d55-3b0c3f1b2a10' },
      },
      outcome: 'complete',
      insurer: insurer(),
    },
    Claim: {
      resourceType: 'Claim',
      status: 'active',
      type: claimType,
      use: 'claim',
      patient: subject,
      created: '2024-01-01',
      provider: insurer(`0x${'22'.repeat(20)}`),
      priority: {
        coding: [{ system: 'http://terminology.hl7.org/CodeSystem/processpriority', code: 'normal' }],
      },
      insurance: [
        {
          sequence: 1,
          focal: true,
          coverage: {
            identifier: {
              system: 'urn:ietf:rfc:3986',
              value: 'urn:uuid:6c1b1e6e-3d7a-4f7e-a9f1-2f9c6a0c7b21',
            },
          },
        },
      ],
    },
    ClaimResponse: {
      resourceType: 'ClaimResponse',
      status: 'active',
      type: claimType,
      use: 'claim',
      patient: subject,
      created: '2024-01-01',
      insurer: insurer(),
      outcome: 'complete',
    },
    ExplanationOfBenefit: {
      resourceType: 'ExplanationOfBenefit',
      status: 'active',
      type: claimType,
      use: 'claim',
      patient: subject,
      created: '2024-01-01',
      insurer: insurer(),
      provider: insurer(`0x${'22'.repeat(20)}`),
      outcome: 'complete',
      insurance: [
        {
          focal: true,
          coverage: {
            identifier: {
              system: 'urn:ietf:rfc:3986',
              value: 'urn:uuid:6c1b1e6e-3d7a-4f7e-a9f1-2f9c6a0c7b21',
            },
          },
        },
      ],
    },
  };
  const s = samples[type];
  assert.ok(s, `no sample ${type} resource: add one for the new type`);
  return s;
}

/** A well-formed value for a search parameter of `kind`. */
const sampleValue = (kind: string, pid: string) =>
  kind === 'reference' ? `Patient/${pid}` : kind === 'date' ? '2000-01-01' : 'conformance-token';

const resources = () => cs.rest?.[0]?.resource ?? [];
const stored = () => resources().filter((r) => r.interaction?.some((i) => i.code === 'create'));

describe('the CapabilityStatement does not lie', () => {
  test('it is valid R4, says CORS and names the security services', async () => {
    assertValid('metadata', cs);
    assert.equal(cs.rest?.[0]?.security?.cors, true);
    const cors = await t.app.inject({
      method: 'OPTIONS',
      url: '/fhir/Patient',
      headers: { origin: 'https://portal.example', 'access-control-request-method': 'GET' },
    });
    assert.equal(cors.headers['access-control-allow-origin'], 'https://portal.example', 'CORS answered');
    const services = cs.rest?.[0]?.security?.service?.flatMap((s) => s.coding?.map((c) => c.code)) ?? [];
    assert.deepEqual(services, ['staff-session', 'patient-signature', 'member-signature']);
    assert.ok(!services.includes('OAuth') && !services.includes('SMART-on-FHIR'));
  });

  test('every interaction and operation listed for a type works', async () => {
    const pid = (await call('POST', '/fhir/Patient', 'clinician', sample('Patient', 'x'))).json()
      .id as string;
    assert.ok(stored().length >= 10);
    for (const r of stored()) {
      const type = r.type;
      const codes = new Set(r.interaction?.map((i) => i.code));
      const seen = new Set<string>();
      const expect = async (
        code: string,
        method: string,
        url: string,
        status: number,
        role = roleFor(type),
        body?: unknown,
      ) => {
        assert.ok(codes.has(code as never), `${type}: ${code} exercised but not listed`);
        const res = await call(method, url, role as 'clinician', body);
        assert.equal(res.status, status, `${type} ${code}: ${method} ${url}: ${res.body.slice(0, 300)}`);
        seen.add(code);
        return res;
      };
      const created = (
        await expect('create', 'POST', `/fhir/${type}`, 201, roleFor(type), sample(type, pid))
      ).json();
      await expect('read', 'GET', `/fhir/${type}/${created.id}`, 200);
      await expect('update', 'PUT', `/fhir/${type}/${created.id}`, 200, roleFor(type), created);
      await expect('vread', 'GET', `/fhir/${type}/${created.id}/_history/1`, 200);
      await expect('history-instance', 'GET', `/fhir/${type}/${created.id}/_history`, 200);
      await expect('search-type', 'GET', `/fhir/${type}?_id=${created.id}`, 200);
      for (const op of r.operation ?? []) {
        assert.equal(type, 'Patient', `${type}: an operation with no exercise here (${op.name})`);
        assert.ok(
          ['everything', 'summary'].includes(op.name),
          `an operation with no exercise here ($${op.name})`,
        );
        const res = await call('GET', `/fhir/Patient/${pid}/$${op.name}`, 'clinician');
        assert.equal(res.status, 200, `$${op.name}: ${res.body.slice(0, 200)}`);
      }
      await expect('delete', 'DELETE', `/fhir/${type}/${created.id}`, 200, 'admin');
      assert.deepEqual([...codes].sort(), [...seen].sort(), `${type}: listed interactions not exercised`);
    }
  });

  test('every listed search parameter is accepted, and every other FHIR R4 parameter of the type refused', async () => {
    const pid = (await call('POST', '/fhir/Patient', 'clinician', sample('Patient', 'x'))).json()
      .id as string;
    for (const r of resources() as CapabilityStatementRestResource[]) {
      const listed = new Map((r.searchParam ?? []).map((p) => [p.name, p.type]));
      for (const [name, kind] of listed) {
        const v = r.type === 'AuditEvent' ? pid : sampleValue(kind as string, pid);
        const res = await call('GET', `/fhir/${r.type}?${name}=${encodeURIComponent(v)}`, roleFor(r.type));
        assert.equal(res.status, 200, `${r.type}?${name} is listed but: ${res.body.slice(0, 200)}`);
      }
      for (const [code, def] of Object.entries(getSearchParameters(r.type) ?? {})) {
        if (listed.has(code) || ['_count', '_offset', '_format'].includes(code)) continue;
        const v = sampleValue(def.type ?? 'token', pid);
        const res = await call('GET', `/fhir/${r.type}?${code}=${encodeURIComponent(v)}`, roleFor(r.type));
        assert.ok(
          res.status >= 400 && res.status < 500,
          `${r.type}?${code} is not listed but answered ${res.status}: ${res.body.slice(0, 200)}`,
        );
      }
    }
  });

  test('transaction and batch are listed and served at [base] and [base]/', async () => {
    const codes = cs.rest?.[0]?.interaction?.map((i) => i.code).sort();
    assert.deepEqual(codes, ['batch', 'transaction']);
    for (const type of codes ?? [])
      for (const url of ['/fhir', '/fhir/']) {
        const res = await call('POST', url, 'clinician', {
          resourceType: 'Bundle',
          type,
          entry: [{ request: { method: 'POST', url: 'Patient' }, resource: sample('Patient', 'x') }],
        });
        assert.equal(res.status, 200, `${type} at ${url}: ${res.body.slice(0, 200)}`);
        assert.equal(res.json().type, `${type}-response`);
      }
  });
  test('$match needs other members: a node without the chain leaves it out and answers 503; with the chain it is listed', async () => {
    const patient = cs.rest?.[0]?.resource?.find((r) => r.type === 'Patient');
    assert.deepEqual(
      (patient?.operation ?? []).map((o) => o.name),
      ['everything', 'summary'],
    );
    const res = await call('POST', '/fhir/Patient/$match', 'clinician', {
      resourceType: 'Parameters',
      parameter: [
        {
          name: 'resource',
          resource: {
            resourceType: 'Patient',
            name: [{ family: 'X', given: ['Y'] }],
            birthDate: '1980-01-02',
          },
        },
      ],
    });
    assert.equal(res.status, 503, res.body.slice(0, 200));
    const withChain = capabilityStatement({ name: 'medchain', version: 't' }, 'http://127.0.0.1/fhir', {
      chain: true,
    });
    assertValid('metadata with chain', withChain);
    const ops = withChain.rest?.[0]?.resource?.find((r) => r.type === 'Patient')?.operation ?? [];
    assert.deepEqual(
      ops.map((o) => [o.name, o.definition]),
      [
        ['everything', 'http://hl7.org/fhir/OperationDefinition/Patient-everything'],
        ['summary', 'http://hl7.org/fhir/uv/ips/OperationDefinition/summary'],
        ['match', 'http://hl7.org/fhir/OperationDefinition/Patient-match'],
      ],
    );
  });
  test('CoverageEligibilityRequest/$submit asks the insurer: left out and 503 without the chain, listed with it', async () => {
    const type = 'CoverageEligibilityRequest';
    assert.equal(cs.rest?.[0]?.resource?.find((r) => r.type === type)?.operation, undefined);
    const res = await call('POST', `/fhir/${type}/$submit`, 'billing', {
      resourceType: type,
      status: 'active',
      purpose: ['validation'],
      patient: { identifier: { system: 'urn:medchain:patient', value: `0x${'a1'.repeat(20)}` } },
      created: '2026-03-02T09:00:00Z',
      servicedDate: '2026-03-02',
    });
    assert.equal(res.status, 503, res.body.slice(0, 200));
    const withChain = capabilityStatement({ name: 'medchain', version: 't' }, 'http://127.0.0.1/fhir', {
      chain: true,
    });
    const ops = withChain.rest?.[0]?.resource?.find((r) => r.type === type)?.operation ?? [];
    assert.deepEqual(
      ops.map((o) => [o.name, o.definition]),
      [['submit', 'urn:medchain:operation:CoverageEligibilityRequest-submit']],
    );
  });
});
