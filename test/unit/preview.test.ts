import { describe, expect, it } from 'vitest';
import type { FileChange } from '../../src/change.js';
import { fileDiff, planToJson, redactLine } from '../../src/preview.js';

const change = (before: string | null, after: string | null, extra: Partial<FileChange> = {}): FileChange => ({ kind: 'file', step: 'exposure', path: '/etc/asterisk/manager.conf', before, after, reason: 'test', ...extra });

describe('preview', () => {
  it('renders a unified diff with a/ b/ headers and no tabs', () => {
    const diff = fileDiff(change('[general]\nbindaddr = 0.0.0.0\n', '[general]\nbindaddr = 127.0.0.1\n'));
    expect(diff.split('\n').slice(0, 3)).toEqual(['--- a/etc/asterisk/manager.conf', '+++ b/etc/asterisk/manager.conf', '@@ -1,2 +1,2 @@']);
    expect(diff).toContain('-bindaddr = 0.0.0.0\n+bindaddr = 127.0.0.1');
    expect(diff).not.toContain('\t');
  });

  it('masks password-like values in context lines, in every syntax bulwark edits', () => {
    const before = '[general]\nbindaddr = 0.0.0.0\n[admin]\nsecret = elastix456\npassword=hunter2\nAMPMGRPASS=amp111\nmysqlrootpwd = eLaStIx.2oo7\nsecret => s3\n';
    const diff = fileDiff(change(before, before.replace('0.0.0.0', '127.0.0.1')));
    for (const secret of ['elastix456', 'hunter2', 'amp111', 'eLaStIx.2oo7', 's3']) expect(diff).not.toContain(secret);
    expect(diff).toContain(' secret = <redacted>');
  });

  it('leaves ordinary settings alone', () => {
    for (const line of ['old_passwords=1', 'bind-address = 0.0.0.0', 'PasswordAuthentication no', 'inet_interfaces = all']) expect(redactLine(line)).toBe(line);
  });

  it('never shows the content of a secret file, also in --json', () => {
    const secret = change(null, 'ops:$2y$10$abcdefghijklmnopqrstuv\n', { path: '/etc/apache2/bulwark.htpasswd', secret: true });
    expect(fileDiff(secret)).toBe('--- a/etc/apache2/bulwark.htpasswd\n+++ b/etc/apache2/bulwark.htpasswd\n@@ secret content new file: <redacted> @@\n');
    expect(JSON.stringify(planToJson([secret]))).not.toContain('$2y$');
  });

  it('shows a new file against /dev/null', () => {
    expect(fileDiff(change(null, 'x\n')).split('\n').slice(0, 2)).toEqual(['--- /dev/null', '+++ b/etc/asterisk/manager.conf']);
  });
});
