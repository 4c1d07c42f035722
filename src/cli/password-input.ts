import { AudioStreamError } from '../protocol/index.js';

/** A password longer than this is a mistake (a file piped in by accident), not a password. */
const MAX_PASSWORD_BYTES = 1024;

/**
 * Reads a password: from the terminal without echo (with `prompt` on stderr), or, when
 * standard input is not a terminal, its first line. Never from the command line, where
 * every user of the machine could read it in the process list.
 */
export async function readPassword(prompt: string, input: NodeJS.ReadStream = process.stdin, output: NodeJS.WriteStream = process.stderr): Promise<string> {
  const password = input.isTTY ? await readHidden(prompt, input, output) : await readFirstLine(input);
  if (password.length === 0) throw new AudioStreamError('USAGE', 'the password is empty');
  return password;
}

function readHidden(prompt: string, input: NodeJS.ReadStream, output: NodeJS.WriteStream): Promise<string> {
  return new Promise((resolve, reject) => {
    output.write(prompt);
    let typed = '';
    const wasRaw = input.isRaw;
    input.setRawMode(true);
    input.setEncoding('utf8');
    input.resume();
    const done = (err?: AudioStreamError): void => {
      input.off('data', onData);
      input.setRawMode(wasRaw);
      input.pause();
      output.write('\n');
      if (err) reject(err);
      else resolve(typed);
    };
    const onData = (chunk: string): void => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') return done();
        if (ch === '\u0003' || ch === '\u0004') return done(new AudioStreamError('CANCELLED', 'cancelled'));
        if (ch === '\u007f' || ch === '\b') typed = [...typed].slice(0, -1).join('');
        else if (ch >= ' ') typed += ch;
        if (Buffer.byteLength(typed) > MAX_PASSWORD_BYTES) return done(new AudioStreamError('USAGE', `a password has at most ${MAX_PASSWORD_BYTES} bytes`));
      }
    };
    input.on('data', onData);
  });
}

/** The first line of a pipe (the rest is not read: it may be a shell's further commands). */
export async function readFirstLine(input: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of input) {
    text += chunk.toString();
    const lf = text.indexOf('\n');
    if (lf !== -1) {
      text = text.slice(0, lf);
      break;
    }
    if (Buffer.byteLength(text) > MAX_PASSWORD_BYTES) break;
  }
  text = text.replace(/\r$/, '');
  if (Buffer.byteLength(text) > MAX_PASSWORD_BYTES) throw new AudioStreamError('USAGE', `a password has at most ${MAX_PASSWORD_BYTES} bytes`);
  return text;
}

/** A yes/no question on the terminal (stderr); anything but y/yes is no. */
export async function askYesNo(question: string, input: NodeJS.ReadStream = process.stdin, output: NodeJS.WriteStream = process.stderr): Promise<boolean> {
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input, output, terminal: false });
  try {
    const answer = await rl.question(`${question} (yes/no) `);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}
