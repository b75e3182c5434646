// Which SIP trunks the firewall exempts from the SIP limit, read from Asterisk's files as Asterisk
// reads them (includes and globs, comments), and the addresses a trunk's host name has on the box.
import { tempRoots } from '../helpers/temp-root.js';
import { describe, expect, it } from 'vitest';
import { Host } from '../../src/host.js';
import { readTrunks, resolveTrunks, sipTrunks } from '../../steps/firewall/trunks.js';

const { rootWith } = tempRoots('bulwark-trunks-');

describe('sipTrunks', () => {
  it('takes chan_sip peers with a fixed host, PJSIP contacts and identify matches; not phones, not [general], not comments', () => {
    const sip = [
      '[general]',
      'host=198.51.100.99 ; not a peer',
      '[carrier]',
      'type=peer',
      'host=sip.carrier.example.net ; our carrier',
      '[phone]',
      'host=dynamic',
      '[local]',
      'host=127.0.0.1',
      ';[old]',
      ';host=198.51.100.50',
      ';-- a block comment',
      '[olden]',
      'host=198.51.100.51',
      '--;',
      '[backup](!)',
      'host=198.51.100.60',
      'host=198.51.100.61',
    ].join('\n');
    const pjsip = '[carrier]\ntype=aor\ncontact=sip:198.51.100.20:5060\n[carrier-identify]\ntype=identify\nmatch=198.51.100.0/28, 203.0.113.9\n[v6]\ntype=aor\ncontact=sip:user@[2001:db8::5]:5060\n';
    expect(sipTrunks(sip, pjsip).map((t) => `${t.file} ${t.name} ${t.host}`)).toEqual([
      'sip.conf carrier sip.carrier.example.net',
      // the last host= of a section is the one Asterisk uses
      'sip.conf backup 198.51.100.61',
      'pjsip.conf carrier 198.51.100.20',
      'pjsip.conf carrier-identify 198.51.100.0/28',
      'pjsip.conf carrier-identify 203.0.113.9',
      'pjsip.conf v6 2001:db8::5',
    ]);
    expect(sipTrunks(null, null)).toEqual([]);
  });
});

describe('readTrunks', () => {
  it('follows #include and #tryinclude, relative to /etc/asterisk, with globs, as FreePBX lays the files out', async () => {
    const root = await rootWith({
      'etc/asterisk/sip.conf': '[general]\nbindport=5060\n#include sip_general_additional.conf\n#include "sip_additional.conf"\n#tryinclude sip_missing.conf\n',
      'etc/asterisk/sip_general_additional.conf': 'externip=203.0.113.1\n',
      'etc/asterisk/sip_additional.conf': '[trunk-a]\ntype=peer\nhost=198.51.100.20\n',
      'etc/asterisk/pjsip.conf': '#include pjsip.*.conf\n',
      'etc/asterisk/pjsip.aor.conf': '[trunk-b]\ntype=aor\ncontact=sip:198.51.100.30\n',
      'etc/asterisk/pjsip.identify.conf': '[trunk-b]\ntype=identify\nmatch=198.51.100.31\n',
      'etc/asterisk/pjsip_custom.conf': '[not-included]\ntype=aor\ncontact=sip:198.51.100.99\n',
    });
    const trunks = await readTrunks(new Host(root));
    expect(trunks.map((t) => `${t.name} ${t.host}`)).toEqual(['trunk-a 198.51.100.20', 'trunk-b 198.51.100.30', 'trunk-b 198.51.100.31']);
  });
});

describe('resolveTrunks', () => {
  it('takes addresses as they are, and looks names up only on the live box', async () => {
    const root = await rootWith({});
    const offline = await resolveTrunks(new Host(root), [
      { name: 'a', host: '198.51.100.20', file: 'sip.conf' },
      { name: 'b', host: 'sip.carrier.example.net', file: 'sip.conf' },
    ]);
    expect(offline[0]).toMatchObject({ addresses: ['198.51.100.20'] });
    expect(offline[0]!.problem).toBeUndefined();
    expect(offline[1]).toMatchObject({ addresses: [], problem: 'a host name: not looked up under --root' });
  });

  it('on the live box, resolves a name with getent (here: localhost, from /etc/hosts)', async () => {
    const [trunk] = await resolveTrunks(new Host('/'), [{ name: 'lo', host: 'localhost', file: 'pjsip.conf' }]);
    expect(trunk!.addresses).toContain('127.0.0.1');
    expect(trunk!.problem).toBeUndefined();
  });
});
