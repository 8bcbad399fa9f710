/** Loopback ports for tests. */
import { createServer, type AddressInfo } from 'node:net';

/**
 * A port that was free a moment ago: bound on 127.0.0.1, then closed. Nothing listens on it, so it also
 * serves as a port that refuses connections (until something else takes it, which tests accept).
 */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A port nothing listens on, for probes that must be refused. */
export const closedPort = freePort;
