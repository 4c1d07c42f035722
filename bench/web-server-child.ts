/**
 * The web interface for the bench, in its own process (bench/scenarios/web.ts). argv[2]:
 * {"root": DIR, "syntheticTags": bool}. With syntheticTags, every file is given tags in the
 * database through the store (the generated library's files are 16 bytes, with none), so
 * a 100,000-file catalog can be browsed and searched. Sends {port} once listening.
 */
import { Library } from '../src/library/index.js';
import { WebServer } from '../src/http/index.js';

const config = JSON.parse(process.argv[2] ?? '{}') as { root: string; syntheticTags?: boolean };
process.on('disconnect', () => process.exit(0));

async function start(): Promise<void> {
  const library = await Library.open(config.root, { rescanIntervalMs: 0, watchDebounceMs: 0, readTags: !config.syntheticTags });
  if (config.syntheticTags) {
    for (const entry of library.current.entries) {
      const [artist, album, file] = entry.path.split('/');
      library.store.putTags(entry, { title: file!.replace(/\.\w+$/, ''), artist: artist!, album: album!, track: Number(file!.slice(0, 3)) });
    }
    library.store.flushTags();
  } else await library.tagsSettled();
  const web = new WebServer({ library });
  const { port } = await web.listen(0, '127.0.0.1');
  process.send?.({ type: 'listening', port, files: library.current.entries.length });
}

start().catch((err) => {
  process.send?.({ type: 'failed', message: String((err as Error)?.message ?? err) });
  process.exit(1);
});
