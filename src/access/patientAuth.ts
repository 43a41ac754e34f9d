/**
 * A patient proves who they are by signing, with the key of their chain address, a short message
 * naming this member and the current time (EIP-191 personal_sign). Used for the accounting of
 * disclosures; the node never holds the patient's key.
 *
 *   Authorization: MedchainPatient address=0x...,timestamp=<ms>,signature=0x...
 *   message: "medchain patient request\nmember: <member address>\naddress: <patient address>\ntimestamp: <ms>"
 */
import { type Address, getAddress, type Hex, isAddress, isHex, type LocalAccount, verifyMessage } from 'viem';

export const PATIENT_AUTH_WINDOW_MS = 5 * 60_000;

export function patientAuthMessage(member: Address, patient: Address, timestamp: number): string {
  return `medchain patient request\nmember: ${getAddress(member)}\naddress: ${getAddress(patient)}\ntimestamp: ${timestamp}`;
}

/** Build the Authorization header value for `patient` (the patient's own tools do this). */
export async function patientAuthHeader(
  patient: LocalAccount,
  member: Address,
  timestamp = Date.now(),
): Promise<string> {
  const signature = await patient.signMessage({
    message: patientAuthMessage(member, patient.address, timestamp),
  });
  return `MedchainPatient address=${patient.address},timestamp=${timestamp},signature=${signature}`;
}

/** The patient address a header proves, or undefined when it proves nothing. */
export async function verifyPatientAuth(
  header: string | undefined,
  member: Address,
  now = Date.now(),
): Promise<Address | undefined> {
  if (!header?.startsWith('MedchainPatient ')) return undefined;
  const fields = Object.fromEntries(
    header
      .slice('MedchainPatient '.length)
      .split(',')
      .map((kv) => kv.trim().split('=') as [string, string]),
  );
  const { address, timestamp, signature } = fields as {
    address?: string;
    timestamp?: string;
    signature?: string;
  };
  if (
    !address ||
    !isAddress(address) ||
    !timestamp ||
    !/^\d{1,15}$/.test(timestamp) ||
    !signature ||
    !isHex(signature)
  )
    return undefined;
  const ts = Number(timestamp);
  if (Math.abs(now - ts) > PATIENT_AUTH_WINDOW_MS) return undefined;
  const ok = await verifyMessage({
    address,
    message: patientAuthMessage(member, address, ts),
    signature: signature as Hex,
  }).catch(() => false);
  return ok ? getAddress(address) : undefined;
}
