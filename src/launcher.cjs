#!/usr/bin/env node
// The `bulwark` command (dist/cli.cjs, which npm links, and dist/bulwark.js: the same file). Plain
// ES5 on purpose: the bundle needs a recent Node, and an older one must get one clear line saying
// so — not a syntax error from deep inside it.
//
// It then compiles the bundle (dist/bulwark-main.js, one CommonJS script) with V8's code cache
// made at build time (dist/bulwark-main.*.cache, see src/code-cache.ts), and runs it. With the cache,
// V8 skips compiling what start-up runs; without it, or when V8 refuses it (another Node version
// built it), the bundle is compiled as any script is.
'use strict';
var NEEDED = [20, 19];
var parts = process.versions.node.split('.');
var major = Number(parts[0]);
var minor = Number(parts[1]);
if (major < NEEDED[0] || (major === NEEDED[0] && minor < NEEDED[1])) {
  // One line: what is needed, how to get it, and that a box without it can still be hardened.
  process.stderr.write(
    'bulwark: needs Node.js ' + NEEDED.join('.') + ' or newer, this is ' + process.versions.node + ' (' + process.execPath + '): install a current Node.js (https://nodejs.org, or the nodejs 20 or 22 package of your distribution); a box that cannot have it needs none: run bulwark on your workstation with `--host root@BOX` (the box only needs /bin/sh).\n'
  );
  process.exit(1);
}
var fs = require('fs');
var path = require('path');
var vm = require('vm');
var bundle = path.join(__dirname, 'bulwark-main.js');
var source;
try {
  source = fs.readFileSync(bundle, 'utf8');
} catch (error) {
  process.stderr.write('bulwark: could not start: ' + bundle + ' cannot be read (' + (error && error.code ? error.code : String(error)) + '): reinstall bulwark, or run `npm run build` in a clone.\n');
  process.exit(1);
}
// Two caches (src/code-cache.ts): what the wizard's first frame runs, and what a headless command
// runs. Which start is this: a command's name among the arguments, or none (the wizard). A wrong
// guess (an option whose value is a command's name) only costs time: V8 compiles what it lacks.
// The build's own commands (__code-cache, __geo-index) take none: a cache must hold only what its
// own training compiled.
var COMMANDS = ['plan', 'apply', 'confirm', 'status', 'history', 'rollback', 'audit', 'geoblock', 'help', '--help', '--version'];
var args = process.argv.slice(2);
var kind = args.some(function (arg) { return COMMANDS.indexOf(arg) !== -1; }) ? 'commands' : 'wizard';
var cachedData;
try {
  cachedData = /^__/.test(args[0] || '') ? undefined : fs.readFileSync(path.join(__dirname, 'bulwark-main.' + kind + '.cache'));
} catch (error) {
  cachedData = undefined; // no cache: compiled as usual
}
// The bundle is one function expression (the build wraps it), called with CommonJS's arguments
// plus its own file URL (what `import.meta.url` was in the sources).
var script = new vm.Script(source, { filename: bundle, cachedData: cachedData });
// For the build's `__code-cache` command: the cache of everything compiled so far.
global[Symbol.for('bulwark.codeCache')] = function () {
  return script.createCachedData();
};
// The bundle runs main() when it sees this flag (the process's script is this launcher, not it).
global.__bulwarkLauncher = true;
var mod = { exports: {} };
script.runInThisContext().call(mod.exports, mod.exports, require('module').createRequire(bundle), mod, bundle, __dirname, require('url').pathToFileURL(bundle).href);
