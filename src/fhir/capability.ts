/** The CapabilityStatement of a medchain node: exactly what the API supports, no more. */
import type { CapabilityStatement } from '@medplum/fhirtypes';
import { RESOURCE_TYPES, SEARCH_PARAMS } from './resourceTypes.js';

export function capabilityStatement(
  software: { name: string; version: string },
  now = new Date(),
): CapabilityStatement {
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: now.toISOString(),
    kind: 'instance',
    software,
    fhirVersion: '4.0.1',
    format: ['json'],
    rest: [
      {
        mode: 'server',
        documentation:
          'Records are encrypted at rest (AES-256-GCM, keys wrapped with HPKE). _include, _revinclude, _has, chained search, modifiers and _sort are not supported and are refused.',
        security: {
          cors: false,
          service: [
            {
              coding: [
                { system: 'http://terminology.hl7.org/CodeSystem/restful-security-service', code: 'OAuth' },
              ],
            },
          ],
          description:
            'POST /auth/login with {username, password} returns a Bearer token (OAuth2 token response shape).',
        },
        interaction: [{ code: 'transaction' }, { code: 'batch' }],
        resource: RESOURCE_TYPES.map((type) => ({
          type,
          versioning: 'versioned-update',
          readHistory: true,
          updateCreate: true,
          conditionalCreate: false,
          conditionalUpdate: false,
          conditionalDelete: 'not-supported',
          interaction: ['read', 'vread', 'update', 'delete', 'history-instance', 'create', 'search-type'].map(
            (code) => ({
              code: code as 'read',
            }),
          ),
          searchParam: [
            ...Object.entries(SEARCH_PARAMS[type]).map(([name, d]) => ({
              name,
              type: d.kind,
              ...(d.documentation ? { documentation: d.documentation } : {}),
            })),
            { name: '_id', type: 'token' as const },
            { name: '_lastUpdated', type: 'date' as const },
          ],
        })),
      },
    ],
  };
}
