// Build the offline front-end: one deck.gl bundle plus the vendor files pages use, into static/dist/.
import {build} from 'esbuild';
import {cpSync, mkdirSync, readdirSync, readFileSync, writeFileSync} from 'node:fs';
import {gzipSync} from 'node:zlib';

const out = 'static/dist';
mkdirSync(out, {recursive: true});

await build({
  entryPoints: {deck: 'src/deck.js'},
  bundle: true,
  minify: true,
  format: 'iife',
  globalName: 'deckgl',
  target: ['es2020'],
  outdir: out,
  legalComments: 'none',
  logLevel: 'warning',
  define: {'process.env.NODE_ENV': '"production"'},
});

// The pages' live modules (issue 12): each sets its own window global (no globalName).
await build({
  entryPoints: {live: 'src/live.js', activities: 'src/activity_form.js', screen: 'src/screen.js', health: 'src/health_panel.js'},
  bundle: true,
  minify: true,
  format: 'iife',
  target: ['es2020'],
  outdir: out,
  legalComments: 'none',
  logLevel: 'warning',
});

const vendor = [
  ['node_modules/pannellum/build/pannellum.js', 'pannellum.js'],
  ['node_modules/pannellum/build/pannellum.css', 'pannellum.css'],
  ['node_modules/swagger-ui-dist/swagger-ui-bundle.js', 'swagger-ui-bundle.js'],
  ['node_modules/swagger-ui-dist/swagger-ui.css', 'swagger-ui.css'],
];
for (const [from, to] of vendor) cpSync(from, `${out}/${to}`);
// Precompressed copies: the server sends them to clients that accept gzip.
for (const name of readdirSync(out)) {
  if (/\.(js|css)$/.test(name)) {
    writeFileSync(`${out}/${name}.gz`, gzipSync(readFileSync(`${out}/${name}`), {level: 9}));
  }
}
console.log(`built ${out}`);
