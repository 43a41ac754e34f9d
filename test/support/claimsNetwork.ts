/**
 * Test support for claims over real sockets (issue 13): the attack network (one embedded chain,
 * hospital, clinic, lab and insurer nodes on 127.0.0.1; test/support/attackNetwork.ts) plus a
 * SECOND insurer, "insurer2", voted into the Registry by the other members (so duplicates across
 * payers have two real payers), holding the consortium key like the rest.
 * `anchoredSubmission` is what a provider node can do bypassing its route (with the provider's own
 * line-commitment key, or another one); `lineKeyOf` is the key a member's node derives.
 *
 * The lab is the provider. `enroll` stores a fresh patient at the lab with a Coverage per insurer
 * and enrolls them at each insurer (their Patient and Coverage); `encounter` has a lab clinician
 * create an Encounter over HTTP; `anchorLab` anchors the lab's log on chain (the network's
 * anchorers run only when ticked); `claim` builds a FHIR Claim; `submit` is the lab's billing user
 * at `POST /fhir/Claim/$submit`.
 */

import path from 'node:path';
import type { Claim, ClaimItem } from '@medplum/fhirtypes';
import { type Address, getAddress, type Hex } from 'viem';
import { generatePrivateKey, type PrivateKeyAccount, privateKeyToAccount } from 'viem/accounts';
import type { Actor } from '../../src/access/gatekeeper.js';
import { memberAuthHeader } from '../../src/access/memberAuth.js';
import { buildClaimBatch, linesHash, patientCommitment, random32 } from '../../src/chain/claimBatch.js';
import { type ClaimRecordView, chainClaims } from '../../src/chain/claimsView.js';
import { type ChainWallet, walletFor } from '../../src/chain/clients.js';
import { consortiumContracts } from '../../src/chain/contracts.js';
import { claimsAbi, registryAbi } from '../../src/chain/generated/index.js';
import { rolesToMask } from '../../src/chain/scopes.js';
import { writeAndWait } from '../../src/chain/transact.js';
import { MEMBER_NUMBER_SYSTEM } from '../../src/claims/coverageFacts.js';
import { parseClaim } from '../../src/claims/fhirClaim.js';
import { claimLineCommitments } from '../../src/claims/lineCommitment.js';
import { lineKeyHash, providerLineKey, sealLineKey } from '../../src/claims/lineKey.js';
import type { WireEncounterEvidence } from '../../src/federation/claimSubmissionWire.js';
import { distributeConsortiumKey } from '../../src/node/consortiumSetup.js';
import { createIdentity, type MemberIdentity } from '../../src/node/memberIdentity.js';
import { keyFileOf, type MemberNode, openMemberNode, type RunningNode } from '../../src/node/memberNode.js';
import {
  type Answer,
  AttackNetwork,
  type MemberName,
  PASSPHRASE,
  passwordOf,
  request,
} from './attackNetwork.js';
import { addUsers, hashPasswords, serveAndPublish, signInToken } from './memberSetup.js';
import { waitFor } from './waitFor.js';

export type Payer = 'insurer' | 'insurer2';
const OPERATOR: Actor = { id: 'operator:claims-network', role: 'operator', purpose: 'operations' };
const PROC = 'urn:medchain:procedure';

export interface ClaimsPatient {
  account: PrivateKeyAccount;
  address: Address;
  /** The Patient's id at the lab. */
  labPatientId: string;
  /** The lab's Coverage id of the patient with each payer. */
  labCoverage: Partial<Record<Payer, string>>;
}

export interface LineSpec {
  code: string;
  modifiers?: string[];
  units?: number;
  /** Unit price in USD. */
  price?: number;
  encounter: string;
  servicedDate?: string;
}

/** The second insurer's node. */
export interface SecondInsurer {
  identity: MemberIdentity;
  wallet: ChainWallet;
  node: MemberNode;
  running: RunningNode;
}

/** Today as a FHIR date (UTC). */
export const today = () => new Date().toISOString().slice(0, 10);

/** The member number on the patient's card for `payer` (the same at the lab and at the payer). */
export const memberNumberOf = (patient: Address, payer: Payer): string =>
  `${payer.toUpperCase()}-${patient.slice(2, 10).toUpperCase()}`;

export class ClaimsNetwork {
  private token2: string | undefined;
  private constructor(
    readonly net: AttackNetwork,
    readonly insurer2: SecondInsurer,
  ) {}

  /** The attack network, then insurer2 admitted by a Registry vote and served. */
  static async start(): Promise<ClaimsNetwork> {
    const net = await AttackNetwork.start();
    try {
      return new ClaimsNetwork(net, await admitSecondInsurer(net));
    } catch (err) {
      await net.close();
      throw err;
    }
  }

  address(who: MemberName | 'insurer2'): Address {
    return who === 'insurer2' ? this.insurer2.identity.address : this.net.address(who);
  }

  private gateOf(who: MemberName | 'insurer2') {
    return who === 'insurer2' ? this.insurer2.node.gate : this.net.members[who].node.gate;
  }

  /** A node's store (for "nothing was stored" checks). */
  nodeOf(who: MemberName | 'insurer2'): MemberNode {
    return who === 'insurer2' ? this.insurer2.node : this.net.members[who].node;
  }

  /**
   * A fresh patient at the lab, with a Coverage with each of `payers` there, enrolled at each
   * (Patient and Coverage) unless `enrolledAt` names fewer. `lapsed` ends the Coverages in 2021.
   */
  async enroll(
    payers: readonly Payer[],
    opts: { lapsed?: boolean; enrolledAt?: readonly Payer[] } = {},
  ): Promise<ClaimsPatient> {
    const account = privateKeyToAccount(generatePrivateKey());
    const patient = (who: MemberName | 'insurer2') =>
      this.gateOf(who).create(OPERATOR, 'Patient', {
        resourceType: 'Patient',
        identifier: [{ system: 'urn:medchain:patient', value: account.address }],
        name: [{ family: 'Claimant', given: ['Casey'] }],
      });
    const coverage = (who: MemberName | 'insurer2', patientId: string, payer: Payer) =>
      this.gateOf(who).create(OPERATOR, 'Coverage', {
        resourceType: 'Coverage',
        status: 'active',
        identifier: [{ system: MEMBER_NUMBER_SYSTEM, value: memberNumberOf(account.address, payer) }],
        beneficiary: { reference: `Patient/${patientId}` },
        period: { start: '2020-01-01', ...(opts.lapsed ? { end: '2021-12-31' } : {}) },
        payor: [{ identifier: { system: 'urn:medchain:member', value: this.address(payer) } }],
      });
    const labPatient = await patient('lab');
    const labCoverage: Partial<Record<Payer, string>> = {};
    for (const p of payers) {
      labCoverage[p] = (await coverage('lab', labPatient.id as string, p)).id as string;
      if (opts.enrolledAt && !opts.enrolledAt.includes(p)) continue;
      const enrolled = await patient(p);
      await coverage(p, enrolled.id as string, p);
    }
    return { account, address: account.address, labPatientId: labPatient.id as string, labCoverage };
  }

  /** Enroll `p` at `payer` later (its Patient and an active Coverage there). */
  async enrollAt(payer: Payer, p: ClaimsPatient): Promise<void> {
    const g = this.gateOf(payer);
    const enrolled = await g.create(OPERATOR, 'Patient', {
      resourceType: 'Patient',
      identifier: [{ system: 'urn:medchain:patient', value: p.address }],
    });
    await g.create(OPERATOR, 'Coverage', {
      resourceType: 'Coverage',
      status: 'active',
      identifier: [{ system: MEMBER_NUMBER_SYSTEM, value: memberNumberOf(p.address, payer) }],
      beneficiary: { reference: `Patient/${enrolled.id}` },
      period: { start: '2020-01-01' },
      payor: [{ identifier: { system: 'urn:medchain:member', value: this.address(payer) } }],
    });
  }

  /** A lab clinician creates an Encounter of the patient over HTTP; returns its id. */
  async encounter(p: ClaimsPatient): Promise<string> {
    const r = await this.net.asUser('lab', 'clinician', '/fhir/Encounter', {
      method: 'POST',
      body: JSON.stringify({
        resourceType: 'Encounter',
        status: 'finished',
        class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
        subject: { reference: `Patient/${p.labPatientId}` },
      }),
    });
    if (r.status !== 201)
      throw new Error(`the Encounter was not created: ${r.status} ${JSON.stringify(r.body)}`);
    return (r.body as { id: string }).id;
  }

  /** Anchor the lab's log on chain now (waits until the head is confirmed and recorded). */
  async anchorLab(): Promise<void> {
    const a = this.net.members.lab.running?.anchorer;
    if (!a) throw new Error('the lab is not running with a chain');
    await a.tick(true);
  }

  /**
   * A Claim's `created`: after the latest block's time, so the evidence head (anchored in a block
   * stamped up to a second ahead of the wall clock on anvil) was anchored before the claim.
   */
  async createdNow(): Promise<string> {
    const block = await this.net.t.conn.publicClient.getBlock();
    return new Date(Math.max(Date.now(), Number(block.timestamp) * 1000) + 1000).toISOString();
  }

  /** A professional Claim of the lab for `p` to `payer`, one item per line. */
  async claim(
    p: ClaimsPatient,
    payer: Payer,
    lines: readonly LineSpec[],
    over: Partial<Claim> = {},
  ): Promise<Claim> {
    const items: ClaimItem[] = lines.map((l, i) => {
      const units = l.units ?? 1;
      const price = l.price ?? 100;
      return {
        sequence: i + 1,
        productOrService: { coding: [{ system: PROC, code: l.code }] },
        ...(l.modifiers ? { modifier: l.modifiers.map((code) => ({ coding: [{ code }] })) } : {}),
        servicedDate: l.servicedDate ?? today(),
        quantity: { value: units },
        unitPrice: { value: price, currency: 'USD' },
        net: { value: price * units, currency: 'USD' },
        diagnosisSequence: [1],
        encounter: [{ reference: `Encounter/${l.encounter}` }],
      };
    });
    const total = items.reduce((n, i) => n + (i.net?.value ?? 0), 0);
    return {
      resourceType: 'Claim',
      id: `claim-${Math.random().toString(36).slice(2, 12)}`,
      status: 'active',
      type: {
        coding: [{ system: 'http://terminology.hl7.org/CodeSystem/claim-type', code: 'professional' }],
      },
      use: 'claim',
      patient: {
        reference: `Patient/${p.labPatientId}`,
        identifier: { system: 'urn:medchain:patient', value: p.address },
      },
      created: await this.createdNow(),
      provider: { identifier: { system: 'urn:medchain:member', value: this.address('lab') } },
      insurer: { identifier: { system: 'urn:medchain:member', value: this.address(payer) } },
      priority: {
        coding: [{ system: 'http://terminology.hl7.org/CodeSystem/processpriority', code: 'normal' }],
      },
      insurance: [
        { sequence: 1, focal: true, coverage: { reference: `Coverage/${p.labCoverage[payer] ?? 'none'}` } },
      ],
      diagnosis: [
        {
          sequence: 1,
          diagnosisCodeableConcept: {
            coding: [{ system: 'http://hl7.org/fhir/sid/icd-10-cm', code: 'R51.9' }],
          },
        },
      ],
      item: items,
      total: { value: total, currency: 'USD' },
      ...over,
    };
  }

  /** The lab's billing user (or `role`) at `POST /fhir/Claim/$submit`. */
  submit(body: unknown, role: 'billing' | 'clinician' = 'billing'): Promise<Answer> {
    return this.net.asUser('lab', role, '/fhir/Claim/$submit', {
      method: 'POST',
      body: JSON.stringify(body),
    });
  }

  /** The claim's record on chain (undefined before the payer's first decision). */
  claimOf(claimId: Hex): Promise<ClaimRecordView | undefined> {
    return chainClaims(this.net.t.conn, this.net.manifest).claimOf(claimId);
  }

  /** Batches `provider` submitted on chain (Claims BatchSubmitted events): "nothing anchored" checks. */
  async batchesBy(provider: MemberName): Promise<number> {
    const events = await this.net.t.conn.publicClient.getContractEvents({
      address: this.net.manifest.contracts.Claims as Address,
      abi: claimsAbi,
      eventName: 'BatchSubmitted',
      args: { provider: this.address(provider) },
      fromBlock: BigInt(this.net.manifest.deploymentBlock),
      toBlock: 'latest',
    });
    return events.length;
  }

  /** A member's identity (its keys), insurer2 included. */
  identityOf(who: MemberName | 'insurer2'): MemberIdentity {
    return who === 'insurer2' ? this.insurer2.identity : this.net.members[who].identity;
  }

  private walletOf(who: MemberName | 'insurer2'): ChainWallet {
    return who === 'insurer2' ? this.insurer2.wallet : this.net.members[who].wallet;
  }

  /** The line-commitment key `who`'s node derives (src/claims/lineKey.ts providerLineKey). */
  lineKeyOf(who: MemberName | 'insurer2'): Uint8Array {
    return providerLineKey(
      this.identityOf(who).chainKey,
      this.net.t.conn.chain.id,
      this.net.manifest.contracts.Claims as Address,
    );
  }

  /** The key hash `who` pinned on chain (zero when none). */
  pinnedLineKey(who: MemberName | 'insurer2'): Promise<Hex> {
    return this.net.t.conn.publicClient.readContract({
      address: this.net.manifest.contracts.Claims as Address,
      abi: claimsAbi,
      functionName: 'lineKeyOf',
      args: [this.address(who)],
    });
  }

  /** Pin `who`'s own line key on chain from its key, as its node would before a first batch (once). */
  async registerLineKey(who: MemberName | 'insurer2'): Promise<void> {
    if (BigInt(await this.pinnedLineKey(who)) !== 0n) return;
    await writeAndWait(this.net.t.conn, this.walletOf(who), {
      address: this.net.manifest.contracts.Claims as Address,
      abi: claimsAbi,
      functionName: 'registerLineKey',
      args: [lineKeyHash(this.lineKeyOf(who))],
    });
  }

  /**
   * What a provider NODE could do on its own, bypassing its `$submit` route: anchor a one-claim
   * batch for `claim` (FHIR) from `provider`'s own key, and build the submission body with
   * `evidence` (none by default). Use a provider whose node sends nothing itself (the hospital).
   * The lines are committed under `opts.commitKey` and `opts.sentKey` is sealed to the payer (both
   * default to the provider's own key, which is pinned on chain first if it is not yet).
   */
  async anchoredSubmission(
    provider: MemberName | 'insurer2',
    claim: Claim,
    evidence: WireEncounterEvidence[] = [],
    opts: { commitKey?: Uint8Array; sentKey?: Uint8Array } = {},
  ): Promise<{ body: string; claimId: Hex }> {
    const c = parseClaim(claim);
    await this.registerLineKey(provider);
    const commitKey = opts.commitKey ?? this.lineKeyOf(provider);
    const sentKey = opts.sentKey ?? commitKey;
    const commitments = claimLineCommitments(commitKey, c);
    const claimId = random32();
    const salt = random32();
    const leaf = {
      claimId,
      provider: c.provider,
      payer: c.payer,
      patientCommitment: patientCommitment(c.patient, salt),
      linesHash: linesHash(commitments),
      billed: BigInt(c.total),
    };
    const batch = buildClaimBatch([leaf]);
    await writeAndWait(this.net.t.conn, this.walletOf(provider), {
      address: this.net.manifest.contracts.Claims as Address,
      abi: claimsAbi,
      functionName: 'submitBatch',
      args: [c.payer, batch.root, 1, commitments],
    });
    const payer = this.memberNamed(c.payer);
    const lineKey = sealLineKey(
      new Uint8Array(Buffer.from(this.identityOf(payer).encryptionPublicKey.slice(2), 'hex')),
      this.address(provider),
      c.payer,
      sentKey,
    );
    const body = JSON.stringify({
      claim,
      evidence,
      batch: { root: batch.root, claimId, salt, proof: batch.proofs.get(claimId) ?? [] },
      lineKey,
    });
    return { body, claimId };
  }

  /** The member (or insurer2) whose account is `address`. */
  memberNamed(address: Address): MemberName | 'insurer2' {
    const all = [...(Object.keys(this.net.members) as MemberName[]), 'insurer2' as const];
    const who = all.find((m) => this.address(m).toLowerCase() === address.toLowerCase());
    if (!who) throw new Error(`no member of the claims network has the account ${address}`);
    return who;
  }

  /** `from`'s node POSTs a submission body to `to`'s /federation/claims, signed with `from`'s key. */
  async sendSubmission(from: MemberName, to: MemberName | 'insurer2', body: string): Promise<Answer> {
    if (to !== 'insurer2') return this.net.memberRequest(from, to, 'POST', '/federation/claims', body);
    const path = '/federation/claims';
    const authorization = await memberAuthHeader(
      this.net.members[from].account,
      this.address('insurer2'),
      'POST',
      path,
      body,
    );
    return request(`${this.insurer2.running.url}${path}`, {
      method: 'POST',
      headers: { authorization },
      body,
    });
  }

  /** insurer2's node POSTs `body` to `to`'s `pathAndQuery`, signed with insurer2's own chain key. */
  async fromInsurer2(to: MemberName, pathAndQuery: string, body: string): Promise<Answer> {
    const account = privateKeyToAccount(this.insurer2.identity.chainKey);
    const authorization = await memberAuthHeader(account, this.address(to), 'POST', pathAndQuery, body);
    return request(`${this.net.url(to)}${pathAndQuery}`, {
      method: 'POST',
      headers: { authorization },
      body,
    });
  }

  /** GET at insurer2 as its billing user. */
  async asInsurer2Billing(pathAndQuery: string): Promise<Answer> {
    if (!this.token2) {
      this.token2 = await signInToken(this.insurer2.running.url, 'billing', passwordOf('billing'));
    }
    return request(`${this.insurer2.running.url}${pathAndQuery}`, {
      headers: { authorization: `Bearer ${this.token2}` },
    });
  }

  async close(): Promise<void> {
    await this.insurer2.running.close().catch(() => undefined);
    this.insurer2.node.close();
    await this.net.close();
  }
}

/** insurer2: identity with the consortium key, admitted by the Registry's vote, node served. */
async function admitSecondInsurer(net: AttackNetwork): Promise<SecondInsurer> {
  const dir = path.join(net.t.dir, 'insurer2');
  const fresh = createIdentity(keyFileOf(dir), PASSPHRASE);
  const lab = net.members.lab;
  const [, identity] = await distributeConsortiumKey(
    [
      { file: keyFileOf(lab.dir), identity: lab.identity },
      { file: keyFileOf(dir), identity: fresh },
    ],
    PASSPHRASE,
  );
  if (!identity) throw new Error('insurer2 got no consortium key');
  const registry = { address: net.manifest.contracts.Registry, abi: registryAbi } as const;
  const c = consortiumContracts(net.t.conn, net.manifest);
  await writeAndWait(net.t.conn, net.members.insurer.wallet, {
    ...registry,
    functionName: 'proposeAdmission',
    args: [
      {
        account: identity.address,
        roles: rolesToMask(['INSURER']),
        encryptionKey: identity.encryptionPublicKey,
        name: 'insurer2',
        endpoint: 'http://127.0.0.1:1',
      },
    ],
  });
  const proposal = (await c.registry.read.proposalCount()) - 1n;
  for (const voter of ['hospital', 'clinic', 'lab'] as const) {
    if (await c.registry.read.isActiveMember([identity.address])) break;
    await writeAndWait(net.t.conn, net.members[voter].wallet, {
      ...registry,
      functionName: 'vote',
      args: [proposal],
    });
  }
  await waitFor('insurer2 admitted by the Registry vote', () =>
    c.registry.read.isActiveMember([identity.address]),
  );
  const node = openMemberNode(dir, PASSPHRASE, { manifest: net.manifest });
  addUsers(node, await hashPasswords(['billing'], passwordOf));
  const running = await serveAndPublish(net.t.conn, net.manifest, node, identity.chainKey, {
    rpcUrl: net.t.chain.rpcUrl,
    anchor: { intervalMs: 3_600_000 },
    replicate: false,
  });
  const wallet = walletFor(net.t.conn, identity.chainKey);
  return { identity: { ...identity, address: getAddress(identity.address) }, wallet, node, running };
}
