/**
 * The longest tag text a listing record carries, in UTF-16 code units. Far beyond any real
 * tag (a title of 9,000 characters goes whole), and short enough that a record, however its
 * characters are escaped, stays well under the line a client accepts (MAX_V2_LINE, 1 MiB): a
 * file whose title took megabytes made a LIST2 line no client would take, and the listing failed.
 */
export const MAX_TAG_TEXT = 16 * 1024;

/** `text` cut to MAX_TAG_TEXT (ending in `…`), never in the middle of a surrogate pair. */
export function limitTagText(text: string): string {
  if (text.length <= MAX_TAG_TEXT) return text;
  const units = MAX_TAG_TEXT - 1;
  const code = text.charCodeAt(units - 1);
  return `${text.slice(0, code >= 0xd800 && code <= 0xdbff ? units - 1 : units)}…`;
}
