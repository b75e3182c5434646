// Bundles the CLI into dist/bulwark.js (the package's bin) and the chunks it loads on demand beside it.
import { build } from 'esbuild';
import { chmodSync, copyFileSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));

// The country data shipped with bulwark: its version (2.3.YYYYMMDDhh) says when it was made.
const GEO_PACKAGE_DIR = fileURLToPath(new URL('../node_modules/@ip-location-db/geo-whois-asn-country/', import.meta.url));
const geoPackage = JSON.parse(readFileSync(`${GEO_PACKAGE_DIR}package.json`, 'utf8'));

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
      b.onLoad({ filter: /yoga-wasm-base64-esm\.js$/ }, (args) => {
        const source = readFileSync(args.path, 'utf8');
        // And its 470 KB of base64 are decoded by Node's Buffer (native) rather than by atob and a
        // loop over every byte (atob is JavaScript in Node 20): some 15 ms of the first frame.
        const slowDecode = 'var b=xa(a.slice(37)),c=new Uint8Array(b.length);for(a=0;a<b.length;++a)c[a]=b.charCodeAt(a);var d=c';
        if (!source.includes(slowDecode)) throw new Error('yoga-layout changed: the base64 decode to replace is not there (scripts/build.mjs)');
        return {
          contents: source.replaceAll('"function"!=typeof fetch', 'true').replace(slowDecode, 'var d=new Uint8Array(Buffer.from(a.slice(37),"base64"))'),
          loader: 'js',
        };
      });
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

const result = await build({
  entryPoints: { bulwark: 'src/cli.ts' },
  // Which packages went into the bundle: their licences go into dist/NOTICE below.
  metafile: true,
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
    __BULWARK_GEO_VERSION__: JSON.stringify(geoPackage.version),
  },
  legalComments: 'none',
  minify: true,
  sourcemap: false,
  logLevel: 'warning',
});

// npm links the bin; make the bundle runnable by itself too (./dist/bulwark.js).
chmodSync('dist/bulwark.js', 0o755);

// The package installs nothing besides itself (package.json has no dependencies: the bundle holds
// them), so the country data goes beside the bundle: dist/geo/, with its package.json (the version
// dates the data) and licence. steps/geoblock/source.ts looks there first.
{
  const { mkdirSync } = await import('node:fs');
  mkdirSync('dist/geo', { recursive: true });
  for (const name of ['package.json', 'NRO_LICENSE', 'README.md', 'geo-whois-asn-country-ipv4.csv', 'geo-whois-asn-country-ipv6.csv']) copyFileSync(`${GEO_PACKAGE_DIR}${name}`, `dist/geo/${name}`);
}

// The shipped country data, parsed once here into the index a geoblock compile reads
// (steps/geoblock/compile.ts): the CSVs are not parsed again at each apply.
const { execFileSync } = await import('node:child_process');
execFileSync(process.execPath, ['dist/bulwark.js', '__geo-index', 'dist/geo-index.bin'], { stdio: 'inherit' });

// Remote mode's box-side helper (POSIX sh), read beside the bundle and sent to the box with each call.
copyFileSync('src/remote/helper.sh', 'dist/helper.sh');

// The launcher npm links as the `bulwark` command: plain ES5, so that an old Node says in one line
// which version bulwark needs instead of failing on the bundle's syntax.
copyFileSync('src/launcher.cjs', 'dist/cli.cjs');
chmodSync('dist/cli.cjs', 0o755);

// The licences of what the bundle contains (the bundle keeps no legal comments), and the data's
// attribution: dist/NOTICE, shipped with the package.
{
  const { writeFileSync, existsSync: exists, readdirSync: list } = await import('node:fs');
  const packages = new Map();
  for (const input of Object.keys(result.metafile.inputs)) {
    const match = /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input);
    if (!match) continue;
    const dir = input.slice(0, match.index + match[0].length);
    if (!packages.has(match[1])) packages.set(match[1], dir);
  }
  const sections = [...packages.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([name, dir]) => {
    const meta = JSON.parse(readFileSync(`${dir}package.json`, 'utf8'));
    const licenceFile = list(dir).find((f) => /^(licen[cs]e|copying)(\.|$)/i.test(f));
    const text = licenceFile ? readFileSync(`${dir}${licenceFile}`, 'utf8').trim() : `${meta.license ?? 'see the package'} (no licence file in the package)`;
    return `## ${name} ${meta.version} (${meta.license ?? 'unknown'})\n\n${text}\n`;
  });
  const head = [
    'bulwark bundles the following. Their licences ask that these notices go with every copy.',
    '',
    '## Country data',
    '',
    'Country data: ip-location-db geo-whois-asn-country, statistics by the Number Resource Organization (nro.net), CC BY 4.0.',
    `Package ${geoPackage.name} ${geoPackage.version}; the data's own licence notice is in geo/NRO_LICENSE.`,
    '',
  ];
  if (!exists('dist/geo/NRO_LICENSE')) throw new Error('the country data licence is missing from dist/geo');
  writeFileSync('dist/NOTICE', [...head, ...sections].join('\n'));
}
