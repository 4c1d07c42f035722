import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test } from 'node:test';
import { REPO_ROOT } from './support/paths.js';
import { COLS, python, runInPty, screenAt } from './support/pty.js';

/**
 * The status line on a REAL pseudo-terminal (python3's pty module): a readline prompt
 * (test/fixtures/pty/status-line-driver.mjs) whose status line is redrawn every 20 ms while
 * characters are typed one by one, output arrives mid-typing, and the input wraps. The
 * bytes the terminal received are replayed into a screen model and the screen is read.
 */
const STATUS = /^status tick \d+ — Café Noir — Émilie Ölund$/;

describe('StatusLineWriter on a REAL pseudo-terminal', { skip: python ? false : 'python3 with pty is needed' }, () => {
  test('status redraws never garble the prompt or the typed input; output lands above the status', { timeout: 60_000 }, async () => {
    const longInput = 'x'.repeat(100);
    const run = await runInPty(
      [
        { wait: 'as> ' },
        { type: 'hello', gap_ms: 45 },
        { wait: 'async: track ended' },
        { type: ' world', gap_ms: 45 },
        // Two more redraws: the driver has read every key by then, and drawn over it twice.
        { wait_new: 'status tick', count: 2 },
        { mark: 'typed' },
        { type: '\r' },
        { wait: 'you typed: hello world' },
        { type: longInput, gap_ms: 4 },
        { wait_new: 'status tick', count: 2 },
        { mark: 'wrapped' },
        { type: '\r' },
        { wait: `you typed: ${longInput}` },
        { wait_new: 'status tick', count: 2 },
        { mark: 'after' },
        { type: 'quit\r' },
        { wait_exit: true },
        { mark: 'end' },
      ],
      [process.execPath, path.join(REPO_ROOT, 'test/fixtures/pty/status-line-driver.mjs')],
    );
    assert.equal(run.error, null, run.error ?? '');

    // While typing: the async line, the status, the prompt with exactly what was typed.
    const typed = screenAt(run, 'typed');
    const t = typed.lines();
    assert.equal(t.length, 3, t.join('\n'));
    assert.equal(t[0], 'async: track ended');
    assert.match(t[1]!, STATUS);
    assert.equal(t[2], 'as> hello world');
    assert.deepEqual([typed.row, typed.col], [2, 'as> hello world'.length], 'the cursor is where the user typed');

    // A wrapped input: two rows under the status line, the cursor at its end.
    const wrapped = screenAt(run, 'wrapped');
    const w = wrapped.lines();
    assert.deepEqual(w.slice(0, 3), ['async: track ended', 'as> hello world', 'you typed: hello world']);
    assert.match(w[3]!, STATUS);
    assert.equal(w[4], `as> ${longInput}`.slice(0, COLS));
    assert.equal(w[5], `as> ${longInput}`.slice(COLS));
    assert.equal(w.length, 6, w.join('\n'));
    assert.deepEqual([wrapped.row, wrapped.col], [5, `as> ${longInput}`.length - COLS]);

    // After Enter: the command as typed, its output, then the status, then the prompt.
    const after = screenAt(run, 'after').lines();
    assert.deepEqual(after.slice(0, 6), [
      'async: track ended',
      'as> hello world',
      'you typed: hello world',
      `as> ${longInput}`.slice(0, COLS),
      `as> ${longInput}`.slice(COLS),
      `you typed: ${longInput}`.slice(0, COLS),
    ]);
    assert.equal(after[6], `you typed: ${longInput}`.slice(COLS));
    assert.match(after[7]!, STATUS);
    assert.equal(after[8], 'as>');
    assert.equal(after.length, 9);
    assert.equal(after.filter((l) => l.startsWith('status tick')).length, 1, 'one status line, never a trail of them');

    // Closing removes the status line and leaves the history clean.
    const end = screenAt(run, 'end').lines();
    assert.equal(end.at(-1), 'as> quit');
    assert.equal(end.filter((l) => l.startsWith('status tick')).length, 0);
  });
});
