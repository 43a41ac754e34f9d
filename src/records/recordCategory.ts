/**
 * The consent category of a FHIR resource. Sensitive categories come from HL7 security labels in
 * `meta.security` (v3 ActCode: PSY/PSYTHPN mental health; SEX, HIV, STD sexual and reproductive
 * health; ETH, SUD, ETHUD substance use; GDIS genetics) and always win; otherwise the resource type
 * and its category codes decide (labs, imaging, medications), and everything else is general.
 */
import type { Resource } from '@medplum/fhirtypes';
import type { Category } from '../chain/scopes.js';

const SENSITIVE: Record<string, Category> = {
  PSY: 'mental-health',
  PSYTHPN: 'mental-health',
  SEX: 'sexual-reproductive-health',
  HIV: 'sexual-reproductive-health',
  STD: 'sexual-reproductive-health',
  ETH: 'substance-use',
  SUD: 'substance-use',
  ETHUD: 'substance-use',
  GDIS: 'genetics',
};

interface Coded {
  coding?: { system?: string; code?: string }[];
}

const codes = (cs: Coded[] | undefined) =>
  (cs ?? []).flatMap((c) => (c.coding ?? []).map((x) => (x.code ?? '').toLowerCase()));

export function recordCategory(r: Resource): Category {
  for (const s of r.meta?.security ?? []) {
    const c = s.code ? SENSITIVE[s.code.toUpperCase()] : undefined;
    if (c) return c;
  }
  switch (r.resourceType) {
    case 'MedicationRequest':
      return 'medications';
    case 'Observation': {
      const cat = codes((r as { category?: Coded[] }).category);
      if (cat.includes('laboratory')) return 'labs';
      if (cat.includes('imaging')) return 'imaging';
      return 'general';
    }
    case 'DiagnosticReport': {
      const cat = codes((r as { category?: Coded[] }).category);
      if (cat.some((c) => ['lab', 'laboratory', 'hm', 'ch', 'mb'].includes(c))) return 'labs';
      if (cat.some((c) => ['rad', 'imaging', 'ct', 'mri', 'us', 'xr'].includes(c))) return 'imaging';
      return 'general';
    }
    default:
      return 'general';
  }
}
