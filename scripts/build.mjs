// Bundles the CLI into one file, dist/bulwark.js (the package's bin).
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));

await build({
  entryPoints: ['src/cli.ts'],
  outfile: 'dist/bulwark.js',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  // Ink imports react-devtools-core only when DEV is set; bundle a stub instead of the real thing.
  alias: { 'react-devtools-core': './src/ui/devtools-stub.ts' },
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
