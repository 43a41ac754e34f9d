/**
 * `medchain import`: load FHIR resources from a Bundle file, a single-resource file, or a folder
 * of them. A transaction Bundle is all or nothing; batch and collection Bundles and single
 * resources are imported entry by entry, and every rejection is reported with its reason.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Bundle, BundleEntry } from '@medplum/fhirtypes';
import { BusinessRuleError, InvalidInputError, InvalidResourceError, MedchainError } from '../errors.js';
import { httpFailure } from '../fhir/outcomes.js';
import type { ResourceType } from '../fhir/resourceTypes.js';

export interface ImportReport {
  imported: number;
  rejected: { source: string; reason: string }[];
}

export type ImportProgress = (done: number, total: number) => void;

const MAX_FILE_BYTES = 256 * 1024 * 1024;

function filesOf(p: string): string[] {
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(p);
  } catch {
    throw new InvalidInputError(`${p} does not exist`);
  }
  if (st.isDirectory()) {
    return readdirSync(p)
      .filter((f) => f.endsWith('.json'))
      .sort()
      .map((f) => path.join(p, f));
  }
  return [p];
}

function readJson(file: string): unknown {
  if (statSync(file).size > MAX_FILE_BYTES) throw new InvalidInputError(`${file} is larger than 256 MiB`);
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    throw new InvalidInputError(`${file} is not valid JSON`);
  }
}

const reasonOf = (err: unknown) => {
  if (err instanceof InvalidInputError || err instanceof InvalidResourceError) {
    const detail = err.issues
      .map(
        (i) =>
          `${i.details?.text ?? i.diagnostics ?? ''}${i.expression ? ` at ${i.expression.join(', ')}` : ''}`,
      )
      .filter((s) => s.length > 0)
      .join('; ');
    return detail ? `${err.message}: ${detail}` : err.message;
  }
  if (err instanceof MedchainError && httpFailure(err).status < 500) return err.message;
  throw err;
};

/** Count the resources a file holds (for the progress total). */
function countResources(doc: unknown): number {
  const b = doc as Bundle;
  return b?.resourceType === 'Bundle' ? (b.entry?.length ?? 0) : 1;
}

/**
 * Where imported resources go: the node passes its gatekeeper acting for the import operator, so
 * every imported record is decided and logged like any other write.
 */
export interface ImportSink {
  bundle(body: unknown): Promise<Bundle>;
  create(type: ResourceType, body: unknown): Promise<unknown>;
  update(type: ResourceType, id: string, body: unknown): Promise<unknown>;
}

/** Import every resource under `p` into `sink`, reporting each rejection with its reason. */
export async function importPath(
  sink: ImportSink,
  p: string,
  progress: ImportProgress = () => {},
): Promise<ImportReport> {
  const docs = filesOf(p).map((file) => ({ file, doc: readJson(file) }));
  const total = docs.reduce((n, d) => n + countResources(d.doc), 0);
  const report: ImportReport = { imported: 0, rejected: [] };
  let done = 0;
  for (const { file, doc } of docs) {
    const name = path.basename(file);
    const b = doc as Bundle;
    if (b?.resourceType === 'Bundle' && b.type === 'transaction') {
      try {
        const res = await sink.bundle(b);
        report.imported += res.entry?.length ?? 0;
      } catch (err) {
        report.rejected.push({ source: `${name} (transaction, nothing imported)`, reason: reasonOf(err) });
      }
      done += b.entry?.length ?? 0;
      progress(done, total);
      continue;
    }
    const entries: { source: string; entry: BundleEntry }[] =
      b?.resourceType === 'Bundle'
        ? (b.entry ?? []).map((e, i) => ({ source: `${name} entry[${i}]`, entry: e }))
        : [{ source: name, entry: { resource: doc as BundleEntry['resource'] } }];
    for (const { source, entry } of entries) {
      try {
        const resource = entry.resource as { resourceType?: string; id?: string } | undefined;
        if (b?.resourceType === 'Bundle' && b.type === 'batch') {
          const res = await sink.bundle({
            resourceType: 'Bundle',
            type: 'batch',
            entry: [entry],
          });
          const r = res.entry?.[0]?.response;
          if (r?.outcome) throw new BusinessRuleError(r.outcome.issue?.[0]?.details?.text ?? 'rejected');
        } else if (resource?.id && typeof resource.resourceType === 'string') {
          await sink.update(resource.resourceType as ResourceType, resource.id, resource);
        } else {
          await sink.create((resource?.resourceType ?? '') as ResourceType, resource);
        }
        report.imported++;
      } catch (err) {
        report.rejected.push({ source, reason: reasonOf(err) });
      }
      progress(++done, total);
    }
  }
  return report;
}
