/**
 * viem clients for any EVM JSON-RPC endpoint (anvil, Hyperledger Besu, ...). Only standard
 * `eth_*` methods are used from here on.
 */
import {
  type Account,
  type Chain,
  createPublicClient,
  createWalletClient,
  defineChain,
  type Hex,
  http,
  type PublicClient,
  type Transport,
  type WalletClient,
} from 'viem';
import { memberAccount } from '../crypto/memberAccount.js';
import { ChainError } from './chainError.js';
import { viemFetch } from './rpcFetch.js';

export interface ChainConnection {
  readonly rpcUrl: string;
  readonly chain: Chain;
  readonly publicClient: PublicClient<Transport, Chain>;
}

export type ChainWallet = WalletClient<Transport, Chain, Account>;

/** Connect to `rpcUrl`, read its chain id, and return a public client bound to that chain. */
export async function connectChain(
  rpcUrl: string,
  opts: { expectedChainId?: number } = {},
): Promise<ChainConnection> {
  const probe = createPublicClient({ transport: http(rpcUrl, { retryCount: 2, timeout: 10_000 }) });
  let id: number;
  try {
    id = await probe.getChainId();
  } catch (cause) {
    throw new ChainError('chain-unreachable', `cannot reach the chain at ${rpcUrl}`, { cause });
  }
  if (opts.expectedChainId !== undefined && id !== opts.expectedChainId) {
    throw new ChainError(
      'chain-mismatch',
      `chain at ${rpcUrl} has id ${id}, expected ${opts.expectedChainId}`,
    );
  }
  const chain = defineChain({
    id,
    name: `medchain-${id}`,
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  });
  const publicClient = createPublicClient({
    chain,
    transport: http(rpcUrl, { retryCount: 2, timeout: 30_000, fetchFn: viemFetch }),
    pollingInterval: 100,
  });
  return { rpcUrl, chain, publicClient };
}

/**
 * `conn` with a public client that sends the reads begun in the same turn of the event loop as
 * one JSON-RPC 2.0 batch (one HTTP request instead of one each): for a path that reads several
 * facts at once (the insurer's checks of a claim). Batching is standard JSON-RPC; anvil and Besu
 * both take it.
 */
export function withBatchedReads(conn: ChainConnection): ChainConnection {
  return {
    ...conn,
    publicClient: createPublicClient({
      chain: conn.chain,
      transport: http(conn.rpcUrl, {
        retryCount: 2,
        timeout: 30_000,
        batch: { wait: 0 },
        fetchFn: viemFetch,
      }),
      pollingInterval: 100,
    }),
  };
}

/** A wallet client that signs locally with `privateKey` (the key never leaves this process; libsecp256k1, src/crypto/memberAccount.ts). */
export function walletFor(conn: ChainConnection, privateKey: Hex): ChainWallet {
  return createWalletClient({
    account: memberAccount(privateKey),
    chain: conn.chain,
    transport: http(conn.rpcUrl, { retryCount: 2, timeout: 30_000, fetchFn: viemFetch }),
  });
}
