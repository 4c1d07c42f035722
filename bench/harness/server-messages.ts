/** What the bench tells a server child (bench/server-child.ts) and what it answers, over IPC. */

export type ServerKind = 'ours' | 'baseline';

export interface ServerChildConfig {
  kind: ServerKind;
  /** ours: the library directory. */
  root?: string;
  /** baseline: the files it serves, by v1 index. */
  files?: string[];
  /** ours: AudioServer readChunkSize, when a run compares settings. */
  readChunkSize?: number | undefined;
  /** ours: serve TLS on the same port with this PEM certificate and key. */
  tlsCertFile?: string;
  tlsKeyFile?: string;
  /** ours: accounts from this data directory (logins required once it holds any). */
  dataDir?: string;
  /** baseline: its read size (default BASELINE_CHUNK_SIZE). */
  chunkSize?: number | undefined;
}

export type ToServerChild = { type: 'rescan' } | { type: 'settle' } | { type: 'connections' } | { type: 'stop' };

export type FromServerChild =
  | { type: 'listening'; port: number; scanMs: number; files: number }
  | { type: 'rescanned'; ms: number; changed: boolean; files: number }
  | { type: 'settled'; ms: number }
  | { type: 'connections'; count: number }
  | { type: 'failed'; message: string };
