/**
 * Conformance (issue 15): the transparency log API checked client-side with a Merkle
 * implementation not written here, Sigstore's RFC 6962 inclusion check (@sigstore/verify,
 * dist/tlog/merkle.js). Entries are fetched with RFC 6962 §4.6 semantics (`end` inclusive, short
 * pages followed from `start + entries.length`), each with its inclusion proof to the signed head.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, before, describe, test } from 'node:test';
import type { Patient } from '@medplum/fhirtypes';
import { type ConformanceNode, startConformanceNode } from './conformanceNode.js';

interface SigstoreInclusionEntry {
  canonicalizedBody: Buffer;
  inclusionProof: { logIndex: string; hashes: Buffer[]; rootHash: Buffer; treeSize: string };
}
/** Sigstore's check (throws a VerificationError when the proof does not lead to the root). */
const { verifyMerkleInclusion } = createRequire(import.meta.url)('@sigstore/verify/dist/tlog/merkle.js') as {
  verifyMerkleInclusion(
    entry: SigstoreInclusionEntry,
    checkpoint: { logSize: bigint; logHash: Buffer },
  ): void;
};

const unhex = (h: string) => Buffer.from(h.replace(/^0x/, ''), 'hex');

let n: ConformanceNode;
before(async () => {
  n = await startConformanceNode();
});
after(() => n?.close());

async function get(path: string, token: string): Promise<Record<string, unknown>> {
  const r = await fetch(`${n.origin}${path}`, { headers: { authorization: `Bearer ${token}` } });
  const body = (await r.json()) as Record<string, unknown>;
  assert.equal(r.status, 200, `${path}: ${JSON.stringify(body).slice(0, 300)}`);
  return body;
}

describe('conformance: the log API under an RFC 6962 client', { timeout: 300_000 }, () => {
  test('every entry, fetched with inclusive end and short pages, is proven included in the head by Sigstore’s Merkle code', async () => {
    // Writes, so the log has entries of several shapes (creates, reads, searches, sign-ins).
    for (let i = 0; i < 6; i++) {
      const r = await fetch(`${n.base}/Patient`, {
        method: 'POST',
        headers: { authorization: `Bearer ${n.token}`, 'content-type': 'application/fhir+json' },
        body: JSON.stringify({ resourceType: 'Patient', name: [{ family: `Log${i}` }] } satisfies Patient),
      });
      assert.equal(r.status, 201);
    }
    const head = (await get('/log/head', n.token)) as { treeSize: number; rootHash: string };
    const size = head.treeSize;
    assert.ok(size >= 7, `the log holds the writes (size ${size})`);

    // get-entries from 0 to the head's last index, following short pages.
    const leaves: Buffer[] = [];
    let calls = 0;
    while (leaves.length < size) {
      const page = (await get(`/log/entries?start=${leaves.length}&end=${size - 1}`, n.adminToken)) as {
        entries: { index: number; leaf: string }[];
      };
      calls++;
      assert.ok(page.entries.length > 0, 'a page is never empty below the end');
      for (const e of page.entries) {
        assert.equal(e.index, leaves.length, 'entries in order, none skipped');
        leaves.push(Buffer.from(e.leaf, 'base64'));
      }
    }
    assert.equal(leaves.length, size, 'the last entry (end inclusive) is included');
    assert.ok(calls >= 1);

    const checkpoint = { logSize: BigInt(size), logHash: unhex(head.rootHash) };
    for (const [i, leaf] of leaves.entries()) {
      const proof = (await get(`/log/proof/inclusion?index=${i}&treeSize=${size}`, n.token)) as {
        path: string[];
      };
      const entry: SigstoreInclusionEntry = {
        canonicalizedBody: leaf,
        inclusionProof: {
          logIndex: String(i),
          hashes: proof.path.map(unhex),
          rootHash: checkpoint.logHash,
          treeSize: String(size),
        },
      };
      assert.doesNotThrow(() => verifyMerkleInclusion(entry, checkpoint), `entry ${i} of ${size}`);
      // The same library refuses a corrupted leaf, index or root: the check can fail.
      const flipped = Buffer.from(leaf);
      flipped[0] = (flipped[0] as number) ^ 1;
      assert.throws(() => verifyMerkleInclusion({ ...entry, canonicalizedBody: flipped }, checkpoint));
      if (size > 1) {
        const other = String((i + 1) % size);
        assert.throws(() =>
          verifyMerkleInclusion(
            { ...entry, inclusionProof: { ...entry.inclusionProof, logIndex: other } },
            checkpoint,
          ),
        );
      }
      assert.throws(() =>
        verifyMerkleInclusion(entry, { ...checkpoint, logHash: unhex(`0x${'00'.repeat(32)}`) }),
      );
    }
  });

  test('get-entries: end past the log answers a short page up to the last entry', async () => {
    const size = ((await get('/log/head', n.token)) as { treeSize: number }).treeSize;
    const page = (await get(`/log/entries?start=${size - 1}&end=${size + 100}`, n.adminToken)) as {
      entries: { index: number }[];
    };
    assert.deepEqual(
      page.entries.map((e) => e.index),
      [size - 1],
    );
  });
});
