/** Which members hold the replicas of a custodian's records: the next two active members by address. */
import type { Address } from 'viem';

export function replicasOf<M extends { address: Address }>(custodian: Address, members: readonly M[]): M[] {
  const ring = [...members].sort((a, b) => a.address.toLowerCase().localeCompare(b.address.toLowerCase()));
  const i = ring.findIndex((m) => m.address.toLowerCase() === custodian.toLowerCase());
  const others = i < 0 ? ring : [...ring.slice(i + 1), ...ring.slice(0, i)];
  return others.filter((m) => m.address.toLowerCase() !== custodian.toLowerCase()).slice(0, 2);
}
