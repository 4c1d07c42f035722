/**
 * Scenario 6's baselines: what bare Node costs before our code does anything.
 * `node bare-startup.js help` prints a help text and exits; `node bare-startup.js listen`
 * listens on a free loopback port, says so on stderr like as-server, and runs until
 * SIGTERM.
 */
import net from 'node:net';

if (process.argv[2] === 'listen') {
  const server = net.createServer((socket) => socket.destroy());
  server.listen(0, '127.0.0.1', () => {
    const { port } = server.address() as net.AddressInfo;
    process.stderr.write(`bare: serving 0 files on 127.0.0.1:${port}\n`);
  });
  process.on('SIGTERM', () => process.exit(0));
} else {
  process.stdout.write('Usage: bare [options]\n\nPrints this and exits.\n');
}
