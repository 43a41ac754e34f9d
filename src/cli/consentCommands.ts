/**
 * Patient commands: `patient new` makes the patient's own key file; `consent grant`, `revoke` and
 * `list` sign EIP-712 consent locally with the patient's key and have a member node relay it.
 * The patient's private key never leaves this process.
 */
import type { Command } from 'commander';
import { type Address, getAddress, isAddress } from 'viem';
import { connectChain } from '../chain/clients.js';
import { grantState } from '../chain/consentModel.js';
import { type GrantRequest, type RevokeRequest, signGrant, signRevoke } from '../chain/consentSignatures.js';
import { consortiumContracts } from '../chain/contracts.js';
import type { DeploymentManifest } from '../chain/manifest.js';
import { categoriesToMask, maskToCategories, maskToPurposes, purposesToMask } from '../chain/scopes.js';
import { InvalidInputError } from '../errors.js';
import { parseFhirDate } from '../fhir/dates.js';
import { DEMO_PASSPHRASE, type NetworkFile } from '../node/localNetwork.js';
import { createPatientKeys, patientAddressOf } from '../node/patientKeys.js';
import { type CliIo, passphraseFrom, readNetwork } from './cliSupport.js';
import { DEFAULT_NETWORK, patientAccount, withRelayOptions } from './patientSigning.js';

/** How long a grant lasts when `consent grant` is given no --expires (365 days). */
export const ONE_YEAR_SECONDS = 365n * 86_400n;

/** A date (YYYY-MM-DD or a dateTime) as Unix seconds. */
function seconds(value: string, flag: string): bigint {
  const r = parseFhirDate(value);
  if (!r) throw new InvalidInputError(`${flag} must be a date such as 2027-01-31`);
  return BigInt(Math.floor(r.lo / 1000));
}

/** A member by name (case-insensitive) or address, from the network file. */
function memberOf(net: NetworkFile, nameOrAddress: string): NetworkFile['members'][number] {
  const m = net.members.find(
    (x) =>
      x.name.toLowerCase() === nameOrAddress.toLowerCase() ||
      (isAddress(nameOrAddress) && x.address.toLowerCase() === nameOrAddress.toLowerCase()),
  );
  if (!m)
    throw new InvalidInputError(
      `no member "${nameOrAddress}"; members: ${net.members.map((x) => x.name).join(', ')}`,
    );
  return m;
}

async function relay(url: string, body: unknown): Promise<{ txHash: string; blockNumber: number }> {
  let r: Response;
  try {
    r = await fetch(`${url}/consent/relay`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)),
    });
  } catch {
    throw new InvalidInputError(
      `cannot reach the member node at ${url}; is the network running (npm start)?`,
    );
  }
  const json = (await r.json()) as {
    txHash: string;
    blockNumber: number;
    issue?: { details?: { text?: string } }[];
  };
  if (!r.ok) throw new InvalidInputError(json.issue?.[0]?.details?.text ?? `the relay answered ${r.status}`);
  return json;
}

async function chainOf(manifest: DeploymentManifest, net: NetworkFile) {
  const conn = await connectChain(net.chain.rpcUrl, { expectedChainId: manifest.chainId });
  return { conn, contracts: consortiumContracts(conn, manifest) };
}

/** The network, the grantee member and the relaying member named on the command line. */
function participants(opts: { network: string; to: string; via?: string }) {
  const { net, manifest } = readNetwork(opts.network);
  const grantee = memberOf(net, opts.to);
  const via = opts.via ? memberOf(net, opts.via) : net.members[0];
  if (!via) throw new InvalidInputError('the network has no members');
  return { net, manifest, grantee, via };
}

/** The patient's signing account (from their key file) and the contracts to read nonces from. */
async function signer(
  opts: { patient: string; passphraseFile?: string },
  manifest: DeploymentManifest,
  net: NetworkFile,
) {
  const account = patientAccount(opts);
  const { contracts } = await chainOf(manifest, net);
  return { account, contracts };
}

export function registerConsentCommands(program: Command, io: CliIo): void {
  const patient = program.command('patient').description("a patient's own keys");
  patient
    .command('new')
    .description(
      'create a patient key file (chain account that signs consent + X25519 key), passphrase-protected',
    )
    .requiredOption('--out <file>', 'where to write the key file (the patient keeps it)')
    .option('--passphrase-file <file>', 'file holding the passphrase (default: $MEDCHAIN_PASSPHRASE)')
    .action((opts: { out: string; passphraseFile?: string }) => {
      const k = createPatientKeys(opts.out, passphraseFrom(opts));
      io.out(`address ${k.address}`);
      io.out(
        `encryption key ${Buffer.from(k.encryptionPublicKey.slice(2), 'hex').toString('base64')} (base64, for the Patient's encryption-key extension)`,
      );
    });

  const consent = program.command('consent').description('patient consent on chain: grant, revoke, list');
  withRelayOptions(
    consent
      .command('grant')
      .description('sign a grant with the patient key and have a member relay it')
      .requiredOption('--patient <keyfile>', "the patient's key file")
      .requiredOption('--to <member>', 'member name or address')
      .requiredOption(
        '--categories <list>',
        'comma-separated: general, labs, medications, imaging, mental-health, sexual-reproductive-health, substance-use, genetics',
      )
      .requiredOption('--purpose <list>', 'comma-separated: treatment, payment, operations, research')
      .option(
        '--expires <date>',
        'end of the grant (exclusive), e.g. 2027-01-31 (default: one year from now)',
      )
      .option('--from <date>', 'start of the grant (default: now)'),
    'member whose node relays (default: the first)',
  )
    .addHelpText(
      'after',
      `
Example (the local network of npm start; its patients' key files use the demo passphrase):
  MEDCHAIN_PASSPHRASE=${DEMO_PASSPHRASE} npx medchain consent grant --patient data/patients/patient-01.json \\
    --to "Valley Clinic" --categories labs --purpose treatment`,
    )
    .action(
      async (opts: {
        patient: string;
        to: string;
        categories: string;
        purpose: string;
        expires?: string;
        from?: string;
        via?: string;
        network: string;
        passphraseFile?: string;
      }) => {
        const { net, manifest, grantee, via } = participants(opts);
        const categories = categoriesToMask(opts.categories.split(',').map((x) => x.trim()));
        const purposes = purposesToMask(opts.purpose.split(',').map((x) => x.trim()));
        const now = BigInt(Math.floor(Date.now() / 1000));
        const validFrom = opts.from ? seconds(opts.from, '--from') : now - 60n;
        const expiry = opts.expires ? seconds(opts.expires, '--expires') : now + ONE_YEAR_SECONDS;
        if (expiry <= now) throw new InvalidInputError('--expires must be in the future');
        if (expiry <= validFrom) throw new InvalidInputError('--expires must be after --from');
        const { account, contracts } = await signer(opts, manifest, net);
        const granteeAddress = getAddress(grantee.address);
        if (!(await contracts.registry.read.isActiveMember([granteeAddress])))
          throw new InvalidInputError(
            `${grantee.name} is not an active member; it cannot be granted consent`,
          );
        const request: GrantRequest = {
          patient: account.address,
          grantee: granteeAddress,
          // The grantee's current admission, read from the Registry itself (not the network file):
          // if the member is later removed and re-admitted, this grant lapses.
          granteeAdmission: await contracts.registry.read.admissionOf([granteeAddress]),
          categories,
          purposes,
          validFrom,
          expiry,
          nonce: await contracts.consent.read.nonces([account.address]),
          deadline: now + 3600n,
        };
        const signature = await signGrant(account, manifest, request);
        const r = await relay(via.url, { kind: 'grant', request, signature });
        io.out(
          `granted ${maskToCategories(categories).join(', ')} for ${maskToPurposes(purposes).join(', ')} to ${grantee.name} until ${new Date(Number(expiry) * 1000).toISOString()}`,
        );
        io.out(`on chain in block ${r.blockNumber}, transaction ${r.txHash} (relayed by ${via.name})`);
      },
    );

  withRelayOptions(
    consent
      .command('revoke')
      .description('sign a revoke with the patient key and have a member relay it; takes effect at once')
      .requiredOption('--patient <keyfile>', "the patient's key file")
      .requiredOption('--to <member>', 'member name or address'),
    'member whose node relays (default: the first)',
  ).action(
    async (opts: { patient: string; to: string; via?: string; network: string; passphraseFile?: string }) => {
      const { net, manifest, grantee, via } = participants(opts);
      const { account, contracts } = await signer(opts, manifest, net);
      const granteeAddress = getAddress(grantee.address);
      // Nothing stored: a revoke would spend a nonce and a transaction to change nothing.
      if ((await contracts.consent.read.getGrant([account.address, granteeAddress])).categories === 0) {
        io.out(
          `nothing to revoke: ${account.address} has granted ${grantee.name} nothing; no transaction was sent`,
        );
        return;
      }
      const request: RevokeRequest = {
        patient: account.address,
        grantee: granteeAddress,
        nonce: await contracts.consent.read.nonces([account.address]),
        deadline: BigInt(Math.floor(Date.now() / 1000)) + 3600n,
      };
      const signature = await signRevoke(account, manifest, request);
      const r = await relay(via.url, { kind: 'revoke', request, signature });
      io.out(`revoked ${grantee.name}'s access; on chain in block ${r.blockNumber}, transaction ${r.txHash}`);
    },
  );

  consent
    .command('list')
    .description('the consent in force for a patient (address or key file)')
    .requiredOption('--patient <address|keyfile>', 'patient chain address or key file')
    .option('--network <file>', 'network file of `medchain up`', DEFAULT_NETWORK)
    .action(async (opts: { patient: string; network: string }) => {
      const { net, manifest } = readNetwork(opts.network);
      const address: Address = isAddress(opts.patient)
        ? getAddress(opts.patient)
        : patientAddressOf(opts.patient);
      const { conn, contracts } = await chainOf(manifest, net);
      const now = (await conn.publicClient.getBlock()).timestamp;
      let shown = 0;
      for (const a of await contracts.registry.read.memberAccounts()) {
        const g = await contracts.consent.read.getGrant([address, a]);
        if (g.categories === 0) continue;
        const m = await contracts.registry.read.getMember([a]);
        const state = grantState(g, m, now);
        io.out(
          `${m.name}: ${maskToCategories(g.categories).join(', ')} for ${maskToPurposes(g.purposes).join(', ')}, ${new Date(Number(g.validFrom) * 1000).toISOString()} to ${new Date(Number(g.expiry) * 1000).toISOString()} (${state})`,
        );
        shown++;
      }
      if (shown === 0) io.out(`no consent recorded for ${address}`);
    });
}
