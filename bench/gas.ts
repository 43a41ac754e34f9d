/**
 * Gas per consortium operation, measured on the embedded chain (same EVM rules as Besu for these
 * opcodes). Writes bench/results/gas.json and bench/results/gas.md, and prints the table.
 * Each operation is repeated (the consortium grows by one member per round, so votes get
 * more numerous); we report the median and the range (first writes to a storage slot
 * cost more than rewrites, so a grant that replaces an earlier one is listed separately).
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Hex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { signGrant, signRevoke } from '../src/chain/consentSignatures.js';
import { auditAnchorAbi, consentAbi, registryAbi } from '../src/chain/generated/index.js';
import { writeAndWait } from '../src/chain/transact.js';
import { newTestMember, startTestChain, type TestMember } from '../test/support/testChain.js';

const RUNS = Number(process.env.GAS_RUNS ?? 20);
const outDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'results');

const sorted = (xs: bigint[]) => [...xs].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

export async function runGasBench(): Promise<
  { operation: string; runs: number; median: number; min: number; max: number }[]
> {
  const t = await startTestChain({ memberCount: 3 });
  try {
    const [relayer, grantee, third] = t.members as [TestMember, TestMember, TestMember];
    const samples = new Map<string, bigint[]>();
    const record = (op: string, gas: bigint) => samples.set(op, [...(samples.get(op) ?? []), gas]);
    const consent = (functionName: 'grantWithSig' | 'revokeWithSig', args: readonly unknown[]) =>
      writeAndWait(t.conn, relayer.wallet, {
        address: t.manifest.contracts.Consent,
        abi: consentAbi,
        functionName,
        args: args as never,
      });
    const ts = (await t.conn.publicClient.getBlock()).timestamp;
    const voters: TestMember[] = [relayer, grantee, third];
    for (let i = 0; i < RUNS; i++) {
      const patient = privateKeyToAccount(generatePrivateKey());
      const base = {
        patient: patient.address,
        grantee: grantee.input.account,
        granteeAdmission: 1, // a genesis member's first admission
        categories: 0b110,
        purposes: 1,
        validFrom: ts,
        expiry: ts + 86_400n * 365n,
        deadline: ts + 86_400n,
      };
      const g0 = { ...base, nonce: 0n };
      record(
        'Consent.grantWithSig (new grant)',
        (await consent('grantWithSig', [g0, await signGrant(patient, t.manifest, g0)])).receipt.gasUsed,
      );
      const g1 = { ...base, categories: 0b1110, nonce: 1n };
      record(
        'Consent.grantWithSig (replace grant)',
        (await consent('grantWithSig', [g1, await signGrant(patient, t.manifest, g1)])).receipt.gasUsed,
      );
      const r = {
        patient: patient.address,
        grantee: grantee.input.account,
        nonce: 2n,
        deadline: base.deadline,
      };
      record(
        'Consent.revokeWithSig',
        (await consent('revokeWithSig', [r, await signRevoke(patient, t.manifest, r)])).receipt.gasUsed,
      );

      const root = `0x${(i + 1).toString(16).padStart(64, '0')}` as Hex;
      const a = await writeAndWait(t.conn, third.wallet, {
        address: t.manifest.contracts.AuditAnchor,
        abi: auditAnchorAbi,
        functionName: 'anchor',
        args: [BigInt((i + 1) * 10_000), root, BigInt(Date.now())],
      });
      record(
        i === 0 ? 'AuditAnchor.anchor (first head)' : 'AuditAnchor.anchor (next head)',
        a.receipt.gasUsed,
      );

      const candidate = newTestMember(t.conn, `Candidate ${i}`, 4);
      const p = await writeAndWait(t.conn, relayer.wallet, {
        address: t.manifest.contracts.Registry,
        abi: registryAbi,
        functionName: 'proposeAdmission',
        args: [candidate.input],
      });
      record('Registry.proposeAdmission', p.receipt.gasUsed);
      const id = (await t.contracts.registry.read.proposalCount()) - 1n;
      for (const voter of voters.slice(1)) {
        const v = await writeAndWait(t.conn, voter.wallet, {
          address: t.manifest.contracts.Registry,
          abi: registryAbi,
          functionName: 'vote',
          args: [id],
        });
        record(
          v.result ? 'Registry.vote (executes admission)' : 'Registry.vote (not yet quorum)',
          v.receipt.gasUsed,
        );
        if (v.result) break;
      }
      voters.push(candidate);
    }
    return [...samples].map(([operation, xs]) => {
      const s = sorted(xs);
      return {
        operation,
        runs: s.length,
        median: Number(s[Math.floor(s.length / 2)]),
        min: Number(s[0]),
        max: Number(s[s.length - 1]),
      };
    });
  } finally {
    await t.close();
  }
}

export function gasTable(rows: Awaited<ReturnType<typeof runGasBench>>): string {
  const lines = ['| operation | runs | median gas | min | max |', '|---|---:|---:|---:|---:|'];
  for (const r of rows) lines.push(`| ${r.operation} | ${r.runs} | ${r.median} | ${r.min} | ${r.max} |`);
  return lines.join('\n');
}

export async function main(): Promise<void> {
  const rows = await runGasBench();
  const table = gasTable(rows);
  const meta = {
    bench: 'gas',
    date: new Date().toISOString(),
    node: process.version,
    runsPerOperation: RUNS,
  };
  writeFileSync(path.join(outDir, 'gas.json'), `${JSON.stringify({ ...meta, results: rows }, null, 2)}\n`);
  writeFileSync(
    path.join(outDir, 'gas.md'),
    `# Gas per operation\n\n${meta.date}, ${meta.node}\n\n${table}\n`,
  );
  process.stdout.write(`${table}\n\nwrote bench/results/gas.json and bench/results/gas.md\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) await main();
