// Builds the player page: web/src/*.ts type-checked (tsc -p web) and bundled by esbuild into
// dist/web/app.js; the HTML, CSS and images are copied beside it. No CDN: the server
// serves these files itself (src/http/static-assets.ts).
import { copyFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'dist', 'web');
mkdirSync(out, { recursive: true });
await build({
  entryPoints: [path.join(root, 'web', 'src', 'main.ts')],
  bundle: true,
  format: 'esm',
  target: 'es2022',
  minify: true,
  sourcemap: true,
  outfile: path.join(out, 'app.js'),
  logLevel: 'warning',
});
for (const file of ['index.html', 'style.css', 'placeholder-cover.svg', 'icon.svg']) copyFileSync(path.join(root, 'web', file), path.join(out, file));
