import assert from 'node:assert/strict';
import { test } from 'node:test';
import { displayUnit } from './units.js';

test('UCUM codes read as people write them; other units unchanged', () => {
  const cases: [string | undefined, string][] = [
    ['mm[Hg]', 'mmHg'],
    ['Cel', '°C'],
    ['10*3/uL', '×10³/µL'],
    ['kg/m2', 'kg/m²'],
    ['/min', '/min'],
    ['mg/dL', 'mg/dL'],
    ['%', '%'],
    ['kg', 'kg'],
    [undefined, ''],
    ['1', ''],
  ];
  for (const [ucum, shown] of cases) assert.equal(displayUnit(ucum), shown, String(ucum));
});
