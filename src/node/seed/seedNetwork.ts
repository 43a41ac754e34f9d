/**
 * First-run seeding of the local demo network: synthetic patients, each with their own key file
 * (as a patient would hold it), and their records stored at City Hospital, Valley Clinic and
 * Central Lab through each member's gatekeeper (so every seeded record is logged), and each
 * patient's Coverage with the insurer (seedCoverage.ts) at every provider and, with the Patient,
 * at the insurer itself (when one is given). Progress is
 * recorded after each patient, so an interrupted seeding resumes where it stopped and a finished
 * one is never repeated.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Patient, Resource } from '@medplum/fhirtypes';
import type { Actor } from '../../access/gatekeeper.js';
import {
  PATIENT_ADDRESS_SYSTEM,
  PATIENT_KEY_EXTENSION,
  type ResourceType,
} from '../../fhir/resourceTypes.js';
import { writeFileAtomic } from '../../util/atomicFile.js';
import { securePrivateDir } from '../../util/privateFiles.js';
import { openMemberNode } from '../memberNode.js';
import { createPatientKeys, loadPatientKeys, type PatientKeys } from '../patientKeys.js';
import { type SeedPayer, seedCoverage } from './seedCoverage.js';
import { type SeedMember, syntheticPatients } from './syntheticPatients.js';

export interface SeededPatient {
  name: string;
  /** Who the patient is, for finding them by name and birth date (absent in seeds from before). */
  family?: string;
  given?: string;
  birthDate?: string;
  address: string;
  keyFile: string;
}

const SEED_ACTOR: Actor = { id: 'operator:seed', role: 'operator', purpose: 'operations' };
export const SEED_PATIENTS = 20;

export async function seedNetwork(
  root: string,
  memberDirs: Record<SeedMember, string>,
  passphrase: string,
  progress: (step: string) => void,
  /** The insurer covering every seeded patient, and its node's directory. */
  insurer?: SeedPayer & { dir: string },
): Promise<SeededPatient[]> {
  // The patients' key files: owner-only folder (0700), files 0600, tightened when found wider.
  securePrivateDir(path.join(root, 'patients'), { create: true });
  const marker = path.join(root, 'patients', 'seeded.json');
  const done: SeededPatient[] = existsSync(marker) ? JSON.parse(readFileSync(marker, 'utf8')).patients : [];
  if (done.length >= SEED_PATIENTS) return done;
  const people = syntheticPatients(SEED_PATIENTS);
  const nodes = Object.fromEntries(
    (Object.keys(memberDirs) as SeedMember[]).map((m) => [m, openMemberNode(memberDirs[m], passphrase)]),
  ) as Record<SeedMember, ReturnType<typeof openMemberNode>>;
  const insurerNode = insurer ? openMemberNode(insurer.dir, passphrase) : undefined;
  try {
    for (let i = done.length; i < people.length; i++) {
      const p = people[i] as (typeof people)[number];
      const keyFile = path.join(root, 'patients', `patient-${String(i + 1).padStart(2, '0')}.json`);
      const keys: PatientKeys = existsSync(keyFile)
        ? loadPatientKeys(keyFile, passphrase)
        : createPatientKeys(keyFile, passphrase);
      const memberNumber = `ACME-${String(i + 1).padStart(6, '0')}`;
      const patient: Patient = {
        resourceType: 'Patient',
        name: [{ given: [p.given], family: p.family }],
        gender: p.gender,
        birthDate: p.birthDate,
        address: [
          { use: 'home', line: [p.address.line], city: p.address.city, postalCode: p.address.postalCode },
        ],
        identifier: [{ system: PATIENT_ADDRESS_SYSTEM, value: keys.address }],
        extension: [
          {
            url: PATIENT_KEY_EXTENSION,
            valueBase64Binary: Buffer.from(keys.encryptionPublicKey.slice(2), 'hex').toString('base64'),
          },
        ],
      };
      for (const m of Object.keys(memberDirs) as SeedMember[]) {
        const gate = nodes[m].gate;
        const stored = await gate.create(SEED_ACTOR, 'Patient', structuredClone(patient));
        for (const r of p.records[m]) {
          const body = JSON.parse(JSON.stringify(r).replaceAll('{{patient}}', stored.id)) as Resource;
          await gate.create(SEED_ACTOR, body.resourceType as ResourceType, body);
        }
        if (insurer)
          await gate.create(SEED_ACTOR, 'Coverage', seedCoverage(stored.id, memberNumber, insurer));
      }
      if (insurer && insurerNode) {
        // The insurer's enrollment: the Patient (so their EOBs are sealed to them) and the Coverage.
        const enrolled = await insurerNode.gate.create(SEED_ACTOR, 'Patient', structuredClone(patient));
        await insurerNode.gate.create(
          SEED_ACTOR,
          'Coverage',
          seedCoverage(enrolled.id, memberNumber, insurer),
        );
      }
      done.push({
        name: `${p.given} ${p.family}`,
        family: p.family,
        given: p.given,
        birthDate: p.birthDate,
        address: keys.address,
        keyFile,
      });
      writeFileAtomic(marker, `${JSON.stringify({ patients: done }, null, 2)}\n`, 0o600);
      progress(`seed: patient ${i + 1}/${people.length} (${p.given} ${p.family})`);
    }
  } finally {
    for (const n of Object.values(nodes)) n.close();
    insurerNode?.close();
  }
  return done;
}
