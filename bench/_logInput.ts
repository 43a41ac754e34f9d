/** The log entry the log benchmarks append: a clinician's read of one Observation, permitted. */
import type { LogInput } from '../src/log/transparencyLog.js';

/** The member (and patient address) the benchmark entries name. */
export const BENCH_MEMBER = '0x4D1Ad100619f59d961c0CFD53D3cAcF34B1892cD';

/** Entry `i`: a read of Observation obs-i. */
export const benchLogInput = (i: number): LogInput => ({
  actor: '3f1c2e9a-0d55-4a8e-9d4e-0c2b7e0a9b11',
  patient: BENCH_MEMBER,
  action: 'read',
  target: { resourceType: 'Observation', id: `obs-${i}`, version: 1, ciphertextHash: `0x${'ab'.repeat(32)}` },
  purpose: 'treatment',
  outcome: 'permit',
  reason: 'ok',
  queryHash: null,
});
