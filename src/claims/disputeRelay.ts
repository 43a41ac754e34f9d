/**
 * Relaying a patient's signed claim dispute to the chain (issue 13; contracts/Claims.sol
 * `dispute`). Any member relays, with no user session: the patient's EIP-712 `Dispute` signature
 * and the salt of the claim's patient commitment are the authority, and the contract checks them.
 * The node checks the round against the claim's record (a replayed signature is refused by name)
 * and has the call simulated (eth_call) before it records it in the outbox, so a signature the
 * chain would refuse is answered at once with the contract's custom error instead of being queued.
 */
import { type Address, type Hex, isHex, keccak256 } from 'viem';
import { revertReason } from '../chain/chainError.js';
import { type ClaimsView, chainClaims } from '../chain/claimsView.js';
import type { ChainConnection } from '../chain/clients.js';
import { isChainDown } from '../chain/consortium.js';
import { claimsAbi } from '../chain/generated/index.js';
import type { DeploymentManifest } from '../chain/manifest.js';
import type { Outbox, OutboxStatus } from '../chain/outbox.js';
import { badRequest, ChainUnavailableError, notFound } from '../errors.js';
import { DisputeRefusedError } from './claimsError.js';

/** A dispute as relayed: the signed message, the salt, the signature. */
export interface DisputeRelayBody {
  claimId: Hex;
  round: number;
  deadline: bigint;
  salt: Hex;
  signature: Hex;
}

export interface DisputeRelayDeps {
  outbox: Outbox;
  claims: Pick<ClaimsView, 'address' | 'claimOf'>;
  /** eth_call Claims.dispute as this node's account; rejects with the revert when it would fail. */
  simulate(args: readonly [Hex, number, bigint, Hex, Hex]): Promise<unknown>;
}

/** The relay's chain side for a node: its outbox, the deployment's Claims, eth_call as `account`. */
export function chainDisputeDeps(
  conn: ChainConnection,
  manifest: DeploymentManifest,
  outbox: Outbox,
  account: Address,
): DisputeRelayDeps {
  const claims = chainClaims(conn, manifest);
  return {
    outbox,
    claims,
    simulate: (args) =>
      conn.publicClient.simulateContract({
        address: claims.address,
        abi: claimsAbi,
        functionName: 'dispute',
        args,
        account,
      }),
  };
}

export interface DisputeRelayed {
  /** The outbox key of the transaction (the admin view and retries name it). */
  key: string;
  status: OutboxStatus;
}

/** Largest accepted body (five short fields). */
export const MAX_DISPUTE_BODY = 1_024;
const FIELDS = ['claimId', 'round', 'deadline', 'salt', 'signature'] as const;
const BYTES32 = /^0x[0-9a-fA-F]{64}$/;
/** r, s, v: the only length OpenZeppelin ECDSA.recover takes from bytes. */
const SIGNATURE = /^0x[0-9a-fA-F]{130}$/;

/** Validate a relay body strictly: exactly {claimId, round, deadline, salt, signature}. */
export function parseDispute(body: unknown): DisputeRelayBody {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw badRequest('send {"claimId", "round", "deadline", "salt", "signature"}');
  const b = body as Record<string, unknown>;
  for (const k of Object.keys(b))
    if (!(FIELDS as readonly string[]).includes(k))
      throw badRequest(`"${k.slice(0, 40)}" is not part of a dispute relay`);
  for (const k of FIELDS) if (!(k in b)) throw badRequest(`${k} is missing`);
  const bytes32 = (v: unknown, name: string): Hex => {
    if (typeof v !== 'string' || !BYTES32.test(v))
      throw badRequest(`${name} must be 32 bytes of hex with 0x`);
    return v.toLowerCase() as Hex;
  };
  if (!Number.isInteger(b.round) || (b.round as number) < 0 || (b.round as number) > 0xffff_ffff)
    throw badRequest('round must be an integer 0..4294967295 (the claim’s dispute count)');
  const d = b.deadline;
  if ((typeof d !== 'string' && typeof d !== 'number') || !/^\d{1,20}$/.test(String(d)))
    throw badRequest('deadline must be Unix seconds, as a decimal string');
  if (typeof b.signature !== 'string' || !SIGNATURE.test(b.signature) || !isHex(b.signature))
    throw badRequest('signature must be the 65-byte EIP-712 signature in hex');
  return {
    claimId: bytes32(b.claimId, 'claimId'),
    round: b.round as number,
    deadline: BigInt(d),
    salt: bytes32(b.salt, 'salt'),
    signature: b.signature.toLowerCase() as Hex,
  };
}

/** What the patient is told for each custom error of Claims.dispute. */
function refusal(name: string, args: readonly unknown[]): DisputeRefusedError {
  const data = { error: name, args: args.map(String) };
  switch (name) {
    case 'ClaimsNotPatient':
      return new DisputeRefusedError(
        name,
        'the chain refuses the dispute (ClaimsNotPatient): the signature and salt are not the patient’s for this claim and round',
        data,
      );
    case 'ClaimsSignatureExpired':
      return new DisputeRefusedError(
        name,
        `the chain refuses the dispute (ClaimsSignatureExpired): its deadline ${String(args[0])} has passed; sign a new one`,
        data,
      );
    case 'ClaimsIllegalTransition':
      return new DisputeRefusedError(
        name,
        'the chain refuses the dispute (ClaimsIllegalTransition): only a pended, approved or paid claim can be disputed',
        data,
      );
    default:
      return new DisputeRefusedError(name, `the chain refuses the dispute (${name})`, data);
  }
}

/** Check and queue a patient's dispute; resolves once it is recorded in the outbox (202). */
export async function relayDispute(deps: DisputeRelayDeps, body: unknown): Promise<DisputeRelayed> {
  const d = parseDispute(body);
  const key = `claims-dispute:${d.claimId}:${d.round}:${keccak256(d.signature).slice(0, 18)}`;
  const earlier = deps.outbox.get(key);
  if (earlier?.status === 'queued' || earlier?.status === 'signed') return { key, status: earlier.status };
  if (earlier?.status === 'confirmed')
    throw new DisputeRefusedError(
      'dispute-replayed',
      `this signed dispute was already relayed (transaction ${earlier.txHash ?? 'none'}); it disputes once`,
    );
  const record = await deps.claims.claimOf(d.claimId);
  if (!record)
    throw notFound('no claim with this id is recorded on chain (the payer has not decided it yet)');
  if (d.round < record.disputes)
    throw new DisputeRefusedError(
      'dispute-replayed',
      `dispute round ${d.round} of this claim was already used (the claim is at round ${record.disputes}); a dispute signature is good once`,
      { round: record.disputes },
    );
  if (d.round > record.disputes)
    throw new DisputeRefusedError(
      'dispute-wrong-round',
      `the claim is at dispute round ${record.disputes}, not ${d.round}; sign the dispute for round ${record.disputes}`,
      { round: record.disputes },
    );
  const args = [d.claimId, d.round, d.deadline, d.salt, d.signature] as const;
  try {
    await deps.simulate(args);
  } catch (err) {
    const reason = revertReason(err);
    if (reason) throw refusal(reason.name, reason.args);
    throw isChainDown(err) ? new ChainUnavailableError(err) : err;
  }
  const entry = deps.outbox.enqueue({
    key,
    contract: 'Claims',
    address: deps.claims.address,
    functionName: 'dispute',
    args,
    description: 'relay a patient-signed claim dispute',
  });
  // Sent in the background; the outbox keeps it through a crash and the key names it.
  void deps.outbox.flush().catch(() => undefined);
  return { key, status: entry.status };
}
