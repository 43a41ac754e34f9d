/**
 * Test support: an embedded chain in a fresh temporary directory with the consortium contracts
 * deployed and `memberCount` genesis members, each with its own key. Used by *.int.test.ts files.
 * `blockTimeSeconds` mines a block every so many seconds (a Besu QBFT-like block period) instead
 * of one per transaction.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Hex, toHex } from 'viem';
import { generatePrivateKey } from 'viem/accounts';
import { type ChainConnection, type ChainWallet, connectChain, walletFor } from '../../src/chain/clients.js';
import { consortiumContracts } from '../../src/chain/contracts.js';
import { deployContracts, type MemberInput } from '../../src/chain/deploy.js';
import { type EmbeddedChain, launchEmbeddedChain } from '../../src/chain/embeddedChain.js';
import type { DeploymentManifest } from '../../src/chain/manifest.js';

export interface TestMember {
  key: Hex;
  wallet: ChainWallet;
  input: MemberInput;
}

export interface TestChain {
  dir: string;
  chain: EmbeddedChain;
  conn: ChainConnection;
  manifest: DeploymentManifest;
  members: TestMember[];
  contracts: ReturnType<typeof consortiumContracts>;
  /** A fresh key pair that is not a member. */
  outsider(): TestMember;
  close(): Promise<void>;
}

export function newTestMember(conn: ChainConnection, name: string, roles = 1): TestMember {
  const key = generatePrivateKey();
  const wallet = walletFor(conn, key);
  return {
    key,
    wallet,
    input: {
      account: wallet.account.address,
      roles,
      encryptionKey: toHex(randomBytes(32)),
      name,
      endpoint: `http://127.0.0.1:1/${name}`,
    },
  };
}

export async function startTestChain(
  opts: {
    memberCount?: number;
    quorumPercent?: number;
    blockTimeSeconds?: number;
    /** Registry role bitmask of each genesis member by index (default 1, hospital). */
    roles?: readonly number[];
  } = {},
): Promise<TestChain> {
  const dir = mkdtempSync(path.join(tmpdir(), 'medchain-test-'));
  const chain = await launchEmbeddedChain({
    dataDir: path.join(dir, 'chain'),
    ...(opts.blockTimeSeconds === undefined ? {} : { blockTimeSeconds: opts.blockTimeSeconds }),
  });
  try {
    const conn = await connectChain(chain.rpcUrl);
    const members = Array.from({ length: opts.memberCount ?? 3 }, (_, i) =>
      newTestMember(conn, `Member ${i}`, opts.roles?.[i] ?? 1),
    );
    const deployer = members[0] as TestMember;
    const { manifest } = await deployContracts(conn, deployer.wallet, {
      genesis: members.map((m) => m.input),
      quorumPercent: opts.quorumPercent ?? 51,
      manifestFile: path.join(dir, 'deployment.json'),
    });
    return {
      dir,
      chain,
      conn,
      manifest,
      members,
      contracts: consortiumContracts(conn, manifest),
      outsider: () => newTestMember(conn, 'Outsider'),
      close: async () => {
        await chain.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await chain.stop();
    throw err;
  }
}

/** A wallet for a fresh key that is not a member (at zero gas price it can still send). */
export function walletForTest(t: Pick<TestChain, 'conn'>): TestMember {
  return newTestMember(t.conn, 'Patient');
}
