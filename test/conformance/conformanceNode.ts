/**
 * The member the conformance suite drives: a test node (test/support/testNode.ts) served over a
 * real socket on 127.0.0.1 (free port), the R4 definitions loaded for @medplum/core's validator,
 * and a check that a response resource is valid R4.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { validateResource } from '@medplum/core';
import type { Bundle, Resource } from '@medplum/fhirtypes';
import { loadFhirDefinitions } from '../../src/fhir/definitions.js';
import { startTestNode, type TestNode } from '../support/testNode.js';

export interface ConformanceNode {
  t: TestNode;
  /** `http://127.0.0.1:<port>` */
  origin: string;
  /** The FHIR base, `<origin>/fhir`. */
  base: string;
  /** A staff clinician's Bearer token. */
  token: string;
  /** An admin's Bearer token (only admins delete: docs/api.md, Roles). */
  adminToken: string;
  close(): Promise<void>;
}

/** Start a member on a free loopback port. */
export async function startConformanceNode(): Promise<ConformanceNode> {
  loadFhirDefinitions();
  const t = await startTestNode();
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = t.app.server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;
  return {
    t,
    origin,
    base: `${origin}/fhir`,
    token: await t.token('clinician'),
    adminToken: await t.token('admin'),
    close: () => t.close(),
  };
}

/**
 * Assert `resource` is valid FHIR R4 by @medplum/core's validator (a Bundle's entry resources
 * with it); `what` names the response in the failure.
 */
export function assertValid(what: string, resource: unknown): void {
  const r = resource as Resource;
  assert.equal(
    typeof r?.resourceType,
    'string',
    `${what}: not a FHIR resource: ${JSON.stringify(r)?.slice(0, 200)}`,
  );
  try {
    validateResource(r);
  } catch (err) {
    const issues = (err as { outcome?: { issue?: unknown[] } }).outcome?.issue ?? err;
    assert.fail(`${what}: ${r.resourceType} is not valid R4: ${JSON.stringify(issues).slice(0, 800)}`);
  }
}

/** `assertValid` on a Bundle and each resource in it. */
export function assertValidBundle(what: string, bundle: unknown): Bundle {
  assertValid(what, bundle);
  const b = bundle as Bundle;
  for (const [i, e] of (b.entry ?? []).entries())
    if (e.resource) assertValid(`${what} entry[${i}]`, e.resource);
  return b;
}
