/**
 * Required terminology bindings (FHIR R4 terminologies §4.1.1 "required": the value SHALL be from
 * the value set), checked against the StructureDefinitions @medplum/core has indexed and value
 * sets expanded from the definitions in the tree (src/fhir/valueSets.ts). @medplum/core's
 * validateResource checks structure and cardinality but not bindings, so this is the one place
 * codes are checked. A `code` must be in the expansion; a `Coding` must carry a system and code
 * from it; a `CodeableConcept` needs at least one such coding. Bindings to value sets that cannot
 * be expanded here (external terminologies) are skipped; `bindingCoverage` lists them.
 */
import { type InternalSchemaElement, type InternalTypeSchema, tryGetDataType } from '@medplum/core';
import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import type { Expansion, ValueSetIndex } from './valueSets.js';

interface Slot {
  /** The element's type for this JSON key (a choice element has one key per type). */
  type: string;
  /** The value set of a required binding, when there is one. */
  valueSet?: string;
}

const slotsCache = new WeakMap<InternalTypeSchema, Map<string, Slot>>();

const capitalize = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
/** Complex FHIR types start with a capital; primitives and System.* types have no children. */
const isComplex = (type: string) => /^[A-Z][A-Za-z]*$/.test(type);

function requiredValueSet(el: InternalSchemaElement): string | undefined {
  return el.binding?.strength === 'required' ? el.binding.valueSet : undefined;
}

/** JSON key -> (type, required value set) for one type's elements, cached per schema. */
function slotsOf(schema: InternalTypeSchema): Map<string, Slot> {
  let slots = slotsCache.get(schema);
  if (slots) return slots;
  slots = new Map();
  for (const [name, el] of Object.entries(schema.elements)) {
    const valueSet = requiredValueSet(el);
    const types = el.type.map((t) => t.code);
    if (name.endsWith('[x]')) {
      const base = name.slice(0, -3);
      for (const t of types)
        slots.set(`${base}${capitalize(t)}`, { type: t, ...(valueSet ? { valueSet } : {}) });
    } else if (!name.includes('.')) {
      slots.set(name, { type: types[0] ?? 'Element', ...(valueSet ? { valueSet } : {}) });
    }
  }
  slotsCache.set(schema, slots);
  return slots;
}

function schemaFor(type: string, value: unknown): InternalTypeSchema | undefined {
  if (type === 'Resource') {
    const rt = (value as { resourceType?: unknown })?.resourceType;
    return typeof rt === 'string' ? tryGetDataType(rt) : undefined;
  }
  return isComplex(type) ? tryGetDataType(type) : undefined;
}

interface Codingish {
  system?: unknown;
  code?: unknown;
}

const inSet = (exp: Expansion, c: Codingish) =>
  typeof c?.system === 'string' &&
  typeof c.code === 'string' &&
  exp.codes.get(c.system)?.has(c.code) === true;

const SHOWN = 12;

/** "male, female, other, unknown" or "system: a, b; other: c ... and N more (see <url>)". */
export function allowedHint(exp: Expansion, withSystem: boolean): string {
  const parts: string[] = [];
  let shown = 0;
  let total = 0;
  for (const [system, codes] of exp.codes) {
    total += codes.size;
    const take = [...codes].slice(0, Math.max(0, SHOWN - shown));
    shown += take.length;
    if (take.length > 0) parts.push(withSystem ? `${system}: ${take.join(', ')}` : take.join(', '));
  }
  const list = parts.join(withSystem ? '; ' : ', ');
  return total > shown ? `${list} ... and ${total - shown} more (see ${exp.url})` : list;
}

/** What is wrong with `value` under a required binding to `exp` ("\"robot\" is not"), or undefined. */
function violation(value: unknown, type: string, exp: Expansion): string | undefined {
  const coding = (c: Codingish) =>
    `${String(c?.system ?? '(no system)')}|${String(c?.code ?? '')}`.slice(0, 120);
  if (type === 'CodeableConcept') {
    const codings = (value as { coding?: unknown })?.coding;
    if (Array.isArray(codings) && codings.some((c) => inSet(exp, c as Codingish))) return undefined;
    const given = Array.isArray(codings) ? codings.map((c) => coding(c as Codingish)) : [];
    return given.length > 0 ? `no coding (${given.join(', ').slice(0, 240)}) is` : 'no coding is';
  }
  if (type === 'Coding')
    return inSet(exp, value as Codingish) ? undefined : `${coding(value as Codingish)} is not`;
  if (typeof value === 'string')
    return exp.anySystem.has(value) ? undefined : `${JSON.stringify(value.slice(0, 100))} is not`;
  return undefined;
}

function bindingIssue(
  value: unknown,
  type: string,
  exp: Expansion,
  path: string,
): OperationOutcomeIssue | undefined {
  const bad = violation(value, type, exp);
  if (bad === undefined) return undefined;
  const withSystem = type === 'CodeableConcept' || type === 'Coding';
  return {
    severity: 'error',
    code: 'code-invalid',
    details: {
      text: `${path}: ${bad} in the required value set ${exp.url}; allowed: ${allowedHint(exp, withSystem)}`,
    },
    expression: [path],
  };
}

function walk(
  value: Record<string, unknown>,
  schema: InternalTypeSchema,
  path: string,
  terms: ValueSetIndex,
  out: OperationOutcomeIssue[],
): void {
  const slots = slotsOf(schema);
  for (const [key, v] of Object.entries(value)) {
    if (key === 'resourceType' || v === null || v === undefined) continue;
    // `_gender` holds the extensions of the primitive `gender`: an Element.
    const slot = key.startsWith('_') ? { type: 'Element' } : slots.get(key);
    if (!slot) continue; // unknown keys are refused by validateResource already
    const items = Array.isArray(v) ? v : [v];
    const exp = slot.valueSet && !key.startsWith('_') ? terms.expand(slot.valueSet) : undefined;
    items.forEach((item, i) => {
      const at = Array.isArray(v) ? `${path}.${key}[${i}]` : `${path}.${key}`;
      if (exp) {
        const issue = bindingIssue(item, slot.type, exp, at);
        if (issue) out.push(issue);
      }
      if (typeof item !== 'object' || item === null) return;
      const child = schemaFor(slot.type, item);
      if (child) walk(item as Record<string, unknown>, child, at, terms, out);
    });
  }
}

/**
 * Issues for every value outside a required binding in `resource` (its contained resources,
 * backbone elements, data types and extensions included), with FHIRPath locations.
 */
export function requiredBindingIssues(
  resource: { resourceType: string },
  terms: ValueSetIndex,
): OperationOutcomeIssue[] {
  const schema = tryGetDataType(resource.resourceType);
  if (!schema) return [];
  const out: OperationOutcomeIssue[] = [];
  walk(resource as unknown as Record<string, unknown>, schema, resource.resourceType, terms, out);
  return out;
}

/** One required binding reachable from a resource type, and whether it is checked here. */
export interface BindingCoverage {
  valueSet: string;
  /** Where it applies, as Type.element (data types and backbone elements by their type name). */
  elements: string[];
  checked: boolean;
}

/**
 * Every required binding reachable from `resourceTypes` (through backbone elements and data
 * types), with whether its value set expands here: what is checked and what is skipped.
 */
export function bindingCoverage(resourceTypes: readonly string[], terms: ValueSetIndex): BindingCoverage[] {
  const found = new Map<string, Set<string>>();
  const seen = new Set<InternalTypeSchema>();
  const queue = resourceTypes.map((t) => tryGetDataType(t)).filter((s) => s !== undefined);
  while (queue.length > 0) {
    const s = queue.pop() as InternalTypeSchema;
    if (seen.has(s)) continue;
    seen.add(s);
    for (const [name, el] of Object.entries(s.elements)) {
      const vs = requiredValueSet(el);
      if (vs) {
        const where = found.get(vs) ?? new Set<string>();
        where.add(`${s.name}.${name}`);
        found.set(vs, where);
      }
      for (const t of el.type) {
        const child = t.code !== 'Resource' && isComplex(t.code) ? tryGetDataType(t.code) : undefined;
        if (child && !seen.has(child)) queue.push(child);
      }
    }
  }
  return [...found]
    .map(([valueSet, elements]) => ({
      valueSet: valueSet.split('|')[0] as string,
      elements: [...elements].sort(),
      checked: terms.expand(valueSet) !== undefined,
    }))
    .sort((a, b) => a.valueSet.localeCompare(b.valueSet));
}
