/**
 * UCUM unit codes (what FHIR Quantity.code and, too often, Quantity.unit carry) in the words a
 * reader expects: `mm[Hg]` reads "mmHg", `Cel` "°C", `10*3/uL` "×10³/µL". A small display map for
 * the units clinical records use most; anything else is shown as given. Pure (tested in node).
 */

const DISPLAY: Readonly<Record<string, string>> = {
  'mm[Hg]': 'mmHg',
  Cel: '°C',
  '[degF]': '°F',
  '/min': '/min',
  '{beats}/min': 'beats/min',
  '{breaths}/min': 'breaths/min',
  'kg/m2': 'kg/m²',
  '[lb_av]': 'lb',
  '[in_i]': 'in',
  '[ft_i]': 'ft',
  '[oz_av]': 'oz',
  uL: 'µL',
  ug: 'µg',
  umol: 'µmol',
  'umol/L': 'µmol/L',
  'ug/L': 'µg/L',
  'ug/dL': 'µg/dL',
  '10*3/uL': '×10³/µL',
  '10*6/uL': '×10⁶/µL',
  '10*9/L': '×10⁹/L',
  '10*12/L': '×10¹²/L',
  '[iU]/L': 'IU/L',
  '[IU]/L': 'IU/L',
  'm[IU]/L': 'mIU/L',
  'u[IU]/mL': 'µIU/mL',
  'mL/min/{1.73_m2}': 'mL/min/1.73 m²',
  '{ratio}': 'ratio',
  '1': '',
};

/** The unit as a reader writes it (unknown units unchanged). */
export const displayUnit = (ucum: string | undefined): string => (ucum ? (DISPLAY[ucum] ?? ucum) : '');
