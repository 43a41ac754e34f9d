import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Bundle } from '@medplum/fhirtypes';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { signInToken, startServedMembers } from '../../test/support/memberSetup.js';
import { startTestChain, type TestChain } from '../../test/support/testChain.js';
import type { Actor } from '../access/gatekeeper.js';
import { walletFor } from '../chain/clients.js';
import { type GrantRequest, signGrant, signRevoke } from '../chain/consentSignatures.js';
import { consortiumContracts } from '../chain/contracts.js';
import { consentAbi, registryAbi } from '../chain/generated/index.js';
import type { DeploymentManifest } from '../chain/manifest.js';
import { categoriesToMask, purposesToMask } from '../chain/scopes.js';
import { writeAndWait } from '../chain/transact.js';
import { decodeEntry, type LogEntry } from '../log/entry.js';
import type { MemberIdentity } from '../node/memberIdentity.js';
import { type MemberNode, type RunningNode, serveMemberNode } from '../node/memberNode.js';

const PASS = 'federation test passphrase';
const OPERATOR: Actor = { id: 'operator:test', role: 'operator', purpose: 'operations' };
const PATIENT = privateKeyToAccount(generatePrivateKey());
type Name = 'clinic' | 'lab' | 'pharmacy';
const NAMES: Name[] = ['clinic', 'lab', 'pharmacy'];

let t: TestChain;
let manifest: DeploymentManifest;
const ids = {} as Record<Name, MemberIdentity>;
const nodes = {} as Record<Name, { node: MemberNode; running: RunningNode }>;
const tokens = new Map<string, string>();

async function token(name: Name, user: string): Promise<string> {
  const k = `${name}/${user}`;
  if (!tokens.has(k)) {
    tokens.set(k, await signInToken(nodes[name].running.url, user, `${user} password 123`));
  }
  return tokens.get(k) as string;
}

async function search(user: string, type: string, headers: Record<string, string> = {}) {
  const r = await fetch(`${nodes.clinic.running.url}/fhir/${type}?patient=${PATIENT.address}`, {
    headers: { authorization: `Bearer ${await token('clinic', user)}`, ...headers },
  });
  return {
    status: r.status,
    body: (await r.json()) as Bundle & { issue?: { details?: { text?: string } }[] },
  };
}

const nonce = () => consortiumContracts(t.conn, manifest).consent.read.nonces([PATIENT.address]);
async function grant(categories: string[], purposes: string[], from = -60, seconds = 3600) {
  const now = BigInt(Math.floor(Date.now() / 1000));
  const g: GrantRequest = {
    patient: PATIENT.address,
    grantee: ids.clinic.address,
    granteeAdmission: await consortiumContracts(t.conn, manifest).registry.read.admissionOf([
      ids.clinic.address,
    ]),
    categories: categoriesToMask(categories),
    purposes: purposesToMask(purposes),
    validFrom: now + BigInt(from),
    expiry: now + BigInt(seconds),
    nonce: await nonce(),
    deadline: now + 600n,
  };
  await writeAndWait(t.conn, walletFor(t.conn, ids.lab.chainKey), {
    address: manifest.contracts.Consent,
    abi: consentAbi,
    functionName: 'grantWithSig',
    args: [g, await signGrant(PATIENT, manifest, g)],
  });
}
async function revoke() {
  const r = {
    patient: PATIENT.address,
    grantee: ids.clinic.address,
    nonce: await nonce(),
    deadline: BigInt(Math.floor(Date.now() / 1000) + 600),
  };
  await writeAndWait(t.conn, walletFor(t.conn, ids.lab.chainKey), {
    address: manifest.contracts.Consent,
    abi: consentAbi,
    functionName: 'revokeWithSig',
    args: [r, await signRevoke(PATIENT, manifest, r)],
  });
}

/** Entries of `name`'s log appended since `from`. */
const since = (name: Name, from: number): LogEntry[] =>
  nodes[name].node.log.entries(from, nodes[name].node.log.size).map((e) => decodeEntry(e.leaf));
const sizes = () => Object.fromEntries(NAMES.map((n) => [n, nodes[n].node.log.size])) as Record<Name, number>;

before(async () => {
  t = await startTestChain({ memberCount: 1 });
  const served = await startServedMembers(t, NAMES, {
    passphrase: PASS,
    usernames: ['clinician', 'emergency-clinician', 'admin'],
    serve: { anchor: { intervalMs: 60_000 } },
    endpoint: 'http://127.0.0.1',
  });
  Object.assign(ids, served.ids);
  Object.assign(nodes, served.nodes);
  manifest = served.manifest;
  // The lab holds the patient's lab result, a mental-health condition and a medication.
  const g = nodes.lab.node.gate;
  const p = await g.create(OPERATOR, 'Patient', {
    resourceType: 'Patient',
    identifier: [{ system: 'urn:medchain:patient', value: PATIENT.address }],
  });
  const subject = { reference: `Patient/${p.id}` };
  await g.create(OPERATOR, 'Observation', {
    resourceType: 'Observation',
    status: 'final',
    category: [
      {
        coding: [
          { system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' },
        ],
      },
    ],
    code: { coding: [{ system: 'http://loinc.org', code: '718-7', display: 'Hemoglobin' }] },
    valueQuantity: { value: 13.2, unit: 'g/dL' },
    subject,
  });
  await g.create(OPERATOR, 'Condition', {
    resourceType: 'Condition',
    meta: { security: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'PSY' }] },
    code: { text: 'depression' },
    subject,
  });
});
after(async () => {
  for (const n of NAMES) {
    await nodes[n]?.running.close();
    nodes[n]?.node.close();
  }
  await t.close();
});

/** The match entries of a search answer. */
const matches = (b: Bundle) => (b.entry ?? []).filter((e) => e.search?.mode === 'match');

/** What each member withheld, from the `suppressed` outcome entries: "member:Type:reason:categories". */
function withheld(b: Bundle): string[] {
  return (b.entry ?? [])
    .filter((e) => e.search?.mode === 'outcome')
    .flatMap(
      (e) =>
        (
          e.resource as {
            issue: {
              code: string;
              details: { coding?: { system: string; code: string; display?: string }[] };
            }[];
          }
        ).issue,
    )
    .filter((i) => i.code === 'suppressed')
    .map((i) => {
      const c = i.details.coding ?? [];
      const of = (sys: string) => c.filter((x) => x.system === sys).map((x) => x.code);
      const member = c.find((x) => x.system === 'urn:medchain:member')?.display;
      return `${member}:${of('http://hl7.org/fhir/resource-types')[0]}:${of('urn:medchain:refusal')[0]}:${of('urn:medchain:category').join(',')}`;
    })
    .sort();
}

const NONE_OBS = 'general,labs,imaging,mental-health,sexual-reproductive-health,substance-use,genetics';
const NOT_LABS_OBS = 'general,imaging,mental-health,sexual-reproductive-health,substance-use,genetics';

describe('cross-member reads under patient consent', () => {
  test('without consent: nothing shared, each member says what it withheld, a deny entry at both ends', async () => {
    const s0 = sizes();
    const r = await search('clinician', 'Observation');
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(matches(r.body).length, 0);
    assert.equal(r.body.total, 0);
    assert.deepEqual(withheld(r.body), [
      `lab:Observation:no-consent:${NONE_OBS}`,
      `pharmacy:Observation:no-consent:${NONE_OBS}`,
    ]);
    const atLab = since('lab', s0.lab);
    assert.deepEqual(
      atLab.map((e) => `${e.action}:${e.outcome}:${e.reason}`),
      ['search:deny:no-consent'],
    );
    assert.equal(atLab[0]?.actor, `member:${ids.clinic.address}`);
    assert.equal(atLab[0]?.patient, PATIENT.address);
    assert.deepEqual(
      since('pharmacy', s0.pharmacy).map((e) => `${e.action}:${e.outcome}:${e.reason}`),
      ['search:deny:no-consent'],
      'a member with nothing for the patient answers and logs exactly the same',
    );
    assert.ok(
      since('clinic', s0.clinic).some((e) => e.outcome === 'deny' && e.reason === 'remote-no-consent'),
    );
  });

  test('granted: the clinician reads the lab result held at the lab, logged at both ends', async () => {
    await grant(['labs'], ['treatment']);
    const s0 = sizes();
    const r = await search('clinician', 'Observation');
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const obs = matches(r.body)[0]?.resource as {
      valueQuantity: { value: number };
      meta: { source: string };
    };
    assert.equal(obs.valueQuantity.value, 13.2);
    assert.equal(obs.meta.source, `urn:medchain:member:${ids.lab.address}`);
    assert.deepEqual(withheld(r.body), [
      `lab:Observation:withheld:${NOT_LABS_OBS}`,
      `pharmacy:Observation:withheld:${NOT_LABS_OBS}`,
    ]);
    assert.deepEqual(
      since('lab', s0.lab).map((e) => `${e.action}:${e.outcome}:${e.reason}`),
      ['search:permit:consent', 'search:deny:withheld'],
    );
    assert.ok(
      since('clinic', s0.clinic).some(
        (e) => e.outcome === 'permit' && e.reason === 'received' && e.patient === PATIENT.address,
      ),
    );
    assert.deepEqual(
      since('pharmacy', s0.pharmacy).map((e) => `${e.outcome}:${e.reason}`),
      ['deny:withheld'],
      'a member with nothing for the patient releases nothing and says what it withheld',
    );
  });

  test('filters are applied by the requester to what consent released; a non-matching code gets the same refusals', async () => {
    const hit = await fetch(
      `${nodes.clinic.running.url}/fhir/Observation?patient=${PATIENT.address}&code=718-7`,
      {
        headers: { authorization: `Bearer ${await token('clinic', 'clinician')}` },
      },
    );
    const miss = await fetch(
      `${nodes.clinic.running.url}/fhir/Observation?patient=${PATIENT.address}&code=0000-0`,
      {
        headers: { authorization: `Bearer ${await token('clinic', 'clinician')}` },
      },
    );
    const [h, m] = [(await hit.json()) as Bundle, (await miss.json()) as Bundle];
    assert.equal(matches(h).length, 1);
    assert.equal(matches(m).length, 0);
    assert.deepEqual(withheld(h), withheld(m));
  });

  test('$everything gathers the local chart and what other members share under consent', async () => {
    const p = await nodes.clinic.node.gate.create(OPERATOR, 'Patient', {
      resourceType: 'Patient',
      identifier: [{ system: 'urn:medchain:patient', value: PATIENT.address }],
    });
    await nodes.clinic.node.gate.create(OPERATOR, 'Encounter', {
      resourceType: 'Encounter',
      status: 'finished',
      class: { code: 'AMB' },
      subject: { reference: `Patient/${p.id}` },
    });
    const r = await fetch(`${nodes.clinic.running.url}/fhir/Patient/${p.id}/$everything`, {
      headers: { authorization: `Bearer ${await token('clinic', 'clinician')}` },
    });
    assert.equal(r.status, 200);
    const b = (await r.json()) as Bundle;
    const types = matches(b)
      .map((e) => `${e.resource?.resourceType}${e.resource?.meta?.source ? '@remote' : ''}`)
      .sort();
    assert.deepEqual(
      types,
      ['Encounter', 'Observation@remote', 'Patient'],
      'labs shared; the mental-health condition is not',
    );
    assert.ok(
      withheld(b).some((w) => w.startsWith('lab:Condition:no-consent:')),
      'nothing of Condition is granted',
    );
    const billing = await fetch(`${nodes.clinic.running.url}/fhir/Patient/${p.id}/$everything`, {
      headers: { authorization: 'Bearer nope' },
    });
    assert.equal(billing.status, 401);
  });

  test('the grant covers exactly its scope: a sensitive category not named, and another purpose, are withheld', async () => {
    const s0 = sizes();
    const cond = await search('clinician', 'Condition');
    assert.equal(matches(cond.body).length, 0, 'mental health was not named');
    assert.ok(
      withheld(cond.body).some(
        (w) => w.startsWith('lab:Condition:no-consent:') && w.includes('mental-health'),
      ),
    );
    const research = await search('clinician', 'Observation', { 'x-purpose-of-use': 'research' });
    assert.equal(research.status, 403, 'a clinician acts for treatment, not research');
    assert.deepEqual(
      since('lab', s0.lab).map((e) => `${e.outcome}:${e.reason}`),
      ['deny:no-consent'],
    );
  });

  test('an expired grant and a grant not yet valid permit nothing', async () => {
    await grant(['labs'], ['treatment'], -7200, -3600);
    let r = await search('clinician', 'Observation');
    assert.equal(matches(r.body).length, 0, 'expired');
    assert.ok(withheld(r.body).includes(`lab:Observation:no-consent:${NONE_OBS}`));
    await grant(['labs'], ['treatment'], 3600, 7200);
    r = await search('clinician', 'Observation');
    assert.equal(matches(r.body).length, 0, 'not yet valid');
    await grant(['labs'], ['treatment']);
    assert.equal(matches((await search('clinician', 'Observation')).body).length, 1, 'valid again');
  });

  test('revoked: the next read releases nothing', async () => {
    await revoke();
    const r = await search('clinician', 'Observation');
    assert.equal(matches(r.body).length, 0);
    assert.ok(withheld(r.body).includes(`lab:Observation:no-consent:${NONE_OBS}`));
  });

  test('break-glass: an emergency clinician with a reason reads anyway; it is flagged at both ends', async () => {
    assert.equal(
      (await search('clinician', 'Observation', { 'x-break-glass-reason': 'unconscious in the ER' })).status,
      403,
      'only the emergency role',
    );
    assert.equal(
      (await search('emergency-clinician', 'Observation', { 'x-break-glass-reason': 'short' })).status,
      400,
    );
    const s0 = sizes();
    const r = await search('emergency-clinician', 'Observation', {
      'x-break-glass-reason': 'patient unconscious in the ER, suspected bleeding',
    });
    assert.equal(r.status, 200);
    assert.equal(matches(r.body).length, 1);
    assert.deepEqual(withheld(r.body), [], 'break-glass withholds nothing');
    const atLab = since('lab', s0.lab);
    assert.deepEqual(
      atLab.map((e) => `${e.action}:${e.outcome}:${e.purpose}`),
      ['break-glass:permit:emergency'],
    );
    assert.match(atLab[0]?.queryHash ?? '', /^0x[0-9a-f]{64}$/, 'the reason is kept only as a hash');
    assert.ok(since('clinic', s0.clinic).some((e) => e.action === 'break-glass' && e.outcome === 'permit'));
    const counts = nodes.lab.node.log.counts().filter((c) => c.action === 'break-glass');
    assert.deepEqual(
      counts,
      [{ action: 'break-glass', outcome: 'permit', n: 1 }],
      'break-glass use is counted per member',
    );
    const alerts = async (name: Name, user: string) =>
      fetch(`${nodes[name].running.url}/admin/alerts`, {
        headers: { authorization: `Bearer ${await token(name, user)}` },
      });
    const atLabFeed = (await (await alerts('lab', 'admin')).json()) as {
      breakGlass: { direction: string; actor: string; patient: string }[];
    };
    assert.deepEqual(
      atLabFeed.breakGlass.map((a) => `${a.direction}:${a.actor}:${a.patient}`),
      [`answered:member:${ids.clinic.address}:${PATIENT.address}`],
      'the custodian’s admin sees the break-glass it answered',
    );
    const atClinicFeed = (await (await alerts('clinic', 'admin')).json()) as {
      breakGlass: { direction: string }[];
    };
    assert.ok(
      atClinicFeed.breakGlass.length >= 1 && atClinicFeed.breakGlass.every((a) => a.direction === 'made'),
    );
    assert.equal((await alerts('lab', 'clinician')).status, 403, 'the alert feed is for admins');
  });

  test('custodian down: a replica serves a consented read (checked against the anchored entry) and logs it; unconsented reads stay withheld', async () => {
    await grant(['labs'], ['treatment']);
    // The lab anchors its log and replicates records, log and wraps to its two replicas.
    await nodes.lab.running.anchorer?.tick(true);
    await nodes.lab.running.replicator?.tick();
    await nodes.lab.running.replicator?.tick();
    const held = nodes.pharmacy.node.db
      .prepare('SELECT count(*) AS n FROM replica_records WHERE custodian = ?')
      .get(ids.lab.address.toLowerCase()) as { n: number };
    assert.ok(held.n >= 3, 'the pharmacy holds replicas of the lab records');
    const ownWraps = nodes.pharmacy.node.db
      .prepare('SELECT count(*) AS n FROM replica_wraps WHERE recipient = ?')
      .get(Buffer.from(ids.pharmacy.encryptionPublicKey.slice(2), 'hex').toString('hex')) as { n: number };
    assert.equal(ownWraps.n, 0, 'a replica never holds a key it could open');

    await nodes.lab.running.close();
    const s0 = sizes();
    const r = await search('clinician', 'Observation');
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const obs = matches(r.body)[0]?.resource as {
      valueQuantity: { value: number };
      meta: { source: string };
    };
    assert.equal(obs.valueQuantity.value, 13.2);
    assert.equal(obs.meta.source, `urn:medchain:member:${ids.lab.address}`);
    const notes = (r.body.entry ?? [])
      .filter((e) => e.search?.mode === 'outcome')
      .map((e) => (e.resource as { issue: { details: { text: string } }[] }).issue[0]?.details.text ?? '');
    assert.ok(
      notes.some((t) => /^lab is offline; served by its replica at pharmacy/.test(t)),
      notes.join('\n'),
    );
    assert.deepEqual(
      since('pharmacy', s0.pharmacy).map((e) => `${e.action}:${e.outcome}:${e.reason}:${e.actor}`),
      [
        // as a custodian itself (it holds nothing of the patient), then as the lab's replica
        `search:deny:withheld:member:${ids.clinic.address}`,
        `search:permit:replica-consent:member:${ids.clinic.address}`,
        `search:deny:withheld:member:${ids.clinic.address}`,
      ],
    );
    assert.ok(since('clinic', s0.clinic).some((e) => e.reason === 'received-from-replica'));

    // A replica that alters a record cannot pass it off: the ciphertext must match the anchored entry.
    const db = nodes.pharmacy.node.db;
    const row = db
      .prepare("SELECT id, ciphertext FROM replica_records WHERE resource_type = 'Observation'")
      .get() as { id: string; ciphertext: Buffer };
    const altered = Buffer.from(row.ciphertext);
    altered[0] = (altered[0] as number) ^ 1;
    db.prepare('UPDATE replica_records SET ciphertext = ? WHERE id = ?').run(altered, row.id);
    const tampered = await search('clinician', 'Observation');
    assert.equal(matches(tampered.body).length, 0);
    const warnings = (tampered.body.entry ?? [])
      .filter((e) => e.search?.mode === 'outcome')
      .map((e) => (e.resource as { issue: { details: { text: string } }[] }).issue[0]?.details.text ?? '');
    assert.ok(
      warnings.some((t) => /1 record\(s\) failed the integrity check and were dropped/.test(t)),
      warnings.join('\n'),
    );
    db.prepare('UPDATE replica_records SET ciphertext = ? WHERE id = ?').run(row.ciphertext, row.id);

    await revoke();
    const denied = await search('clinician', 'Observation');
    assert.equal(matches(denied.body).length, 0, 'revocation takes effect at replicas too');
    assert.ok(withheld(denied.body).includes(`lab:Observation:no-consent:${NONE_OBS}`));

    nodes.lab.running = await serveMemberNode(nodes.lab.node, { rpcUrl: t.chain.rpcUrl });
    await writeAndWait(t.conn, walletFor(t.conn, ids.lab.chainKey), {
      address: manifest.contracts.Registry,
      abi: registryAbi,
      functionName: 'updateEndpoint',
      args: [nodes.lab.running.url],
    });
  });

  test('a member removed by vote is refused by the custodian, and the attempt is logged there', async () => {
    await grant(['labs'], ['treatment']);
    assert.equal(matches((await search('clinician', 'Observation')).body).length, 1);
    const reg = (who: Name, functionName: 'proposeRemoval' | 'vote', args: readonly unknown[]) =>
      writeAndWait(t.conn, walletFor(t.conn, ids[who].chainKey), {
        address: manifest.contracts.Registry,
        abi: registryAbi,
        functionName,
        args: args as never,
      });
    await reg('lab', 'proposeRemoval', [ids.clinic.address]);
    const id = (await consortiumContracts(t.conn, manifest).registry.read.proposalCount()) - 1n;
    await reg('pharmacy', 'vote', [id]);
    const s0 = sizes();
    const r = await search('clinician', 'Observation');
    assert.equal(matches(r.body).length, 0, JSON.stringify(r.body));
    assert.deepEqual(
      since('lab', s0.lab).map((e) => `${e.action}:${e.outcome}:${e.reason}:${e.actor}`),
      [`search:deny:not-a-member:member:${ids.clinic.address}`],
    );
  });

  test('a chain outage is a 503 that says so (nothing decided, nothing served), not a 500', async () => {
    await t.chain.stop();
    const r = await search('emergency-clinician', 'Observation');
    assert.equal(r.status, 503, JSON.stringify(r.body));
    assert.match(r.body.issue?.[0]?.details?.text ?? '', /blockchain cannot be reached/);
  });
});
