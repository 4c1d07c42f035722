import { Worker } from 'node:worker_threads';
import { keepHoldAcrossStart } from './young-generation.js';

export interface RequestWorkerOptions<Reply> {
  /** The worker's module. */
  url: URL;
  /** Its heap cap: what a hostile file can make one read allocate. */
  maxOldGenerationSizeMb: number;
  /** A request not answered within this is given up, and the worker with it. */
  timeoutMs: number;
  /** The answer for a request whose worker hung, crashed or ran out of heap. */
  failed: (id: number) => Reply;
}

/**
 * One worker thread, started on the first request and kept (unref'd) for the next ones, that
 * answers `{ id, ... }` requests with `{ id, ... }` replies. Used for reads that parse what a
 * file claims (embedded pictures, embedded lyrics): a parse that hangs is given up after the
 * time limit and its thread terminated with it; a thread that dies answers every request it
 * held with `failed`, and the next request starts a new one. Never rejects.
 */
export class RequestWorker<Request extends object, Reply extends { id: number }> {
  private readonly options: RequestWorkerOptions<Reply>;
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (reply: Reply) => void; timer: NodeJS.Timeout }>();

  constructor(options: RequestWorkerOptions<Reply>) {
    this.options = options;
  }

  ask(request: Request): Promise<Reply> {
    const worker = this.worker ?? this.start();
    const id = this.nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        resolve(this.options.failed(id));
        void worker.terminate(); // a parse that hangs takes its thread with it
      }, this.options.timeoutMs);
      this.pending.set(id, { resolve, timer });
      worker.postMessage({ ...request, id });
    });
  }

  close(): void {
    void this.worker?.terminate();
    this.worker = undefined;
  }

  private start(): Worker {
    const worker = new Worker(this.options.url, { resourceLimits: { maxOldGenerationSizeMb: this.options.maxOldGenerationSizeMb } });
    keepHoldAcrossStart(worker);
    worker.unref();
    worker.on('message', (reply: Reply) => {
      const waiting = this.pending.get(reply.id);
      if (!waiting) return;
      clearTimeout(waiting.timer);
      this.pending.delete(reply.id);
      waiting.resolve(reply);
    });
    const fail = (): void => {
      if (this.worker === worker) this.worker = undefined;
      for (const [id, waiting] of this.pending) {
        clearTimeout(waiting.timer);
        waiting.resolve(this.options.failed(id));
      }
      this.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', fail);
    this.worker = worker;
    return worker;
  }
}
