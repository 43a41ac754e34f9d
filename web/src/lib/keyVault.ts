/**
 * The patient's keys in the browser: kept in IndexedDB only encrypted (AES-256-GCM under a key
 * derived from the patient's passphrase with PBKDF2-SHA256, 600,000 iterations, WebCrypto). The
 * private key is decrypted into memory on unlock and never sent anywhere. Keys can be created here
 * or imported from a key file of `medchain patient new` (scrypt + AES-256-GCM) or as a raw key.
 */
import { x25519 } from '@noble/curves/ed25519';
import { scryptAsync } from '@noble/hashes/scrypt';
import { type Address, bytesToHex, type Hex, isHex } from 'viem';
import { generatePrivateKey, type PrivateKeyAccount, privateKeyToAccount } from 'viem/accounts';

export interface PatientSecrets {
  signingKey: Hex;
  encryptionPrivateKey: Hex;
}

export interface UnlockedKey {
  address: Address;
  account: PrivateKeyAccount;
  encryptionPublicKey: Hex;
}

interface StoredKey {
  address: Address;
  encryptionPublicKey: Hex;
  kdf: { name: 'PBKDF2'; hash: 'SHA-256'; iterations: number; salt: string };
  iv: string;
  ciphertext: string;
  createdAt: number;
}

const DB = 'medchain-portal';
const STORE = 'patient-keys';
const ITERATIONS = 600_000;
const b64 = (b: Uint8Array) => btoa(String.fromCharCode(...b));
const unb64 = (s: string): Uint8Array<ArrayBuffer> => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));

export class KeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeyError';
  }
}

function db(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const r = indexedDB.open(DB, 1);
    r.onupgradeneeded = () => r.result.createObjectStore(STORE, { keyPath: 'address' });
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(new KeyError('this browser does not allow storing keys (IndexedDB)'));
  });
}

async function tx<T>(mode: IDBTransactionMode, f: (s: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  const d = await db();
  try {
    return await new Promise<T>((resolve, reject) => {
      const r = f(d.transaction(STORE, mode).objectStore(STORE));
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(new KeyError('the key store could not be read or written'));
    });
  } finally {
    d.close();
  }
}

export const storedKeys = () => tx<StoredKey[]>('readonly', (s) => s.getAll() as IDBRequest<StoredKey[]>);
export const forgetKey = (address: Address) => tx('readwrite', (s) => s.delete(address));

async function wrappingKey(
  passphrase: string,
  salt: Uint8Array<ArrayBuffer>,
  iterations: number,
): Promise<CryptoKey> {
  const base = await crypto.subtle.importKey(
    'raw',
    new TextEncoder().encode(passphrase.normalize('NFKC')),
    'PBKDF2',
    false,
    ['deriveKey'],
  );
  return crypto.subtle.deriveKey(
    { name: 'PBKDF2', hash: 'SHA-256', salt, iterations },
    base,
    { name: 'AES-GCM', length: 256 },
    false,
    ['encrypt', 'decrypt'],
  );
}

function checkPassphrase(passphrase: string): void {
  if (passphrase.length < 8) throw new KeyError('the passphrase must be at least 8 characters');
}

function unlocked(secrets: PatientSecrets): UnlockedKey {
  const account = privateKeyToAccount(secrets.signingKey);
  const pub = x25519.getPublicKey(secrets.encryptionPrivateKey.slice(2));
  return { address: account.address, account, encryptionPublicKey: bytesToHex(pub) };
}

/** Encrypt and store `secrets`; returns the unlocked key. */
export async function storeKey(secrets: PatientSecrets, passphrase: string): Promise<UnlockedKey> {
  checkPassphrase(passphrase);
  const key = unlocked(secrets);
  if ((await storedKeys()).some((k) => k.address === key.address))
    throw new KeyError(
      `a key for ${key.address} is already in this browser; unlock it instead (importing again would replace its encryption key)`,
    );
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const ct = await crypto.subtle.encrypt(
    { name: 'AES-GCM', iv, additionalData: new TextEncoder().encode(key.address) },
    await wrappingKey(passphrase, salt, ITERATIONS),
    new TextEncoder().encode(JSON.stringify(secrets)),
  );
  const stored: StoredKey = {
    address: key.address,
    encryptionPublicKey: key.encryptionPublicKey,
    kdf: { name: 'PBKDF2', hash: 'SHA-256', iterations: ITERATIONS, salt: b64(salt) },
    iv: b64(iv),
    ciphertext: b64(new Uint8Array(ct)),
    createdAt: Date.now(),
  };
  await tx('readwrite', (s) => s.put(stored));
  return key;
}

/** A new patient key pair (chain account + X25519), stored under `passphrase`. */
export function createKey(passphrase: string): Promise<UnlockedKey> {
  return storeKey(
    { signingKey: generatePrivateKey(), encryptionPrivateKey: bytesToHex(x25519.utils.randomPrivateKey()) },
    passphrase,
  );
}

export async function unlockKey(address: Address, passphrase: string): Promise<UnlockedKey> {
  const all = await storedKeys();
  const s = all.find((k) => k.address === address);
  if (!s) throw new KeyError('no key for this address in this browser; import it first');
  let plain: ArrayBuffer;
  try {
    plain = await crypto.subtle.decrypt(
      { name: 'AES-GCM', iv: unb64(s.iv), additionalData: new TextEncoder().encode(s.address) },
      await wrappingKey(passphrase, unb64(s.kdf.salt), s.kdf.iterations),
      unb64(s.ciphertext),
    );
  } catch {
    throw new KeyError('wrong passphrase');
  }
  return unlocked(JSON.parse(new TextDecoder().decode(plain)) as PatientSecrets);
}

interface MedchainKeyFile {
  version: 1;
  kdf: { name: 'scrypt'; N: number; r: number; p: number; salt: string };
  cipher: 'aes-256-gcm';
  nonce: string;
  ciphertext: string;
  public: { kind?: string; address?: string };
}

/** Open a key file of `medchain patient new` with its passphrase (scrypt, AES-256-GCM). */
export async function openKeyFile(text: string, passphrase: string): Promise<PatientSecrets> {
  let f: MedchainKeyFile;
  try {
    f = JSON.parse(text);
  } catch {
    throw new KeyError('this file is not a medchain key file (not JSON)');
  }
  if (
    f?.version !== 1 ||
    f.kdf?.name !== 'scrypt' ||
    f.cipher !== 'aes-256-gcm' ||
    f.public?.kind !== 'patient'
  )
    throw new KeyError('this file is not a medchain patient key file');
  const { N, r, p } = f.kdf;
  if (N > 1 << 20 || r > 16 || p > 4) throw new KeyError('the key file asks for too much work to open');
  const key = await scryptAsync(passphrase.normalize('NFKC'), unb64(f.kdf.salt), { N, r, p, dkLen: 32 });
  let plain: ArrayBuffer;
  try {
    plain = await crypto.subtle.decrypt(
      {
        name: 'AES-GCM',
        iv: unb64(f.nonce),
        additionalData: new TextEncoder().encode('medchain-keystore-v1'),
      },
      await crypto.subtle.importKey('raw', new Uint8Array(key), 'AES-GCM', false, ['decrypt']),
      unb64(f.ciphertext),
    );
  } catch {
    throw new KeyError('wrong passphrase for this key file');
  }
  const s = JSON.parse(new TextDecoder().decode(plain)) as Partial<PatientSecrets>;
  if (!isHex(s.signingKey) || !isHex(s.encryptionPrivateKey))
    throw new KeyError('the key file does not hold a patient key');
  if (f.public.address && privateKeyToAccount(s.signingKey).address !== f.public.address)
    throw new KeyError('the key file is inconsistent: its key does not belong to the address it shows');
  return { signingKey: s.signingKey, encryptionPrivateKey: s.encryptionPrivateKey };
}

/** A raw secp256k1 private key (0x + 64 hex digits); a fresh encryption key goes with it. */
export function rawKey(hex: string): PatientSecrets {
  const v = hex.trim();
  if (!/^0x[0-9a-fA-F]{64}$/.test(v)) throw new KeyError('a private key is 0x followed by 64 hex digits');
  return {
    signingKey: v as Hex,
    encryptionPrivateKey: bytesToHex(x25519.utils.randomPrivateKey()),
  };
}
