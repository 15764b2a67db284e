import { randomUUID } from 'node:crypto';

/**
 * The AWS query protocol as CloudFormation speaks it: a form-encoded POST naming the Action, answered with an XML
 * document `<ActionResponse><ActionResult>…</ActionResult><ResponseMetadata/></ActionResponse>`, lists as `<member>`
 * elements, and errors as `<ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse>`.
 */
export const CLOUDFORMATION_XMLNS = 'http://cloudformation.amazonaws.com/doc/2010-05-15/';

/** An XML element's content: text, child elements (a list becomes `<member>`s), or nothing (left out). */
export type XmlValue = string | number | Date | undefined | XmlValue[] | { [name: string]: XmlValue };

export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

export function xml(value: XmlValue): string {
  if (value === undefined) return '';
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') return escapeXml(value);
  if (Array.isArray(value)) return value.map((v) => `<member>${xml(v)}</member>`).join('');
  return Object.entries(value).filter(([, v]) => v !== undefined).map(([k, v]) => `<${k}>${xml(v)}</${k}>`).join('');
}

export function resultDocument(action: string, result: Record<string, XmlValue>): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="${CLOUDFORMATION_XMLNS}">`
    + `<${action}Result>${xml(result)}</${action}Result>`
    + `<ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></${action}Response>`;
}

export function errorDocument(code: string, message: string, type: 'Sender' | 'Receiver' = 'Sender'): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse xmlns="${CLOUDFORMATION_XMLNS}">`
    + `<Error><Type>${type}</Type><Code>${escapeXml(code)}</Code><Message>${escapeXml(message)}</Message></Error>`
    + `<RequestId>${randomUUID()}</RequestId></ErrorResponse>`;
}

/** The request's parameters; nested names (`Foo.member.1`) stay flat, as none of the stand-in's actions take lists. */
export function formParameters(body: string): Record<string, string> {
  return Object.fromEntries(new URLSearchParams(body).entries());
}

/** A query error CloudFormation answers with: ValidationError is HTTP 400. */
export class QueryError extends Error {
  constructor(public readonly code: string, message: string, public readonly status = 400) {
    super(message);
  }
}
