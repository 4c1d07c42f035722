/** What a request handler needs of a connection: ordered writes that honour backpressure. */
export interface ReplyChannel {
  /** Queues bytes; resolves at once, or when the socket has drained if its buffer is full. */
  write(bytes: Buffer): Promise<void>;
  /** Holds small writes back so that a header and the first body bytes leave together. */
  cork(): void;
  uncork(): void;
  /** Bytes written but not yet handed to the OS; 0 means every buffer written so far may be reused. */
  readonly pendingBytes: number;
  /** The peer has gone: stop producing. */
  readonly closed: boolean;
}
