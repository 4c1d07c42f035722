/** One readable line per event, to stderr unless told otherwise; `quiet` silences it. */
export interface Logger {
  info(message: string): void;
  warn(message: string): void;
}

export function createLogger(options: { quiet?: boolean; write?: (line: string) => void } = {}): Logger {
  const write = options.write ?? ((line: string) => process.stderr.write(line));
  const emit = (message: string): void => write(`${new Date().toISOString()} ${message}\n`);
  return {
    info: options.quiet ? () => {} : emit,
    // Warnings (a skipped file, a failed rescan) still print under --quiet: they need action.
    warn: emit,
  };
}

export const silentLogger: Logger = { info() {}, warn() {} };

/** `[::1]:5000` or `127.0.0.1:5000` */
export function formatPeer(address: string | undefined, port: number | undefined): string {
  if (!address) return 'unknown peer';
  const host = address.startsWith('::ffff:') ? address.slice(7) : address;
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
