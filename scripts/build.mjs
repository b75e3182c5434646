// Bundles the CLI into dist/bulwark.js (the package's bin) and the chunks it loads on demand beside it.
import { build } from 'esbuild';
import { chmodSync, copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
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
  {
    // yoga-layout's module waits for its WebAssembly at the top level (top-level await), which a
    // CommonJS bundle cannot do: it exports the promise instead, and src/ui/yoga-ready.ts hands it
    // to the wizard, which waits for it before its first render.
    name: 'yoga-ready-without-top-level-await',
    setup(b) {
      b.onLoad({ filter: /yoga-layout[\\/]dist[\\/]src[\\/]index\.js$/ }, (args) => {
        const source = readFileSync(args.path, 'utf8');
        const topLevelAwait = 'const Yoga = wrapAssembly(await loadYoga());\nexport default Yoga;';
        if (!source.includes(topLevelAwait)) throw new Error('yoga-layout changed: its top-level await to replace is not there (scripts/build.mjs)');
        return { contents: source.replace(topLevelAwait, 'let Yoga;\nexport const yogaReady = loadYoga().then((loaded) => { Yoga = wrapAssembly(loaded); });\nexport { Yoga as default };'), loader: 'js' };
      });
      const ready = fileURLToPath(new URL('../src/ui/yoga-ready.ts', import.meta.url));
      b.onLoad({ filter: /[\\/]src[\\/]ui[\\/]yoga-ready\.ts$/ }, (args) => (args.path === ready ? { contents: "export { yogaReady } from 'yoga-layout';", loader: 'js', resolveDir: dirname(ready) } : undefined));
      // Ink awaits its devtools (and its package.json for them) at the top level, only when DEV is
      // set: never in this bundle (react-devtools-core is a stub here).
      b.onLoad({ filter: /ink[\\/]build[\\/]reconciler\.js$/ }, (args) => {
        const source = readFileSync(args.path, 'utf8');
        const devtools = ["await import('./devtools.js');", '? await loadPackageJson()'];
        if (!devtools.every((text) => source.includes(text))) throw new Error('ink changed: its top-level awaits to replace are not there (scripts/build.mjs)');
        return { contents: source.replace(devtools[0], 'void 0;').replace(devtools[1], '? {}'), loader: 'js' };
      });
    },
  },
  {
    // Commander requires node:child_process at the top for executable subcommands, which bulwark
    // has none of; with it come net, dgram and the stream modules, compiled at every start (a few
    // ms of a plan under --root, which starts no program). Loaded when a spawn is asked for instead.
    name: 'commander-child-process-lazy',
    setup(b) {
      b.onLoad({ filter: /commander[\\/]lib[\\/]command\.js$/ }, (args) => {
        const source = readFileSync(args.path, 'utf8');
        const eager = "const childProcess = require('node:child_process');";
        if (!source.includes(eager) || (source.match(/childProcess\./g) ?? []).length !== (source.match(/childProcess\.spawn\(/g) ?? []).length) throw new Error('commander changed: its child_process use to make lazy is not what it was (scripts/build.mjs)');
        return { contents: source.replace(eager, "const childProcess = { spawn: (...args) => require('node:child_process').spawn(...args) };"), loader: 'js' };
      });
    },
  },
  {
    // The password-strength dictionaries of the voip step (1.7 MB) are loaded only when a secret is
    // judged: they stay out of the bundle (which every start reads and V8 checks against its
    // cache), in CommonJS files of their own beside it (built below).
    name: 'password-dictionaries-beside',
    setup(b) {
      b.onResolve({ filter: /^@zxcvbn-ts\/(core|language-common|language-en)$/ }, (args) => ({ path: `./zxcvbn/${args.path.slice('@zxcvbn-ts/'.length)}.js`, external: true }));
    },
  },
];

// What an earlier build left: chunks of the ESM bundle bulwark once was, and the code cache of a
// bundle about to be replaced (V8 would refuse it, but it has no business staying).
{
  const { existsSync, readdirSync, rmSync } = await import('node:fs');
  // A fresh clone has no dist/ yet.
  for (const name of (existsSync('dist') ? readdirSync('dist', { withFileTypes: true }) : []).filter((e) => e.isFile() && (/^chunk-[A-Z0-9]+\.js$/.test(e.name) || /^bulwark-main(\.[a-z]+)?\.cache$/.test(e.name)))) rmSync(`dist/${name.name}`);
}

// One CommonJS script, not ESM modules: V8 can keep a code cache for a script (the launcher hands
// it over, src/launcher.cjs), and Node 20 keeps none for modules. It is one function expression,
// which the launcher calls with CommonJS's arguments and the bundle's own URL (for import.meta.url).
// What only some commands use (the engine, the steps, the UI...) is imported dynamically in the
// sources: esbuild keeps each such module's evaluation until it is first imported.
const result = await build({
  entryPoints: { 'bulwark-main': 'src/cli.ts' },
  // Which packages went into the bundle: their licences go into dist/NOTICE below.
  metafile: true,
  outdir: 'dist',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  // Ink imports react-devtools-core only when DEV is set; bundle a stub instead of the real thing.
  alias: {
    'react-devtools-core': './src/ui/devtools-stub.ts',
  },
  plugins,
  banner: { js: '(function (exports, require, module, __filename, __dirname, __bulwarkModuleUrl) {' },
  footer: { js: '})' },
  define: {
    'process.env.NODE_ENV': '"production"',
    'import.meta.url': '__bulwarkModuleUrl',
    __BULWARK_VERSION__: JSON.stringify(pkg.version),
    __BULWARK_GEO_VERSION__: JSON.stringify(geoPackage.version),
  },
  legalComments: 'none',
  minify: true,
  sourcemap: false,
  logLevel: 'warning',
});

// A script compiled by vm.Script has no module loader for import() (Node 20's is experimental
// there and warns when used): what esbuild left as import() — Node's own modules and the password
// dictionaries beside the bundle — becomes require(), which the launcher provides.
{
  const file = 'dist/bulwark-main.js';
  const code = readFileSync(file, 'utf8').replace(/\bimport\(("(?:node:[a-z_/]+|\.\/zxcvbn\/[a-z-]+\.js)")\)/g, 'Promise.resolve(require($1))');
  const left = /\bimport\([^)]{0,60}/.exec(code);
  if (left) throw new Error(`build: an import() is left in the bundle, which the launcher cannot load: ${left[0]}`);
  writeFileSync(file, code);
}

// The password dictionaries, required by the bundle when first needed (see the plugin above).
const dictionaries = await build({
  entryPoints: { 'zxcvbn/core': '@zxcvbn-ts/core', 'zxcvbn/language-common': '@zxcvbn-ts/language-common', 'zxcvbn/language-en': '@zxcvbn-ts/language-en' },
  metafile: true,
  outdir: 'dist',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  legalComments: 'none',
  minify: true,
  logLevel: 'warning',
});
for (const [input, info] of Object.entries(dictionaries.metafile.inputs)) result.metafile.inputs[input] ??= info;

// The files in dist/ are CommonJS (the root package.json says "module" for the sources).
writeFileSync('dist/package.json', JSON.stringify({ type: 'commonjs' }) + '\n');

// The launcher, under the name npm links (cli.cjs) and the one the docs and tests run
// (bulwark.js): plain ES5, so that an old Node says in one line which version bulwark needs
// instead of failing on the bundle's syntax.
for (const name of ['dist/cli.cjs', 'dist/bulwark.js']) {
  copyFileSync('src/launcher.cjs', name);
  chmodSync(name, 0o755);
}

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

// Last, once everything the bundle reads is in place: the code caches (src/code-cache.ts), made by
// running a plan, and the wizard's first frame, on a fixture root with this Node. A build from files
// without the fixtures (not a clone) ships no cache: bulwark then compiles at each start, as before.
{
  const { existsSync } = await import('node:fs');
  const fixture = fileURLToPath(new URL('../test/fixtures/issabel-centos7', import.meta.url));
  // One process per kind: a cache holds everything compiled in its process (see code-cache.ts).
  if (existsSync(fixture)) for (const kind of ['wizard', 'commands']) execFileSync(process.execPath, ['dist/bulwark.js', '__code-cache', kind, fixture, `dist/bulwark-main.${kind}.cache`], { stdio: 'inherit' });
  else process.stderr.write(`build: no code cache (${fixture} is not here): bulwark will compile at each start.\n`);
}
