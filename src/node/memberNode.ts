/**
 * One member organization's node: its key file and SQLite store in one directory, the record
 * service, the transparency log and the gatekeeper on top, and the HTTP API. This is the
 * composition root for a node.
 *
 *   <dir>/keys.json   the member identity (passphrase-protected)
 *   <dir>/node.db     the store (WAL; node.db-wal, node.db-shm beside it)
 *
 * The directory is owner-only (0700) and every file in it 0600; wider modes are tightened on open.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SearchRequest } from '@medplum/core';
import type { MedicationRequest } from '@medplum/fhirtypes';
import type { FastifyInstance } from 'fastify';
import type { PrivateKeyAccount } from 'viem/accounts';
import type { Actor, ReleaseRequest } from '../access/gatekeeper.js';
import { Gatekeeper } from '../access/gatekeeper.js';
import { MemberMacKeys } from '../access/memberMacKeys.js';
import { LoginThrottle, SessionStore } from '../access/sessions.js';
import { RPC_PROXY_PATH, type RpcProxyOptions } from '../api/rpcProxy.js';
import { buildApi } from '../api/server.js';
import { BlockBoard } from '../chain/blockBoard.js';
import { ruleSetId } from '../chain/claimBatch.js';
import { withFinalClaimsFactsCached } from '../chain/claimsReadCache.js';
import { chainClaims } from '../chain/claimsView.js';
import { type ChainConnection, connectChain, walletFor, withBatchedReads } from '../chain/clients.js';
import type { ConsortiumView } from '../chain/consortium.js';
import { ConsortiumCache } from '../chain/consortiumCache.js';
import { consortiumContracts, type DrugLedgerContract, drugLedgerContract } from '../chain/contracts.js';
import { auditAnchorAbi } from '../chain/generated/index.js';
import type { DeploymentManifest } from '../chain/manifest.js';
import { Outbox } from '../chain/outbox.js';
import { ClaimBatcher } from '../claims/claimBatcher.js';
import { claimQueue, type QueueState, submittedClaims } from '../claims/claimQueue.js';
import { DecisionRecorder } from '../claims/decisionRecorder.js';
import { chainDisputeDeps, relayDispute } from '../claims/disputeRelay.js';
import { answerEligibility, parseEligibilityAsk, requestEligibility } from '../claims/eligibility.js';
import type { EligibilityQuestion } from '../claims/fhirEligibility.js';
import { intakeClaim } from '../claims/intake.js';
import {
  LineKeyRegistrar,
  LineKeySealer,
  lineKeyHash,
  ProviderLineKeys,
  providerLineKey,
} from '../claims/lineKey.js';
import { paymentRuns, runPayment } from '../claims/paymentRun.js';
import { submitClaim } from '../claims/submit.js';
import { loadEditTables } from '../claims/tableFiles.js';
import { syntheticPayee, syntheticPayer } from '../claims/x12/remittanceParties.js';
import { memberAccount } from '../crypto/memberAccount.js';
import { badRequest, PortInUseError } from '../errors.js';
import { relayConsent } from '../federation/consentRelay.js';
import { answerMember } from '../federation/custodian.js';
import { answerDiscovery, discoverPatients } from '../federation/discovery.js';
import { postLookup, postSigned } from '../federation/memberClient.js';
import { acceptPush, answerAsReplica } from '../federation/replica.js';
import { Replicator } from '../federation/replication.js';
import { federatedSearch } from '../federation/requester.js';
import { loadFhirDefinitions } from '../fhir/definitions.js';
import type { Demographics } from '../fhir/demographics.js';
import { LogPublisher } from '../log/logPublisher.js';
import { TransparencyLog } from '../log/transparencyLog.js';
import { type ChainHead, type VerifyProgress, type VerifyReport, verifyStoreAsync } from '../log/verifier.js';
import { RecordService } from '../records/recordService.js';
import { type Db, openDatabase } from '../store/database.js';
import { IncidentStore } from '../store/incidentStore.js';
import { NODE_MIGRATIONS } from '../store/nodeSchema.js';
import { RecordStore } from '../store/recordStore.js';
import { type StoredUnit, UnitStore } from '../store/unitStore.js';
import { UserStore } from '../store/userStore.js';
import { type DispenseRecords, dispenseUnit } from '../supply/dispense.js';
import { clearInvestigation, determineIllegitimate, quarantine } from '../supply/investigation.js';
import { acceptNotice, acknowledgeAlert, notifyIllegitimate, openAlerts } from '../supply/notices.js';
import { recallLot } from '../supply/recall.js';
import { receiveReturn } from '../supply/saleableReturn.js';
import { supplyKeyOf } from '../supply/supplyKey.js';
import { UnitStateCache } from '../supply/unitChainState.js';
import { verifyAtResponder } from '../supply/verificationRequester.js';
import { answerVerification } from '../supply/verificationResponder.js';
import { securePrivateDir } from '../util/privateFiles.js';
import { Anchorer, type AnchorerOptions } from './anchorer.js';
import { currentConsortiumKey, loadIdentity, type MemberIdentity } from './memberIdentity.js';
import { resumeSupplyRuns, supplyCustodyDeps } from './supplyCustody.js';

export interface MemberNode {
  dir: string;
  identity: MemberIdentity;
  db: Db;
  records: RecordService;
  users: UserStore;
  /** The drug units and EPCIS events this member holds (docs/supply-chain.md). */
  units: UnitStore;
  /** Its supply incidents (returns, investigations) and illegitimate-product notices. */
  incidents: IncidentStore;
  log: TransparencyLog;
  publisher: LogPublisher;
  gate: Gatekeeper;
  manifest: DeploymentManifest | undefined;
  /** Paths whose modes were open to group or others and were tightened when the node opened. */
  tightened: string[];
  close(): void;
}

export const keyFileOf = (dir: string) => path.join(dir, 'keys.json');
export const dbFileOf = (dir: string) => path.join(dir, 'node.db');

const bytes = (h: string) => new Uint8Array(Buffer.from(h.slice(2), 'hex'));

/** Open a member's store with its keys. Throws CryptoError('wrong-passphrase') for a wrong passphrase. */
export function openMemberNode(
  dir: string,
  passphrase: string,
  opts: { manifest?: DeploymentManifest } = {},
): MemberNode {
  const tightened = securePrivateDir(dir);
  const identity = loadIdentity(keyFileOf(dir), passphrase);
  loadFhirDefinitions();
  const db = openDatabase(dbFileOf(dir), NODE_MIGRATIONS);
  const records = new RecordService(new RecordStore(db), {
    encryptionPrivateKey: bytes(identity.encryptionPrivateKey),
    encryptionPublicKey: bytes(identity.encryptionPublicKey),
    indexKey: bytes(identity.indexKey),
    keks: identity.keks.map((k) => ({ id: k.id, key: bytes(k.key) })),
    ...(currentConsortiumKey(identity) ? { consortiumKey: currentConsortiumKey(identity) } : {}),
  });
  const log = new TransparencyLog(db, identity.address);
  const publisher = new LogPublisher(
    log,
    db,
    memberAccount(identity.chainKey),
    opts.manifest
      ? { chainId: opts.manifest.chainId, verifyingContract: opts.manifest.contracts.AuditAnchor }
      : {},
  );
  const gate = new Gatekeeper(records, log, bytes(identity.indexKey));
  return {
    dir,
    identity,
    db,
    records,
    users: new UserStore(db),
    units: new UnitStore(db),
    incidents: new IncidentStore(db),
    log,
    publisher,
    gate,
    manifest: opts.manifest,
    tightened,
    close: () => db.close(),
  };
}

/**
 * The heads this member anchored on chain, oldest first. Read from the HeadAnchored events (one
 * call, so a rate-limited public RPC such as a node's /rpc proxy answers it), checked against the
 * contract's head count; when the events do not add up (a node that prunes logs), head by head.
 */
export async function chainHeads(
  conn: ChainConnection,
  manifest: DeploymentManifest,
  member: `0x${string}`,
): Promise<ChainHead[]> {
  const c = consortiumContracts(conn, manifest);
  const n = Number(await c.auditAnchor.read.headCount([member]));
  if (n === 0) return [];
  const events = await conn.publicClient.getContractEvents({
    address: manifest.contracts.AuditAnchor,
    abi: auditAnchorAbi,
    eventName: 'HeadAnchored',
    args: { member },
    fromBlock: BigInt(manifest.deploymentBlock),
    toBlock: 'latest',
  });
  if (events.length === n)
    return events.map((e) => ({
      treeSize: Number(e.args.treeSize),
      rootHash: e.args.rootHash as `0x${string}`,
    }));
  const heads: ChainHead[] = [];
  for (let i = 0; i < n; i++) {
    const h = await c.auditAnchor.read.headAt([member, BigInt(i)]);
    heads.push({ treeSize: Number(h.treeSize), rootHash: h.rootHash });
  }
  return heads;
}

/** Verify the node's store and log, against the chain's anchored heads when a chain is given. */
export async function verifyMemberNode(
  node: { db: Db; identity: { address: `0x${string}` } },
  chain: { conn: ChainConnection; manifest: DeploymentManifest } | undefined,
  progress?: VerifyProgress,
): Promise<VerifyReport> {
  const heads = chain ? await chainHeads(chain.conn, chain.manifest, node.identity.address) : [];
  return verifyStoreAsync(node.db, heads, progress);
}

/** The drug supply chain parts of the API, when the deployment has a DrugLedger. */
function supplyDeps(
  node: MemberNode,
  conn: ChainConnection,
  manifest: DeploymentManifest,
  consortium: ConsortiumView,
  outbox: Outbox,
  now: () => Date,
  macs: MemberMacKeys,
  board: BlockBoard,
) {
  const ledger = drugLedgerContract(conn, manifest);
  if (!ledger) return {};
  const signer = memberAccount(node.identity.chainKey);
  const wiring: SupplyWiring = { conn, manifest, ledger, signer, consortium, outbox, now };
  const supplyKey = supplyKeyOf(bytes(node.identity.indexKey));
  // The responder's view of DrugLedger, kept current from its events (src/supply/unitChainState.ts).
  // It shares block numbers with the consortium view: a request's member check and its unit's
  // chain state need one block-number call between them, not two.
  const chainState = new UnitStateCache(conn, ledger, { board });
  return {
    verifyUnit: (actor: Actor, id: { gtin: string; serial: string; lot?: string; expiry?: string }) =>
      verifyAtResponder({ log: node.log, ledger, consortium, signer, macs }, actor, id),
    answerVerification: (caller: `0x${string}`, body: unknown, since?: number) =>
      answerVerification(
        { units: node.units, log: node.log, ledger, supplyKey, chain: chainState },
        caller,
        body,
        since,
      ),
    dispenseUnit: (actor: Actor, body: unknown) =>
      dispenseUnit(
        {
          log: node.log,
          ledger,
          consortium,
          signer,
          outbox,
          units: node.units,
          records: dispenseRecords(node),
          now,
        },
        actor,
        body,
      ),
    recallLot: (actor: Actor, body: unknown) =>
      recallLot({ outbox, ledger: ledger.address, log: node.log, units: node.units, supplyKey }, actor, body),
    ...supplyIncidentDeps(node, wiring),
  };
}

/** Where a dispense's MedicationDispense is checked and stored: the gatekeeper, like any write. */
function dispenseRecords(node: MemberNode): DispenseRecords {
  return {
    // Read through the gatekeeper as the pharmacist (role-checked and logged like any read).
    checkTargets: async (actor, patientId, requestId) => {
      await node.gate.read(actor, 'Patient', patientId);
      if (requestId === undefined) return {};
      const mr = (await node.gate.read(actor, 'MedicationRequest', requestId)) as MedicationRequest;
      if (mr.subject?.reference !== `Patient/${patientId}`)
        throw badRequest(`MedicationRequest/${requestId} was not written for Patient/${patientId}`);
      const name = mr.medicationCodeableConcept?.text ?? mr.medicationCodeableConcept?.coding?.[0]?.display;
      return name ? { productName: name } : {};
    },
    create: async (actor, resource) => (await node.gate.create(actor, 'MedicationDispense', resource)).id,
  };
}

/** What the supply flows of a node are wired with, once the deployment has a DrugLedger. */
interface SupplyWiring {
  conn: ChainConnection;
  manifest: DeploymentManifest;
  ledger: DrugLedgerContract;
  signer: PrivateKeyAccount;
  consortium: ConsortiumView;
  outbox: Outbox;
  now: () => Date;
}

/** The incident flows (returns, quarantine, investigations, notices and alerts; docs/supply-chain.md). */
function supplyIncidentDeps(node: MemberNode, w: SupplyWiring) {
  const { conn, manifest, ledger, signer, consortium, outbox, now } = w;
  const { log, units, incidents } = node;
  const self = node.identity.address;
  const notify = (u: readonly StoredUnit[], q: { gtin: string; lot: string; reason: string }) =>
    notifyIllegitimate(
      { conn, ledger, fromBlock: BigInt(manifest.deploymentBlock), consortium, signer, incidents, log, now },
      u,
      q,
    );
  const investigation = { outbox, ledger, consortium, log, units, incidents, self, now, notify };
  const alerts = { incidents, log, now };
  return {
    receiveReturn: (actor: Actor, body: unknown) =>
      receiveReturn({ log, ledger, consortium, signer, units, incidents, now }, actor, body),
    quarantine: (actor: Actor, body: unknown) => quarantine(investigation, actor, body),
    clearInvestigation: (actor: Actor, body: unknown) => clearInvestigation(investigation, actor, body),
    determineIllegitimate: (actor: Actor, body: unknown) => determineIllegitimate(investigation, actor, body),
    supplyAlerts: (actor: Actor) => openAlerts(alerts, actor),
    acknowledgeAlert: (actor: Actor, id: string) => acknowledgeAlert(alerts, actor, id),
    acceptNotice: (caller: `0x${string}`, body: unknown) =>
      acceptNotice({ ledger, consortium, units, incidents, log, now }, caller, body),
  };
}

/**
 * The claims parts of the API (issue 13), when the deployment has the Claims contract: the claims
 * views (queue, submitted claims), the provider's `Claim/$submit` and the insurer's intake, each
 * with its batched chain writes. Line commitments are keyed by each provider's own key
 * (src/claims/lineKey.ts), pinned on chain before its first batch and sent sealed to the payer.
 */
function claimsDeps(
  node: MemberNode,
  conn: ChainConnection,
  manifest: DeploymentManifest,
  consortium: ConsortiumView,
  outbox: Outbox,
) {
  const address = manifest.contracts.Claims;
  if (!address) return {};
  // Submitted batches and anchored heads are final: read once, not again per claim of a batch.
  // The reads of one claim's checks go together, as one JSON-RPC batch.
  const chain = withFinalClaimsFactsCached(chainClaims(withBatchedReads(conn), manifest));
  const viewDeps = { gate: node.gate, chain, self: node.identity.address };
  const views = {
    claimQueue: (actor: Actor, state?: QueueState) => claimQueue(viewDeps, actor, state),
    submittedClaims: (actor: Actor) => submittedClaims(viewDeps, actor),
  };
  const tables = loadEditTables();
  const self = node.identity.address;
  const commitmentKey = providerLineKey(node.identity.chainKey, conn.chain.id, address);
  const registrar = new LineKeyRegistrar(outbox, address, lineKeyHash(commitmentKey), () =>
    chain.lineKeyOf(self),
  );
  const sealer = new LineKeySealer(
    self,
    commitmentKey,
    async (a) => (await consortium.member(a)).encryptionKey,
  );
  const batcher = new ClaimBatcher(outbox, address, { beforeBatch: () => registrar.ensure() });
  const recorder = new DecisionRecorder(outbox, address, ruleSetId([tables.ptp, tables.mue]));
  const signer = memberAccount(node.identity.chainKey);
  const submitDeps = {
    gate: node.gate,
    records: node.records,
    log: node.log,
    anchoredSizes: () => node.publisher.anchoredHeads().map((h) => h.treeSize),
    self,
    commitmentKey,
    sealLineKey: (insurer: `0x${string}`) => sealer.sealFor(insurer),
    batcher,
    member: consortium.member,
    send: (target: { address: `0x${string}`; endpoint: string; name: string }, p: string, payload: string) =>
      postSigned(signer, target, p, payload, 60_000),
  };
  const intakeDeps = {
    gate: node.gate,
    records: node.records,
    chain,
    recorder,
    tables,
    self,
    lineKeys: new ProviderLineKeys(self, bytes(node.identity.encryptionPrivateKey), (p) =>
      chain.lineKeyOf(p),
    ),
    member: consortium.member,
  };
  return {
    ...views,
    submitClaim: (actor: Actor, body: unknown) => submitClaim(submitDeps, actor, body),
    intakeClaim: (caller: `0x${string}`, body: unknown) => intakeClaim(intakeDeps, caller, body),
  };
}

/**
 * Payment runs (issue 13, src/claims/paymentRun.ts) when the deployment has the Claims contract:
 * the 835s name payer and payees with synthetic ids derived from their chain accounts.
 */
function paymentDeps(
  node: MemberNode,
  conn: ChainConnection,
  manifest: DeploymentManifest,
  consortium: ConsortiumView,
  outbox: Outbox,
) {
  const address = manifest.contracts.Claims;
  if (!address) return {};
  const self = node.identity.address;
  const deps = {
    gate: node.gate,
    chain: chainClaims(conn, manifest),
    outbox,
    claims: address,
    self,
    nodeDir: node.dir,
    payer: async () => syntheticPayer(self, (await consortium.member(self)).name),
    payee: async (provider: `0x${string}`) =>
      syntheticPayee(provider, (await consortium.member(provider)).name),
  };
  return {
    runPayment: (by: Actor) => runPayment(deps, by),
    paymentRuns: () => paymentRuns(deps),
  };
}

/**
 * This member's pairwise MAC keys with its peers (member request MACs, src/access/memberMac.ts),
 * bound to the deployment, reading members from the event-kept consortium view.
 */
function memberMacKeys(node: MemberNode, manifest: DeploymentManifest, consortium: ConsortiumView) {
  return new MemberMacKeys(
    { address: node.identity.address, privateKey: bytes(node.identity.encryptionPrivateKey) },
    { chainId: manifest.chainId, registry: manifest.contracts.Registry },
    consortium.member,
  );
}

/** The chain-backed parts of the API: member checks, cross-member reads, replicas. */
function federationDeps(node: MemberNode, consortium: ConsortiumView, macs: MemberMacKeys) {
  const signer = memberAccount(node.identity.chainKey);
  const self = node.identity.address;
  return {
    memberStatus: async (a: `0x${string}`) => {
      const m = await consortium.member(a);
      return m.active ? ('active' as const) : m.admission > 0 ? ('former' as const) : ('unknown' as const);
    },
    memberMacKey: macs.callerKey,
    answerMember: (caller: `0x${string}`, body: unknown) =>
      answerMember({ gate: node.gate, records: node.records, member: consortium.member, self }, caller, body),
    answerDiscovery: (caller: `0x${string}`, body: unknown) =>
      answerDiscovery({ gate: node.gate, records: node.records, self }, caller, body),
    discoverPatients: (actor: Actor, d: Demographics) =>
      discoverPatients({ gate: node.gate, records: node.records, consortium, signer, macs }, actor, d),
    federatedSearch: (actor: Actor, q: ReleaseRequest, filter?: SearchRequest) =>
      federatedSearch({ gate: node.gate, records: node.records, consortium, signer, macs }, actor, q, filter),
    ...eligibilityDeps(node, consortium, macs),
    replica: {
      push: (caller: `0x${string}`, body: unknown) =>
        acceptPush(node.db, node.identity.encryptionPublicKey.slice(2), caller, body),
      search: (caller: `0x${string}`, body: unknown) =>
        answerAsReplica(
          { db: node.db, gate: node.gate, consortium, selfKey: node.identity.encryptionPublicKey.slice(2) },
          caller,
          body,
        ),
    },
  };
}

/** Insurance eligibility: the provider's `$submit` and the insurer's member-authenticated intake. */
function eligibilityDeps(node: MemberNode, consortium: ConsortiumView, macs: MemberMacKeys) {
  const self = node.identity.address;
  return {
    requestEligibility: (actor: Actor, body: unknown) =>
      requestEligibility(
        {
          gate: node.gate,
          self,
          signer: memberAccount(node.identity.chainKey),
          member: consortium.member,
          // An eligibility question is a lookup: a MAC (the target is a MemberInfo, with its key).
          post: (signer, target, p, payload, timeoutMs) =>
            postLookup({ signer, macs }, target, p, payload, timeoutMs),
        },
        actor,
        body,
      ),
    eligibility: {
      parse: (caller: `0x${string}`, body: unknown) => parseEligibilityAsk(self, caller, body),
      answer: (caller: `0x${string}`, q: EligibilityQuestion) =>
        answerEligibility({ gate: node.gate, self }, caller, q),
    },
  };
}

export interface RunningNode {
  url: string;
  app: FastifyInstance;
  anchorer: Anchorer | undefined;
  replicator: Replicator | undefined;
  close(): Promise<void>;
}

export interface ServeOptions {
  port?: number;
  host?: string;
  /** The chain to anchor on; without it the log is kept and served but not anchored. */
  rpcUrl?: string;
  anchor?: AnchorerOptions;
  /** Push this member's records to its replicas every second (default true when a chain is given). */
  replicate?: boolean;
  /**
   * The chain JSON-RPC URL the portal's browsers read from: a hardened public RPC of the operator's
   * (default: this node's own /rpc, which forwards only allow-listed methods to rpcUrl).
   */
  publicRpcUrl?: string;
  /** Limits of the node's /rpc proxy (default: those of src/api/rpcProxy.ts). */
  rpcProxy?: Omit<RpcProxyOptions, 'upstreamUrl'>;
  /** The built portal (default: web/dist of this checkout). */
  portalDir?: string;
  /** The clock of the supply incident flows (24-hour notice deadlines); tests inject one. */
  clock?: () => Date;
}

/**
 * The chain URL the portal gives browsers: --public-rpc-url, or else the path of the node's own
 * allow-listing proxy (`/rpc`, which the portal resolves against its own origin). The node's
 * upstream RPC URL is never published: it may hold an API key, and anvil or an admin-enabled node
 * answers state-changing methods (anvil_setBalance, evm_*, admin_*) to anyone who can reach it.
 */
export function browserRpcUrl(opts: Pick<ServeOptions, 'rpcUrl' | 'publicRpcUrl'>): string {
  return opts.publicRpcUrl ?? RPC_PROXY_PATH;
}

export const DEFAULT_PORTAL_DIR = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../web/dist',
);

/** Serve the node's API on 127.0.0.1 (port 0 = any free port), anchoring its log when a chain is given. */
export async function serveMemberNode(node: MemberNode, opts: ServeOptions = {}): Promise<RunningNode> {
  claimServing(node.dir);
  // Versions stored before categories were kept are classified once (until then they count as every
  // category), and this member's own copies still sealed with HPKE or under an older key-encryption
  // key are rewrapped under the current one, so the local path needs no asymmetric operation.
  await node.records.classifyStored();
  // Patients stored before their names, birth dates and genders were indexed (migration 8).
  await node.records.reindexStored();
  const rewrapped = await node.records.rewrapToCurrentKek();
  // Patients stored before this member held the current consortium key get their discovery tokens.
  await node.records.indexDiscoveryStored();
  if (rewrapped > 0)
    process.stderr.write(
      `medchain: rewrapped ${rewrapped} key(s) of ${node.dir} under the current key-encryption key\n`,
    );
  let anchorer: Anchorer | undefined;
  let conn: ChainConnection | undefined;
  let outbox: Outbox | undefined;
  let replicator: Replicator | undefined;
  let consortium: ConsortiumView | undefined;
  let resuming: Promise<void> | undefined;
  let macs: MemberMacKeys | undefined;
  // The block numbers the node's chain caches learn, shared by the reads of one request.
  const board = new BlockBoard();
  if (opts.rpcUrl && node.manifest) {
    conn = await connectChain(opts.rpcUrl, { expectedChainId: node.manifest.chainId });
    outbox = new Outbox(node.db, conn, walletFor(conn, node.identity.chainKey));
    anchorer = new Anchorer(node.publisher, outbox, conn, node.manifest, opts.anchor);
    await anchorer.sync();
    anchorer.start();
    // A commissioning run a crash interrupted is finished in the background (it waits on the chain).
    resuming = resumeSupplyRuns(node, conn, node.manifest, outbox).catch((err: unknown) => {
      process.stderr.write(
        `medchain: interrupted commissioning runs not finished yet (${(err as Error).message}); the next commissioning finishes them\n`,
      );
    });
    // Members and grants from memory, kept current from chain events; as fresh as contract reads.
    consortium = new ConsortiumCache(conn, node.manifest, { board });
    node.gate.attachChain(consortium);
    macs = memberMacKeys(node, node.manifest, consortium);
    replicator = new Replicator({
      db: node.db,
      records: node.records,
      log: node.log,
      consortium,
      signer: memberAccount(node.identity.chainKey),
      conn,
      manifest: node.manifest,
    });
    if (opts.replicate !== false) replicator.start();
  }
  const chain = conn && node.manifest ? { conn, manifest: node.manifest } : undefined;
  const memberName = chain
    ? (await consortiumContracts(chain.conn, chain.manifest).registry.read.getMember([node.identity.address]))
        .name
    : 'this member';
  const app = buildApi({
    gate: node.gate,
    records: node.records,
    publisher: node.publisher,
    users: node.users,
    sessions: new SessionStore(),
    throttle: new LoginThrottle(),
    verify: (progress) => verifyMemberNode(node, chain, progress),
    ...(outbox
      ? { outbox: () => ({ pending: (outbox as Outbox).pending(), recent: (outbox as Outbox).recent(20) }) }
      : {}),
    portal: {
      config: {
        member: { address: node.identity.address, name: memberName || 'this member' },
        chain: chain
          ? {
              chainId: chain.manifest.chainId,
              rpcUrl: browserRpcUrl(opts),
              contracts: chain.manifest.contracts,
            }
          : null,
      },
      staticDir: opts.portalDir ?? DEFAULT_PORTAL_DIR,
    },
    ...(chain && opts.rpcUrl ? { rpcProxy: { ...opts.rpcProxy, upstreamUrl: opts.rpcUrl } } : {}),
    ...(outbox && node.manifest
      ? {
          relayConsent: (body: unknown) =>
            relayConsent(outbox as Outbox, node.manifest as DeploymentManifest, node.log, body),
        }
      : {}),
    ...(chain && outbox && chain.manifest.contracts.Claims
      ? {
          relayDispute: (body: unknown) =>
            relayDispute(
              chainDisputeDeps(chain.conn, chain.manifest, outbox as Outbox, node.identity.address),
              body,
            ),
        }
      : {}),
    ...(chain && consortium && macs
      ? { ...federationDeps(node, consortium, macs), blockMark: () => board.mark() }
      : {}),
    ...(chain && consortium && outbox && macs
      ? {
          ...supplyDeps(
            node,
            chain.conn,
            chain.manifest,
            consortium,
            outbox,
            opts.clock ?? (() => new Date()),
            macs,
            board,
          ),
          ...supplyCustodyDeps(node, chain.conn, chain.manifest, consortium, outbox),
          ...claimsDeps(node, chain.conn, chain.manifest, consortium, outbox),
          ...paymentDeps(node, chain.conn, chain.manifest, consortium, outbox),
        }
      : {}),
  });
  const host = opts.host ?? '127.0.0.1';
  let address: string;
  try {
    address = await app.listen({ host, port: opts.port ?? 0 });
  } catch (err) {
    // Nothing may keep running (and keep the process alive) behind a node that could not listen.
    await anchorer?.stop();
    await replicator?.stop();
    await resuming;
    await app.close();
    if ((err as { code?: unknown }).code === 'EADDRINUSE')
      throw new PortInUseError(
        `port ${opts.port} on ${host} is in use by another program; stop it, or choose another --port (0 = any free port)`,
        opts.port ?? 0,
      );
    throw err;
  }
  return {
    url: address,
    app,
    anchorer,
    replicator,
    close: async () => {
      await anchorer?.stop();
      await replicator?.stop();
      await resuming;
      await app.close();
      releaseServing(node.dir);
    },
  };
}

const servingFileOf = (dir: string) => path.join(dir, 'node.pid');

/** The process serving the member in `dir`, if one is alive (a key rotation must not run beside it). */
export function servingProcess(dir: string): number | undefined {
  try {
    const pid = Number(readFileSync(servingFileOf(dir), 'utf8').trim());
    if (!Number.isSafeInteger(pid) || pid <= 0) return undefined;
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

function claimServing(dir: string): void {
  writeFileSync(servingFileOf(dir), `${process.pid}\n`, { mode: 0o600 });
}

function releaseServing(dir: string): void {
  try {
    if (readFileSync(servingFileOf(dir), 'utf8').trim() === String(process.pid)) rmSync(servingFileOf(dir));
  } catch {
    // already gone
  }
}
