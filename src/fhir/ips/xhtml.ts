/** XHTML for generated FHIR narrative (browser-safe: the portal's IPS merge uses it too). */

/** Text escaped for XHTML element content and attribute values. */
export function escapeXhtml(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
  );
}

/** A narrative `div` (FHIR R4 Narrative.div: XHTML namespace) around already-escaped content. */
export const xhtmlDiv = (inner: string): string => `<div xmlns="http://www.w3.org/1999/xhtml">${inner}</div>`;
