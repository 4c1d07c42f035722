import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { completeShellLine, quoteArgument, splitTypedWords, type ArgumentKind, type CompletionContext } from '../../src/client/argument-completion.js';

const KINDS: Record<string, ArgumentKind> = { get: 'numbers-or-folders', play: 'numbers-or-folders', info: 'numbers', ls: 'folders', list: 'none' };
const FOLDERS = ['Aurora Tones', 'Aurora Tones/First Light', 'Singles', 'Various Artists', 'Various Artists/Noise Études', 'Various Artists/Noise Études/Disc 1', 'Émilie Ölund', 'Émilie Ölund/Café Noir', 'Rock "n" Roll'];

function context(fileCount = 10): CompletionContext {
  return {
    commands: ['list', 'ls', 'get', 'play', 'pause', 'info', 'help'],
    argumentKind: (c) => KINDS[c] ?? 'none',
    fileCount,
    folders: FOLDERS,
  };
}

describe('completeShellLine: commands', () => {
  test('a unique prefix completes with a space; several are listed; case ignored', () => {
    assert.deepEqual(completeShellLine('he', context()), [['help '], 'he']);
    assert.deepEqual(completeShellLine('l', context()), [['list', 'ls'], 'l']);
    assert.deepEqual(completeShellLine('pa', context()), [['pause '], 'pa']);
    assert.deepEqual(completeShellLine('GE', context()), [['get '], 'GE']);
    assert.deepEqual(completeShellLine('zz', context()), [[], 'zz']);
    assert.deepEqual(completeShellLine('', context())[0].length, 7);
  });
});

describe('completeShellLine: file numbers', () => {
  test('the numbers that start with what was typed, within the listing', () => {
    assert.deepEqual(completeShellLine('info 1', context(25)), [['1', '10', '11', '12', '13', '14', '15', '16', '17', '18', '19'], '1']);
    assert.deepEqual(completeShellLine('info 2', context(25)), [['2', '20', '21', '22', '23', '24'], '2']);
    assert.deepEqual(completeShellLine('info 7', context(25)), [['7 '], '7'], 'a unique number is finished with a space');
    assert.deepEqual(completeShellLine('info 0', context(25)), [['0 '], '0']);
    assert.deepEqual(completeShellLine('info 30', context(25)), [[], '30']);
    assert.deepEqual(completeShellLine('info 03', context(25)), [[], '03']);
    assert.deepEqual(completeShellLine('get 3 1', context(12)), [['1', '10', '11'], '1'], 'the last of several numbers');
  });

  test('nothing typed: every number for a small listing, none for a big one', () => {
    assert.deepEqual(completeShellLine('info ', context(3)), [['0', '1', '2'], '']);
    assert.deepEqual(completeShellLine('info ', context(5000)), [[], '']);
    assert.deepEqual(completeShellLine('info 1', context(100_000))[0], [], 'more than 200 candidates: nothing until more is typed');
    assert.equal(completeShellLine('info 12', context(100_000))[0].length, 0, '12, 120-129, 1200-1299, 12000-12999: too many');
    assert.equal(completeShellLine('info 123', context(100_000))[0].length, 111);
  });

  test('a command without arguments completes nothing', () => {
    assert.deepEqual(completeShellLine('list ', context()), [[], '']);
  });
});

describe('completeShellLine: folders', () => {
  test('top-level folders, case and accents ignored, one level at a time', () => {
    assert.deepEqual(completeShellLine('ls ', context()), [['"Aurora Tones/', 'Singles', '"Various Artists/', '"Émilie Ölund/', '"Rock \\"n\\" Roll'], ''], 'several: each left open, so their common start can be inserted');
    assert.deepEqual(completeShellLine('ls si', context()), [['Singles '], 'si'], 'a folder without folders inside is finished');
    assert.deepEqual(completeShellLine('ls emilie', context()), [['"Émilie Ölund/'], 'emilie'], 'accents and case ignored; quoted because of the space');
  });

  test('a name with spaces typed unquoted spans several words and is replaced by the quoted name', () => {
    assert.deepEqual(completeShellLine('get Aurora To', context()), [['"Aurora Tones/'], 'Aurora To']);
    assert.deepEqual(completeShellLine('get 3 Various ', context()), [['"Various Artists/'], 'Various ']);
  });

  test('inside an open quote: the next level, kept quoted', () => {
    assert.deepEqual(completeShellLine('get "Aurora Tones/', context()), [['"Aurora Tones/First Light" '], '"Aurora Tones/']);
    assert.deepEqual(completeShellLine('get "various artists/noise', context()), [['"Various Artists/Noise Études/'], '"various artists/noise']);
    assert.deepEqual(completeShellLine("get 'Sing", context()), [['"Singles" '], "'Sing"]);
    assert.deepEqual(completeShellLine('get "Various Artists/Noise Études/', context()), [['"Various Artists/Noise Études/Disc 1" '], '"Various Artists/Noise Études/']);
  });

  test('a quote inside a name is escaped', () => {
    assert.deepEqual(completeShellLine('get "Rock', context()), [['"Rock \\"n\\" Roll" '], '"Rock']);
  });

  test('digits complete numbers, not folders, for a command that takes both', () => {
    assert.deepEqual(completeShellLine('play 5', context(10)), [['5 '], '5']);
  });
});

describe('splitTypedWords and quoteArgument', () => {
  test('quotes keep spaces; backslashes escape; an open quote is reported', () => {
    const words = splitTypedWords(`get "Émilie Ölund" a\\ b 'x y`);
    assert.deepEqual(
      words.map((w) => [w.value, w.raw, w.openQuote]),
      [
        ['get', 'get', undefined],
        ['Émilie Ölund', '"Émilie Ölund"', undefined],
        ['a b', 'a\\ b', undefined],
        ['x y', "'x y", "'"],
      ],
    );
    assert.deepEqual(splitTypedWords('get ').map((w) => w.value), ['get', '']);
    assert.deepEqual(splitTypedWords('"say \\"hi\\""')[0]!.value, 'say "hi"');
  });

  test('quoteArgument quotes only when needed', () => {
    assert.equal(quoteArgument('Singles'), 'Singles');
    assert.equal(quoteArgument('Aurora Tones'), '"Aurora Tones"');
    assert.equal(quoteArgument('a"b\\c'), '"a\\"b\\\\c"');
    assert.equal(quoteArgument(''), '""');
    assert.equal(quoteArgument('x y', false), '"x y');
  });
});
