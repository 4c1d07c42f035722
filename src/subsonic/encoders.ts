import { SERVER_TYPE, type Primitive, SUBSONIC_API_VERSION, type ResponseNode, type SubsonicBody, type SubsonicError } from './responses.js';

/** The two formats of the API: XML unless the client asks `f=json`. */
export type ResponseFormat = 'xml' | 'json';

/** Characters XML 1.0 cannot carry at all (control characters, lone surrogates): dropped from tag text. */
const NOT_XML_CHAR = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

function escapeXml(text: string): string {
  return text.replace(NOT_XML_CHAR, '').replace(/[&<>"\n\r\t]/g, (c) => XML_ESCAPES[c]!);
}
const XML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', '\n': '&#10;', '\r': '&#13;', '\t': '&#9;' };

function envelope(status: 'ok' | 'failed', serverVersion: string): ResponseNode {
  return { status, version: SUBSONIC_API_VERSION, type: SERVER_TYPE, serverVersion, openSubsonic: true };
}

function xmlElement(name: string, node: ResponseNode, out: string[], xmlns = ''): void {
  out.push('<', name, xmlns);
  const children: [string, ResponseNode | ResponseNode[] | Primitive[]][] = [];
  let text: string | undefined;
  for (const [key, value] of Object.entries(node)) {
    if (value === undefined) continue;
    if (key === 'value' && typeof value !== 'object') text = String(value);
    else if (typeof value === 'object') children.push([key, value]);
    else out.push(' ', key, '="', escapeXml(String(value)), '"');
  }
  if (children.length === 0 && text === undefined) {
    out.push('/>');
    return;
  }
  out.push('>');
  if (text !== undefined) out.push(escapeXml(text));
  for (const [key, child] of children) {
    if (Array.isArray(child)) {
      for (const item of child) {
        if (typeof item === 'object') xmlElement(key, item, out);
        else out.push('<', key, '>', escapeXml(String(item)), '</', key, '>');
      }
    }
    else xmlElement(key, child, out);
  }
  out.push('</', name, '>');
}

/** JSON drops `undefined` by itself; control characters are escaped by JSON.stringify. */
function jsonText(root: ResponseNode): string {
  return JSON.stringify({ 'subsonic-response': root });
}

/** Renders a successful response in the asked format. */
export function encodeResponse(format: ResponseFormat, serverVersion: string, answer: SubsonicBody): string {
  const root = envelope('ok', serverVersion);
  if (answer.name && answer.body) root[answer.name] = answer.body;
  return render(format, root);
}

/** Renders an error inside the envelope (`status: failed`). */
export function encodeError(format: ResponseFormat, serverVersion: string, error: Pick<SubsonicError, 'code' | 'message'>): string {
  const root = envelope('failed', serverVersion);
  root.error = { code: error.code, message: error.message };
  return render(format, root);
}

function render(format: ResponseFormat, root: ResponseNode): string {
  if (format === 'json') return jsonText(root);
  const out = ['<?xml version="1.0" encoding="UTF-8"?>'];
  xmlElement('subsonic-response', root, out, ' xmlns="http://subsonic.org/restapi"');
  return out.join('');
}
