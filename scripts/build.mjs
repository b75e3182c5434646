// Bundles the CLI into dist/bulwark.js (the package's bin) and the chunks it loads on demand beside it.
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));

const stub = fileURLToPath(new URL('../src/ui/devtools-stub.ts', import.meta.url));

// Start-up time matters (the wizard's first frame is benchmarked against a bare Node start), so a
// few dependencies are trimmed at bundle time. Each plugin says what it removes and why.
const plugins = [
  {
    // yoga-layout (Ink's layout engine) loads its embedded wasm through fetch() when fetch exists,
    // which pulls in Node's HTTP client at start-up; decoding the inline data directly is the
    // library's own fallback path and is much faster.
    name: 'yoga-without-fetch',
    setup(b) {
      b.onLoad({ filter: /yoga-wasm-base64-esm\.js$/ }, (args) => ({
        contents: readFileSync(args.path, 'utf8').replaceAll('"function"!=typeof fetch', 'true'),
        loader: 'js',
      }));
    },
  },
  {
    // ws is only used by Ink's devtools bridge, which never runs in a production bundle.
    name: 'no-devtools-websocket',
    setup(b) {
      b.onResolve({ filter: /^ws$/ }, () => ({ path: stub }));
    },
  },
  {
    // One copy of string-width for everyone (wrap-ansi pulls an older one with a large emoji
    // regex), behind a fast path for plain text: src/ui/string-width-fast.ts. That file itself
    // gets the real module.
    name: 'string-width-fast-path',
    setup(b) {
      const fast = fileURLToPath(new URL('../src/ui/string-width-fast.ts', import.meta.url));
      const real = fileURLToPath(new URL('../node_modules/string-width/index.js', import.meta.url));
      b.onResolve({ filter: /^string-width$/ }, (args) => ({ path: args.importer === fast ? real : fast }));
    },
  },
];

// Chunks of an earlier build would pile up beside the new ones (their names carry a hash).
{
  const { existsSync, readdirSync, rmSync } = await import('node:fs');
  // A fresh clone has no dist/ yet.
  for (const name of (existsSync('dist') ? readdirSync('dist', { withFileTypes: true }) : []).filter((e) => e.isFile() && /^chunk-[A-Z0-9]+\.js$/.test(e.name))) rmSync(`dist/${name.name}`);
}

await build({
  entryPoints: { bulwark: 'src/cli.ts' },
  outdir: 'dist',
  // What only some commands use (the password-strength dictionaries of the voip step, imported
  // dynamically) goes into chunks of its own beside the bundle: the others never read it.
  splitting: true,
  chunkNames: 'chunk-[hash]',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  // Ink imports react-devtools-core only when DEV is set; bundle a stub instead of the real thing.
  alias: {
    'react-devtools-core': './src/ui/devtools-stub.ts',

  },
  plugins,
  // CommonJS dependencies (react, signal-exit...) call require(); give the ESM bundle one.
  banner: {
    js: [
      '#!/usr/bin/env node',
      "import { createRequire as __bulwarkCreateRequire } from 'node:module';",
      'const require = __bulwarkCreateRequire(import.meta.url);',
    ].join('\n'),
  },
  define: {
    'process.env.NODE_ENV': '"production"',
    __BULWARK_VERSION__: JSON.stringify(pkg.version),
  },
  legalComments: 'none',
  minify: true,
  sourcemap: false,
  logLevel: 'warning',
});

// npm links the bin; make the bundle runnable by itself too (./dist/bulwark.js).
const { chmodSync } = await import('node:fs');
chmodSync('dist/bulwark.js', 0o755);

// The shipped country data, parsed once here into the index a geoblock compile reads
// (steps/geoblock/compile.ts): the CSVs are not parsed again at each apply.
const { execFileSync } = await import('node:child_process');
execFileSync(process.execPath, ['dist/bulwark.js', '__geo-index', 'dist/geo-index.bin'], { stdio: 'inherit' });

// Remote mode's box-side helper (POSIX sh), read beside the bundle and sent to the box with each call.
const { copyFileSync } = await import('node:fs');
copyFileSync('src/remote/helper.sh', 'dist/helper.sh');
