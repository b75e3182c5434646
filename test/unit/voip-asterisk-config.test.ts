// Asterisk's configuration as Asterisk reads it (steps/voip/asterisk-config.ts): comments of both
// kinds and escapes, templates and continuations, `+=`, includes relative to /etc/asterisk with
// globs, a missing #tryinclude, #exec never run, loops; and where each effective value was written.
import * as fs from 'node:fs/promises';
import { tempRoots } from '../helpers/temp-root.js';
import { describe, expect, it } from 'vitest';
import { Host } from '../../src/host.js';
import { categoriesNamed, effectiveSettings, globMatches, loadAsteriskConfig, parseConfigText, stripComments, valueOf, valuesOf } from '../../steps/voip/asterisk-config.js';

const { rootWith } = tempRoots('bulwark-astconf-');
const boxWith = async (files: Record<string, string>) => new Host(await rootWith(files));

describe('stripComments', () => {
  it('ends a line at ; but not at \\;, and blanks nested block comments across lines, keeping the columns', () => {
    expect(stripComments(['secret=abc ; the comment', 'secret=a\\;b;c', 'a=1 ;-- one --; b', ';-- open', 'still comment ;-- nested', '--; still --; after=1', 'x=2'])).toEqual([
      'secret=abc ',
      'secret=a\\;b',
      `a=1 ${' '.repeat(11)} b`,
      ' '.repeat(8),
      ' '.repeat(24),
      ' '.repeat(13) + ' after=1', // columns kept: "after" stays where it was written
      'x=2',
    ]);
  });
});

describe('parseConfigText', () => {
  it('reads categories with templates and continuations, =, => and +=, and the directives', () => {
    const items = parseConfigText(['[tpl](!)', 'type=friend', '[1001](tpl, other)', 'secret = s3cret ; c', 'exten => 1,1,Dial(SIP/1001)', 'allow+=,alaw', '[1001](+)', '#include "sip_custom.conf"', '#tryinclude <x.conf>', '#exec /bin/echo hi', 'bad line'].join('\n'));
    expect(items).toEqual([
      { kind: 'category', name: 'tpl', line: 1, template: true, append: false, inherits: [] },
      { kind: 'setting', key: 'type', value: 'friend', op: '=', line: 2 },
      { kind: 'category', name: '1001', line: 3, template: false, append: false, inherits: ['tpl', 'other'] },
      { kind: 'setting', key: 'secret', value: 's3cret', op: '=', line: 4 },
      { kind: 'setting', key: 'exten', value: '1,1,Dial(SIP/1001)', op: '=>', line: 5 },
      { kind: 'setting', key: 'allow', value: ',alaw', op: '+=', line: 6 },
      { kind: 'category', name: '1001', line: 7, template: false, append: true, inherits: [] },
      { kind: 'include', target: 'sip_custom.conf', optional: false, line: 8 },
      { kind: 'include', target: 'x.conf', optional: true, line: 9 },
      { kind: 'exec', command: '/bin/echo hi', line: 10 },
      { kind: 'problem', text: 'bad line', line: 11 },
    ]);
  });
});

describe('loadAsteriskConfig', () => {
  it('follows includes relative to /etc/asterisk, in place and with globs, and knows which file set what', async () => {
    const host = await boxWith({
      'etc/asterisk/sip.conf': ['[general]', 'allowguest=yes', '#include sip_general_custom.conf', '#include sip_additional.conf', '#include conf.d/*.conf', '#tryinclude sip_nothere.conf', '#include sip_missing.conf'].join('\n'),
      'etc/asterisk/sip_general_custom.conf': 'allowguest=no ; continues [general]\n',
      'etc/asterisk/sip_additional.conf': ['[1001]', 'type=friend', 'secret=1001', 'host=dynamic'].join('\n'),
      'etc/asterisk/conf.d/b.conf': '[b]\nsecret=bee\n',
      'etc/asterisk/conf.d/a.conf': '[a]\nsecret=ay\n',
      'etc/asterisk/conf.d/.hidden.conf': '[hidden]\n',
      'etc/asterisk/conf.d/c.txt': '[c]\n',
    });
    const config = (await loadAsteriskConfig(host, 'sip.conf'))!;
    expect(config.files).toEqual(['/etc/asterisk/sip.conf', '/etc/asterisk/sip_general_custom.conf', '/etc/asterisk/sip_additional.conf', '/etc/asterisk/conf.d/a.conf', '/etc/asterisk/conf.d/b.conf']);
    const general = categoriesNamed(config, 'general')[0]!;
    // the later value wins, and it was written in the custom file, line 1
    expect(valueOf(effectiveSettings(config, general), 'AllowGuest')).toMatchObject({ value: 'no', file: '/etc/asterisk/sip_general_custom.conf', line: 1 });
    expect(config.categories.map((c) => c.name)).toEqual(['general', '1001', 'a', 'b']);
    expect(valueOf(categoriesNamed(config, '1001')[0]!.settings, 'secret')).toMatchObject({ file: '/etc/asterisk/sip_additional.conf', line: 3 });
    // a missing #include is reported; a missing #tryinclude is not
    expect(config.missing.map((m) => m.target)).toEqual(['sip_missing.conf']);
    expect(await loadAsteriskConfig(host, 'pjsip.conf')).toBeNull();
  });

  it('builds a peer from its templates, in the order named, then its own settings; += appends', async () => {
    const host = await boxWith({
      'etc/asterisk/sip.conf': [
        '[base](!)',
        'type=friend',
        'insecure=port',
        'permit=10.0.0.0/255.0.0.0',
        '[office](!)',
        'insecure=invite',
        'context=from-office',
        '[2001](base,office)',
        'secret=one',
        'context=from-internal',
        'permit=192.0.2.0/255.255.255.0',
        'secret+=two',
        '[2001](+)',
        'host=dynamic',
      ].join('\n'),
    });
    const config = (await loadAsteriskConfig(host, '/etc/asterisk/sip.conf'))!;
    expect(categoriesNamed(config, 'base')).toEqual([]); // a template is not a peer
    const peer = categoriesNamed(config, '2001');
    expect(peer).toHaveLength(1); // (+) continued it
    const settings = effectiveSettings(config, peer[0]!);
    expect(valueOf(settings, 'insecure')?.value).toBe('invite'); // office comes after base
    expect(valueOf(settings, 'context')).toMatchObject({ value: 'from-internal', line: 10 });
    expect(valueOf(settings, 'secret')?.value).toBe('onetwo');
    expect(valueOf(settings, 'host')).toMatchObject({ value: 'dynamic', line: 14 });
    expect(valuesOf(settings, 'permit').map((s) => s.value)).toEqual(['10.0.0.0/255.0.0.0', '192.0.2.0/255.255.255.0']);
    // the inherited value says where it was written: the template's line
    expect(valueOf(settings, 'type')).toMatchObject({ value: 'friend', line: 2 });
  });

  it('never runs #exec, stops an include loop, and reports settings outside any category', async () => {
    const host = await boxWith({
      'etc/asterisk/manager.conf': ['secret=orphan', '[general]', 'enabled=yes', '#exec /bin/touch /tmp/bulwark-exec-ran', '#include manager_loop.conf'].join('\n'),
      'etc/asterisk/manager_loop.conf': '#include manager.conf\n[admin]\nsecret=x\n',
    });
    const config = (await loadAsteriskConfig(host, 'manager.conf'))!;
    expect(config.execs).toEqual([{ file: '/etc/asterisk/manager.conf', line: 4, command: '/bin/touch /tmp/bulwark-exec-ran' }]);
    await expect(fs.access('/tmp/bulwark-exec-ran')).rejects.toThrow();
    expect(config.problems).toEqual([
      { file: '/etc/asterisk/manager.conf', line: 1, text: 'secret = orphan' },
      { file: '/etc/asterisk/manager_loop.conf', line: 1, text: '#include manager.conf: includes itself' },
    ]);
    expect(categoriesNamed(config, 'admin')).toHaveLength(1);
  });
});

describe('globMatches', () => {
  it('matches one file name as the shell does: *, ?, [..], [!..], and never a leading dot', () => {
    expect(globMatches('pjsip.*_additional.conf', 'pjsip.endpoint_additional.conf')).toBe(true);
    expect(globMatches('pjsip.*_additional.conf', 'pjsip.conf')).toBe(false);
    expect(globMatches('sip_[a-c]?.conf', 'sip_b1.conf')).toBe(true);
    expect(globMatches('sip_[!a-c]?.conf', 'sip_b1.conf')).toBe(false);
    expect(globMatches('*.conf', '.hidden.conf')).toBe(false);
    expect(globMatches('a+b(1).conf', 'a+b(1).conf')).toBe(true);
  });
});
