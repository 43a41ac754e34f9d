/**
 * Keccak-256 (the Ethereum hash: Keccak[c=512] with the original 0x01 padding, not FIPS 202
 * SHA3-256's 0x06) for the Merkle trees of drug batches (src/crypto/sortedPairTree.ts), which hash
 * tens of thousands of 64-byte pairs a run. node:crypto has no Keccak (only SHA3), and
 * @noble/hashes costs several times more per call on such short inputs, so this uses hash-wasm's
 * WebAssembly Keccak (a maintained library; no hashing code of our own), one hasher made once at
 * load and reused: calls are synchronous. Checked against @noble/hashes' keccak_256 for every
 * length in keccak256.test.ts.
 */
import { createKeccak } from 'hash-wasm';
import { CryptoError } from './cryptoError.js';

const hasher = await createKeccak(256);

/** Keccak-256 of `input[from, from + length)`, written as 32 bytes to `out[at, at + 32)`. `out` may be `input`. */
export function keccak256Into(
  input: Uint8Array,
  from: number,
  length: number,
  out: Uint8Array,
  at: number,
): void {
  if (length < 0 || from < 0 || from + length > input.length || at < 0 || at + 32 > out.length)
    throw new CryptoError(
      'bad-argument',
      `keccak256Into: ${length} bytes at ${from} or the output is out of range`,
    );
  hasher.init();
  hasher.update(input.subarray(from, from + length));
  out.set(hasher.digest('binary'), at);
}

/** Keccak-256 of a message, as a new 32-byte array. */
export function keccak256Short(input: Uint8Array): Uint8Array {
  const out = new Uint8Array(32);
  keccak256Into(input, 0, input.length, out, 0);
  return out;
}
