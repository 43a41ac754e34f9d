/**
 * First-run seeding of the local demo network: synthetic patients, each with their own key file
 * (as a patient would hold it), and their records stored at City Hospital, Valley Clinic and
 * Central Lab through each member's gatekeeper (so every seeded record is logged). Progress is
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
  try {
    for (let i = done.length; i < people.length; i++) {
      const p = people[i] as (typeof people)[number];
      const keyFile = path.join(root, 'patients', `patient-${String(i + 1).padStart(2, '0')}.json`);
      const keys: PatientKeys = existsSync(keyFile)
        ? loadPatientKeys(keyFile, passphrase)
        : createPatientKeys(keyFile, passphrase);
      for (const m of Object.keys(memberDirs) as SeedMember[]) {
        const gate = nodes[m].gate;
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
        const stored = await gate.create(SEED_ACTOR, 'Patient', patient);
        for (const r of p.records[m]) {
          const body = JSON.parse(JSON.stringify(r).replaceAll('{{patient}}', stored.id)) as Resource;
          await gate.create(SEED_ACTOR, body.resourceType as ResourceType, body);
        }
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
  }
  return done;
}
