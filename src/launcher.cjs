#!/usr/bin/env node
// The `bulwark` command as npm links it. Plain ES5 on purpose: the bundle (bulwark.js) needs a recent
// Node, and an older one must get one clear line saying so — not a syntax error from deep inside it.
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
// The bundle runs main() when it sees this flag (the process's script is this launcher, not it).
global.__bulwarkLauncher = true;
var url = require('url').pathToFileURL(require('path').join(__dirname, 'bulwark.js')).href;
// import() is a syntax error in very old Node: kept out of this file's parse.
new Function('u', 'return import(u)')(url).catch(function (error) {
  process.stderr.write('bulwark: could not start: ' + (error && error.stack ? error.stack : String(error)) + '\n');
  process.exitCode = 1;
});
