/**
 * What the commands a patient signs share (`consent grant`, `consent revoke`, `claims dispute`):
 * the network file, the member that relays and the key file's passphrase as options, and the
 * patient's signing account from their key file. The private key never leaves this process.
 */
import type { Command } from 'commander';
import { type PrivateKeyAccount, privateKeyToAccount } from 'viem/accounts';
import { loadPatientKeys } from '../node/patientKeys.js';
import { passphraseFrom } from './cliSupport.js';

/** Where `medchain up` writes the network file. */
export const DEFAULT_NETWORK = './data/network.json';

/** Add `--via <member>` (described by `viaHelp`), `--network <file>` and `--passphrase-file <file>` to `cmd`. */
export function withRelayOptions(cmd: Command, viaHelp: string): Command {
  return cmd
    .option('--via <member>', viaHelp)
    .option('--network <file>', 'network file of `medchain up`', DEFAULT_NETWORK)
    .option(
      '--passphrase-file <file>',
      "file holding the patient key file's passphrase (default: $MEDCHAIN_PASSPHRASE)",
    );
}

/** The patient's signing account, from the key file `opts.patient` opened with the given passphrase. */
export function patientAccount(opts: { patient: string; passphraseFile?: string }): PrivateKeyAccount {
  return privateKeyToAccount(loadPatientKeys(opts.patient, passphraseFrom(opts)).signingKey);
}
