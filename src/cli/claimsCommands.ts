/**
 * Patient claim commands: `claims dispute` signs the EIP-712 `Dispute` of a claim billed in the
 * patient's name with the patient's own key (src/chain/disputeSignature.ts) and has a member node
 * relay it (`POST /claims/dispute`). The patient's private key never leaves this process.
 */
import type { Command } from 'commander';
import { chainClaims } from '../chain/claimsView.js';
import { connectChain } from '../chain/clients.js';
import { signDispute } from '../chain/disputeSignature.js';
import { InvalidInputError } from '../errors.js';
import { DEMO_PASSPHRASE } from '../node/localNetwork.js';
import { type CliIo, readNetwork } from './cliSupport.js';
import { patientAccount, withRelayOptions } from './patientSigning.js';

const BYTES32 = /^0x[0-9a-fA-F]{64}$/;
/** How long the signed dispute may wait to be relayed. */
const DEADLINE_SECONDS = 3600n;

export function registerClaimsCommands(program: Command, io: CliIo): void {
  const claims = program.command('claims').description('insurance claims billed in a patient’s name');
  withRelayOptions(
    claims
      .command('dispute')
      .description(
        'dispute a claim ("I was not seen that day"): sign with the patient key, a member relays it',
      )
      .requiredOption('--patient <keyfile>', "the patient's key file")
      .requiredOption(
        '--claim <claimId>',
        'the claim’s id on chain (32 bytes hex, from the Explanation of Benefit)',
      )
      .requiredOption(
        '--salt <hex>',
        'the salt of the claim’s patient commitment (32 bytes hex, from the EOB)',
      ),
    'name of the member whose node relays (default: the first)',
  )
    .addHelpText(
      'after',
      `
Example (the local network of npm start):
  MEDCHAIN_PASSPHRASE=${DEMO_PASSPHRASE} npx medchain claims dispute --patient data/patients/patient-01.json \\
    --claim 0x… --salt 0x…`,
    )
    .action(
      async (opts: {
        patient: string;
        claim: string;
        salt: string;
        via?: string;
        network: string;
        passphraseFile?: string;
      }) => {
        if (!BYTES32.test(opts.claim)) throw new InvalidInputError('--claim must be 32 bytes of hex with 0x');
        if (!BYTES32.test(opts.salt)) throw new InvalidInputError('--salt must be 32 bytes of hex with 0x');
        const claimId = opts.claim.toLowerCase() as `0x${string}`;
        const { net, manifest } = readNetwork(opts.network);
        const via = opts.via
          ? net.members.find((m) => m.name.toLowerCase() === opts.via?.toLowerCase())
          : net.members[0];
        if (!via)
          throw new InvalidInputError(
            `no member "${opts.via ?? ''}"; members: ${net.members.map((m) => m.name).join(', ')}`,
          );
        if (!manifest.contracts.Claims)
          throw new InvalidInputError('this network has no Claims contract; run medchain up again');
        const account = patientAccount(opts);
        const conn = await connectChain(net.chain.rpcUrl, { expectedChainId: manifest.chainId });
        const record = await chainClaims(conn, manifest).claimOf(claimId);
        if (!record) throw new InvalidInputError(`no claim ${claimId} is recorded on chain`);
        const now = (await conn.publicClient.getBlock()).timestamp;
        const message = { claimId, round: record.disputes, deadline: now + DEADLINE_SECONDS };
        const signature = await signDispute(
          account,
          { chainId: manifest.chainId, verifyingContract: manifest.contracts.Claims },
          message,
        );
        let r: Response;
        try {
          r = await fetch(`${via.url}/claims/dispute`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({
              ...message,
              deadline: message.deadline.toString(),
              salt: opts.salt.toLowerCase(),
              signature,
            }),
          });
        } catch {
          throw new InvalidInputError(
            `cannot reach ${via.name} at ${via.url}; is the network running (npm start)?`,
          );
        }
        const json = (await r.json()) as { key?: string; issue?: { details?: { text?: string } }[] };
        if (r.status !== 202)
          throw new InvalidInputError(json.issue?.[0]?.details?.text ?? `the relay answered ${r.status}`);
        io.out(`disputed claim ${claimId} (was ${record.state}); relayed by ${via.name}, outbox ${json.key}`);
      },
    );
}
