import { createBox } from './helpers/sandbox.js';
import { BULWARK } from './helpers/cli.js';
import { writeFileSync } from 'node:fs';
const box = await createBox();
try {
  await box.hideInterpreters();
  writeFileSync(`${box.tmp}/ops.pw`, 'correct horse battery staple\n', { mode: 0o600 });
  writeFileSync(`${box.tmp}/answers.json`, JSON.stringify({ htaccess: { protect: ['/admin'], users: [{ name: 'ops', passwordFile: `${box.tmp}/ops.pw` }] } }));
  const opts = ['--host', `root@${box.boxV4}`, '--ssh-option', `IdentityFile=${box.adminKey}`, '--ssh-option', 'StrictHostKeyChecking=no', '--ssh-option', 'UserKnownHostsFile=/dev/null'];
  const run = async (...args: string[]) => { const t0 = Date.now(); const r = await box.admin(process.execPath, [BULWARK, ...opts, ...args, '--no-color'], { reject: false, timeoutMs: 120000 }); console.log(`== ${args.join(' ')} → ${r.code} in ${Date.now() - t0} ms\n${r.stdout.slice(0, 1500)}\n${r.stderr.slice(-1500)}`); return r; };
  await run('plan', '--step', 'htaccess', '--answers', `${box.tmp}/answers.json`);
  await run('apply', '--step', 'htaccess', '--yes', '--answers', `${box.tmp}/answers.json`);
  await run('status');
  await run('rollback', '--step', 'htaccess', '--yes');
  await run('apply', '--step', 'firewall', '--yes');
} finally { await box.destroy(); }
