import type { Socket } from 'node:net';

/**
 * Resolves when the socket has drained its write buffer; rejects if the socket closes or
 * fails first, so that a transfer to a vanished client never waits forever.
 */
export function waitForDrain(socket: Socket): Promise<void> {
  return new Promise((resolve, reject) => {
    const cleanup = (): void => {
      socket.off('drain', onDrain);
      socket.off('close', onClose);
      socket.off('error', onClose);
    };
    const onDrain = (): void => {
      cleanup();
      resolve();
    };
    const onClose = (): void => {
      cleanup();
      reject(new Error('socket closed'));
    };
    if (socket.destroyed) {
      reject(new Error('socket closed'));
      return;
    }
    socket.on('drain', onDrain);
    socket.on('close', onClose);
    socket.on('error', onClose);
  });
}
