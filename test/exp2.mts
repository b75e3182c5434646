import { createBox } from './helpers/sandbox.js';
const box = await createBox();
try {
  const base = ['-o', `IdentityFile=${box.adminKey}`, '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'ControlMaster=auto', '-o', `ControlPath=${box.tmp}/cm`, '-o', 'ControlPersist=60', '-o', 'BatchMode=yes', `root@${box.boxV4}`];
  for (let i = 0; i < 6; i++) { const t0 = Date.now(); await box.admin('ssh', [...base, 'true']); console.log('exec true', Date.now() - t0, 'ms'); }
  const helper = (await import('node:fs')).readFileSync('src/remote/helper.sh', 'utf8');
  const q = "'" + helper.replaceAll("'", "'\\''") + "'";
  for (let i = 0; i < 3; i++) { const t0 = Date.now(); await box.admin('ssh', [...base, `exec /bin/sh -c ${q} h meta /etc/passwd`]); console.log('helper meta', Date.now() - t0, 'ms'); }
  for (let i = 0; i < 3; i++) { const t0 = Date.now(); await box.admin('true', []); console.log('nsenter true', Date.now() - t0, 'ms'); }
} finally { await box.destroy(); }
