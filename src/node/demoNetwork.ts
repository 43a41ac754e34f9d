/**
 * The local demonstration consortium started by `medchain up`: who the members are and which of
 * them found the consortium (the others are voted in through the Registry).
 */
import type { MemberRole } from '../chain/scopes.js';

export interface MemberSpec {
  slug: string;
  name: string;
  roles: MemberRole[];
  genesis: boolean;
  /** The member's GLN in the demo supply chain (GS1 prefix 952: for demonstrations only). */
  gln?: string;
}

export const DEMO_MEMBERS: readonly MemberSpec[] = [
  { slug: 'city-hospital', name: 'City Hospital', roles: ['HOSPITAL'], genesis: true },
  { slug: 'valley-clinic', name: 'Valley Clinic', roles: ['CLINIC'], genesis: true },
  { slug: 'central-lab', name: 'Central Lab', roles: ['LAB'], genesis: true },
  { slug: 'acme-insurance', name: 'Acme Health Insurance', roles: ['INSURER'], genesis: false },
  {
    slug: 'main-street-pharmacy',
    name: 'Main Street Pharmacy',
    roles: ['PHARMACY'],
    genesis: false,
    gln: '9529012000019',
  },
  {
    slug: 'northwind-pharma',
    name: 'Northwind Pharmaceuticals',
    roles: ['MANUFACTURER'],
    genesis: false,
    gln: '9521234000006',
  },
  {
    slug: 'harbor-distribution',
    name: 'Harbor Wholesale Distribution',
    roles: ['DISTRIBUTOR'],
    genesis: false,
    gln: '9525678000004',
  },
];
