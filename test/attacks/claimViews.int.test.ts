/**
 * Attack 22: the claims views (issue 13, `GET /claims/queue`, `GET /claims/submitted`), over real
 * sockets on the claims network (test/support/claimsNetwork.ts). One clean claim of the lab to the
 * insurer, then:
 *
 *   25a  every role but billing (and, for the queue, admin) at the insurer and at the lab asks for
 *        the lists: 403, and nothing of the claim in the answer; billing (the control) sees it.
 *   25b  the lists from elsewhere: another member's billing user at its own node (the hospital's
 *        queue and submitted list), the insurer's billing user for submitted claims, a lab token
 *        at the insurer, the hospital's node signing its own request to the insurer, no token:
 *        none of them gets the claim.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ClaimResponse } from '@medplum/fhirtypes';
import type { UserRole } from '../../src/access/roles.js';
import { claimIdOf } from '../../src/claims/claimDocuments.js';
import { request } from '../support/attackNetwork.js';
import { ClaimsNetwork } from '../support/claimsNetwork.js';
import { waitFor } from '../support/waitFor.js';

let cn: ClaimsNetwork;
let claimId: string;
before(async () => {
  cn = await ClaimsNetwork.start();
  const p = await cn.enroll(['insurer']);
  const enc = await cn.encounter(p);
  await cn.anchorLab();
  const r = await cn.submit(await cn.claim(p, 'insurer', [{ code: 'Z1020', encounter: enc }]));
  assert.equal(r.status, 200, JSON.stringify(r.body).slice(0, 400));
  claimId = claimIdOf(r.body as ClaimResponse) as string;
  assert.ok(claimId);
  await waitFor(
    'the insurer’s decision on chain',
    async () => (await cn.claimOf(claimId as `0x${string}`)) !== undefined,
    120_000,
  );
});
after(async () => {
  await cn?.close();
});

const leaks = (body: unknown) =>
  JSON.stringify(body ?? null)
    .toLowerCase()
    .includes(claimId.slice(2).toLowerCase());
const OTHERS: readonly UserRole[] = ['clinician', 'emergency-clinician', 'nurse', 'researcher'];

describe('attack: claims views', { timeout: 900_000 }, () => {
  test('25a. only billing (and the insurer’s admin for the queue) see the lists', async () => {
    const found: string[] = [];
    const control = await cn.net.asUser('insurer', 'billing', '/claims/queue');
    assert.equal(control.status, 200);
    assert.ok(leaks(control.body), 'the control: the insurer’s billing user sees the claim');
    const admin = await cn.net.asUser('insurer', 'admin', '/claims/queue');
    assert.ok(admin.status === 200 && leaks(admin.body), 'the insurer’s admin sees the queue');
    const submitted = await cn.net.asUser('lab', 'billing', '/claims/submitted');
    assert.ok(
      submitted.status === 200 && leaks(submitted.body),
      'the control: the lab’s billing user sees it',
    );
    for (const role of OTHERS) {
      for (const [member, path] of [
        ['insurer', '/claims/queue'],
        ['lab', '/claims/submitted'],
      ] as const) {
        const r = await cn.net.asUser(member, role, path);
        if (r.status !== 403 || leaks(r.body)) found.push(`${role} at ${member} ${path}: ${r.status}`);
      }
    }
    const labAdmin = await cn.net.asUser('lab', 'admin', '/claims/submitted');
    if (labAdmin.status !== 403 || leaks(labAdmin.body)) found.push(`admin at lab: ${labAdmin.status}`);
    assert.deepEqual(found, []);
  });

  test('25b. nobody elsewhere gets the claim from the lists', async () => {
    const found: string[] = [];
    const probes: [string, Promise<{ status: number; body: unknown }>, number][] = [
      ['hospital billing, its queue', cn.net.asUser('hospital', 'billing', '/claims/queue'), 200],
      ['hospital billing, its submitted', cn.net.asUser('hospital', 'billing', '/claims/submitted'), 200],
      ['insurer billing, submitted', cn.net.asUser('insurer', 'billing', '/claims/submitted'), 200],
      [
        'a lab token at the insurer',
        request(`${cn.net.url('insurer')}/claims/queue`, {
          headers: { authorization: `Bearer ${await cn.net.token('lab', 'billing')}` },
        }),
        401,
      ],
      [
        'the hospital node, member-signed',
        cn.net.memberRequest('hospital', 'insurer', 'GET', '/claims/queue'),
        401,
      ],
      ['no token', request(`${cn.net.url('insurer')}/claims/queue`, {}), 401],
    ];
    for (const [what, p, status] of probes) {
      const r = await p;
      if (r.status !== status || leaks(r.body))
        found.push(`${what}: ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`);
    }
    assert.deepEqual(found, []);
  });
});
