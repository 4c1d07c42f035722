import net from 'node:net';

/** A port free on `host` now, for a server the bench starts as a separate program (nginx, supysonic, as-server). */
export async function freePort(host: string): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
