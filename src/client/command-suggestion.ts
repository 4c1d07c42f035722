/**
 * "did you mean `list`?" for a mistyped command: the closest command by edit distance
 * (insertions, deletions, substitutions and swapped neighbours), if it is close enough to
 * be a typo rather than a different word.
 */

/** Longer input is not a typo of a command name; it also bounds the work. */
const MAX_TYPED = 64;

/**
 * Optimal string alignment distance (Damerau–Levenshtein without repeated edits of one
 * substring): `lsit` → `list` is 1, not 2. Compared by code point.
 */
export function editDistance(a: string, b: string): number {
  const s = [...a];
  const t = [...b];
  const rows = s.length + 1;
  const cols = t.length + 1;
  const d: number[] = new Array<number>(rows * cols);
  for (let i = 0; i < rows; i++) d[i * cols] = i;
  for (let j = 0; j < cols; j++) d[j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = s[i - 1] === t[j - 1] ? 0 : 1;
      let best = Math.min(d[(i - 1) * cols + j]! + 1, d[i * cols + j - 1]! + 1, d[(i - 1) * cols + j - 1]! + cost);
      if (i > 1 && j > 1 && s[i - 1] === t[j - 2] && s[i - 2] === t[j - 1]) best = Math.min(best, d[(i - 2) * cols + j - 2]! + 1);
      d[i * cols + j] = best;
    }
  }
  return d[rows * cols - 1]!;
}

/** Edits a word of this length may be away from a command and still count as a typo of it. */
function allowedEdits(length: number): number {
  if (length <= 2) return 1;
  if (length <= 5) return 2;
  return 3;
}

/**
 * The command `typed` most likely meant, or undefined. Case is ignored; on a tie the
 * earlier command in `commands` wins (put the common ones first).
 */
export function suggestCommand(typed: string, commands: readonly string[]): string | undefined {
  const word = typed.trim().toLowerCase();
  if (word === '' || word.length > MAX_TYPED) return undefined;
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const command of commands) {
    const c = command.toLowerCase();
    if (c === word) return command;
    // A prefix of a command ("pau"), or a command spelt out ("volume" for vol), is the clearest typo of all.
    const distance = (c.startsWith(word) && word.length >= 2) || (word.startsWith(c) && c.length >= 3) ? 1 : editDistance(word, c);
    if (distance < bestDistance) {
      best = command;
      bestDistance = distance;
    }
  }
  if (best === undefined) return undefined;
  return bestDistance <= Math.min(allowedEdits(word.length), allowedEdits(best.length)) ? best : undefined;
}
