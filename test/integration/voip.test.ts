// The voip step on the three fixture roots (`--root`): what it finds in each PBX's real layout —
// FreePBX's generated files on Elastix, a hand-made sip.conf on the Issabel root, PJSIP and
// A2Billing's AMI user on Debian — with no secret in any output (text or --json); the change goes
// into the file the PBX leaves alone, a second plan has nothing to do, and a rollback gives back the
// tree byte for byte.
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { bulwark } from '../helpers/cli.js';
import { snapshotTree } from '../helpers/fixture.js';
import { cliOutput, fixtureRoots, rootArgs } from '../helpers/fixture-roots.js';

const roots = fixtureRoots();
/** Every secret the fixtures' Asterisk files hold: none may appear in any output. */
const SECRETS = ['elastix456', 'mycode', 'tr4nkS3cret', 'k7Qv2mX9pL', 'secret=100', 'secret = 100'];

function expectNoSecret(text: string): void {
  for (const secret of SECRETS) expect(text, `"${secret}" was shown`).not.toContain(secret);
}

describe('the voip step on fixture roots', () => {
  it('elastix-centos5: finds the stock AMI secret and the weak extension, changes only sip_general_custom.conf, and rolls back byte for byte', async () => {
    const { root, state } = await roots.box('elastix-centos5');
    const g = rootArgs(root, state);
    const pristine = await snapshotTree(root);

    const audit = await bulwark(['audit', '--step', 'voip', '--json', ...g]);
    expect(audit.code, cliOutput(audit)).toBe(0);
    expectNoSecret(cliOutput(audit));
    const findings = (JSON.parse(audit.stdout) as { steps: { findings: { severity: string; title: string; fix: string }[] }[] }).steps[0]!.findings;
    expect(findings.find((f) => f.title.startsWith('AMI user admin'))).toMatchObject({ severity: 'high' });
    expect(findings.find((f) => f.title.startsWith('AMI user admin'))!.title).toContain("a well-known default (Elastix's stock AMI secret)");
    const extension = findings.find((f) => f.title.startsWith('SIP peer 100: weak secret'))!;
    expect(extension.severity).toBe('high');
    expect(extension.fix).toContain('the PBX web interface'); // sip_additional.conf is FreePBX's
    const text = await bulwark(['audit', '--step', 'voip', '--no-color', ...g]);
    expectNoSecret(cliOutput(text));

    const plan = await bulwark(['plan', '--step', 'voip', '--no-color', ...g]);
    expect(plan.code, cliOutput(plan)).toBe(2);
    expectNoSecret(cliOutput(plan));
    expect(plan.stdout).toContain('+++ b/etc/asterisk/sip_general_custom.conf');
    expect(plan.stdout).not.toContain('b/etc/asterisk/sip_additional.conf');
    expect(plan.stdout).not.toContain('b/etc/asterisk/sip_general_additional.conf');

    const applied = await bulwark(['apply', '--step', 'voip', '--yes', ...g]);
    expect(applied.code, cliOutput(applied)).toBe(0);
    expectNoSecret(cliOutput(applied));
    expect(await fs.readFile(path.join(root, 'etc/asterisk/sip_general_custom.conf'), 'utf8')).toMatch(/^useragent=PBX$/m);
    // the generated files are exactly as they were
    const changed = (await snapshotTree(root)).filter((entry) => !pristine.includes(entry));
    expect(changed.every((entry) => entry.includes('etc/asterisk/sip_general_custom.conf')), changed.join('\n')).toBe(true);

    const again = await bulwark(['plan', '--step', 'voip', '--no-color', ...g]);
    expect(again.code, cliOutput(again)).toBe(0);
    expect(again.stdout).toContain('nothing to do');

    expect((await bulwark(['rollback', '--step', 'voip', '--yes', ...g])).code).toBe(0);
    expect(await snapshotTree(root)).toEqual(pristine);
    // and the state directory keeps no secret either
    for (const file of await fs.readdir(state, { recursive: true })) {
      const full = path.join(state, String(file));
      if ((await fs.stat(full)).isFile() && !String(file).includes('objects')) expectNoSecret(await fs.readFile(full, 'utf8'));
    }
  });

  it('issabel-centos7: a hand-made sip.conf gets the three settings in [general]; its diff, which would show peers, is never printed', async () => {
    const { root, state } = await roots.box('issabel-centos7');
    const g = rootArgs(root, state);
    const pristine = await snapshotTree(root);
    const plan = await bulwark(['plan', '--step', 'voip', '--no-color', ...g]);
    expect(plan.code, cliOutput(plan)).toBe(2);
    expectNoSecret(cliOutput(plan));
    const json = await bulwark(['plan', '--step', 'voip', '--json', ...g]);
    expectNoSecret(cliOutput(json));

    expect((await bulwark(['apply', '--step', 'voip', '--yes', ...g])).code).toBe(0);
    const sip = await fs.readFile(path.join(root, 'etc/asterisk/sip.conf'), 'utf8');
    const general = sip.slice(sip.indexOf('[general]'), sip.indexOf('#include'));
    expect(general).toMatch(/^allowguest = no$/m);
    expect(general).toMatch(/^alwaysauthreject = yes$/m);
    expect(general).toMatch(/^useragent = PBX$/m);
    const audit = JSON.parse((await bulwark(['audit', '--step', 'voip', '--json', ...g])).stdout) as { steps: { findings: { title: string }[] }[] };
    expect(audit.steps[0]!.findings.map((f) => f.title).filter((t) => /allowguest|alwaysauthreject|user agent/.test(t))).toEqual([]);
    expect((await bulwark(['rollback', '--step', 'voip', '--yes', ...g])).code).toBe(0);
    expect(await snapshotTree(root)).toEqual(pristine);
  });

  it('debian12-a2billing: PJSIP and A2Billing\'s sample AMI user are reported; with no chan_sip there is nothing to change', async () => {
    const { root, state } = await roots.box('debian12-a2billing');
    const g = rootArgs(root, state);
    const audit = await bulwark(['audit', '--step', 'voip', '--json', ...g]);
    expect(audit.code, cliOutput(audit)).toBe(0);
    expectNoSecret(cliOutput(audit));
    const titles = (JSON.parse(audit.stdout) as { steps: { findings: { severity: string; title: string }[] }[] }).steps[0]!.findings.map((f) => `${f.severity} ${f.title}`);
    expect(titles.some((t) => t.startsWith("high AMI user myasterisk may run commands on the box") && t.includes("A2Billing's sample AMI secret"))).toBe(true);
    expect(titles.some((t) => t.startsWith('medium PJSIP auth carrier: weak secret'))).toBe(true);
    const plan = await bulwark(['plan', '--step', 'voip', '--no-color', ...g]);
    expect(plan.code, cliOutput(plan)).toBe(0);
    expect(plan.stdout).toContain('No sip.conf: chan_sip is not configured');
  });

  it('new secrets for chosen weak peers in a hand-made file: made from a CSPRNG, written, shown once, kept nowhere else', async () => {
    // Given a hand-made peer whose secret is its own extension
    const { root, state } = await roots.box('issabel-centos7');
    await fs.appendFile(path.join(root, 'etc/asterisk/sip.conf'), '\n[2001]\ntype=friend\nhost=dynamic\nsecret=2001\ncontext=from-internal\n');
    const g = rootArgs(root, state);
    const pristine = await snapshotTree(root);
    const answers = path.join(await roots.temp('bulwark-answers-'), 'a.json');
    await fs.writeFile(answers, JSON.stringify({ voip: { allowGuests: false, newSecrets: ['2001'] } }));

    const plan = await bulwark(['plan', '--step', 'voip', '--answers', answers, '--json', ...g]);
    expect(plan.code, cliOutput(plan)).toBe(2);
    expect(plan.stdout).toContain('a new secret for 2001');

    const applied = await bulwark(['apply', '--step', 'voip', '--yes', '--answers', answers, '--no-color', ...g]);
    expect(applied.code, cliOutput(applied)).toBe(0);
    // shown once, after the apply
    const shown = /^ {2}2001: ([A-Za-z2-9]{24})$/m.exec(applied.stdout)?.[1];
    expect(shown, applied.stdout).toBeDefined();
    expect(applied.stdout).toContain('shown this once, kept nowhere by bulwark');
    // written where the peer is, in place of the old one
    const sip = await fs.readFile(path.join(root, 'etc/asterisk/sip.conf'), 'utf8');
    expect(sip).toMatch(new RegExp(`^secret=${shown}$`, 'm')); // in place of the old line
    expect(sip).not.toMatch(/^secret=2001$/m);
    // and nowhere in bulwark's state (journal, snapshots, guard): the answers hold the peer's name only
    for (const file of await fs.readdir(state, { recursive: true })) {
      const full = path.join(state, String(file));
      if ((await fs.stat(full)).isFile()) expect(await fs.readFile(full, 'utf8'), String(file)).not.toContain(shown!);
    }
    expect(JSON.parse(await fs.readFile(path.join(state, 'session.json'), 'utf8')).answers.voip).toEqual({ allowGuests: false, newSecrets: ['2001'] });
    // the weak secret is gone from the audit
    const audit = await bulwark(['audit', '--step', 'voip', '--json', ...g]);
    expect(audit.stdout).not.toContain('SIP peer 2001: weak secret');
    expect(audit.stdout).not.toContain(shown!);

    expect((await bulwark(['rollback', '--step', 'voip', '--yes', ...g])).code).toBe(0);
    expect(await snapshotTree(root)).toEqual(pristine);
  });

  it('limits extensions open to any address to the networks the admin names (voip.permit), once', async () => {
    const { root, state } = await roots.box('issabel-centos7');
    await fs.appendFile(path.join(root, 'etc/asterisk/sip.conf'), '\n[2002]\ntype=friend\nhost=dynamic\nsecret=Xq7vLm2Rt9Wp4KsZ\n\n[trunk]\ntype=peer\nhost=198.51.100.20\n');
    const g = rootArgs(root, state);
    const pristine = await snapshotTree(root);
    const answers = path.join(await roots.temp('bulwark-answers-'), 'a.json');
    await fs.writeFile(answers, JSON.stringify({ voip: { allowGuests: false, permit: ['192.0.2.0/24', '2001:db8::/32'] } }));
    const applied = await bulwark(['apply', '--step', 'voip', '--yes', '--answers', answers, ...g]);
    expect(applied.code, cliOutput(applied)).toBe(0);
    const sip = await fs.readFile(path.join(root, 'etc/asterisk/sip.conf'), 'utf8');
    // the extension: everyone denied, then the networks, in the form every chan_sip reads; the trunk untouched
    expect(sip).toContain('[2002]\ntype=friend\nhost=dynamic\nsecret=Xq7vLm2Rt9Wp4KsZ\ndeny=0.0.0.0/0.0.0.0\npermit=192.0.2.0/255.255.255.0\npermit=2001:db8::/32\n');
    expect(sip).toContain('[trunk]\ntype=peer\nhost=198.51.100.20\n');
    const again = await bulwark(['plan', '--step', 'voip', '--answers', answers, '--no-color', ...g]);
    expect(again.stdout, cliOutput(again)).toContain('nothing to do');
    expect((await bulwark(['rollback', '--step', 'voip', '--yes', ...g])).code).toBe(0);
    expect(await snapshotTree(root)).toEqual(pristine);
    // a wrong network names the field
    await fs.writeFile(answers, JSON.stringify({ voip: { allowGuests: false, permit: ['192.0.2.0/33'] } }));
    const bad = await bulwark(['apply', '--step', 'voip', '--yes', '--answers', answers, ...g]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/voip\.permit\[0\]: expected an IPv4 or IPv6 address or CIDR/);
  });

  it('guests off in IAX2 and PJSIP too: the [guest] user and the anonymous endpoint commented out in hand-made files, each module reloaded', async () => {
    const { root, state } = await roots.box('debian12-a2billing');
    await fs.appendFile(path.join(root, 'etc/asterisk/iax.conf'), '\n[guest]\ntype=user\ncontext=from-guest\n');
    await fs.appendFile(path.join(root, 'etc/asterisk/pjsip.conf'), '\n[anonymous]\ntype=endpoint\ncontext=from-guest\n');
    const g = rootArgs(root, state);
    const pristine = await snapshotTree(root);
    const audit = await bulwark(['audit', '--step', 'voip', '--json', ...g]);
    expect(audit.stdout).toContain('IAX2 has a [guest] user');
    expect(audit.stdout).toContain('PJSIP has an \\"anonymous\\" endpoint');

    const plan = await bulwark(['plan', '--step', 'voip', '--no-color', ...g]);
    expect(plan.code, cliOutput(plan)).toBe(2);
    expect(plan.stdout).toContain('asterisk -rx iax2 reload');
    expect(plan.stdout).toContain('asterisk -rx module reload res_pjsip.so');
    expect(plan.stdout).not.toContain('sip reload  ');
    expectNoSecret(cliOutput(plan));

    expect((await bulwark(['apply', '--step', 'voip', '--yes', ...g])).code).toBe(0);
    expect(await fs.readFile(path.join(root, 'etc/asterisk/iax.conf'), 'utf8')).toContain('; off by bulwark: [guest]\n; off by bulwark: type=user\n; off by bulwark: context=from-guest\n');
    expect(await fs.readFile(path.join(root, 'etc/asterisk/pjsip.conf'), 'utf8')).toContain('; off by bulwark: [anonymous]\n');
    const after = await bulwark(['audit', '--step', 'voip', '--json', ...g]);
    expect(after.stdout).not.toContain('IAX2 has a [guest] user');
    expect(after.stdout).not.toContain('anonymous');
    expect((await bulwark(['plan', '--step', 'voip', '--no-color', ...g])).stdout).toContain('nothing to do');
    expect((await bulwark(['rollback', '--step', 'voip', '--yes', ...g])).code).toBe(0);
    expect(await snapshotTree(root)).toEqual(pristine);
  });

  it('elastix-centos5 with a hand-made peer in sip_custom.conf: its new secret and ACL go there, FreePBX\'s peers are only reported', async () => {
    const { root, state } = await roots.box('elastix-centos5');
    await fs.appendFile(path.join(root, 'etc/asterisk/sip_custom.conf'), '[3001]\ntype=friend\nhost=dynamic\nsecret=3001\ncontext=from-internal\n');
    const g = rootArgs(root, state);
    const pristine = await snapshotTree(root);
    const audit = JSON.parse((await bulwark(['audit', '--step', 'voip', '--json', ...g])).stdout) as { steps: { findings: { title: string; fix: string }[] }[] };
    const handMade = audit.steps[0]!.findings.find((f) => f.title.startsWith('SIP peer 3001: weak secret'))!;
    expect(handMade.title).toContain('/etc/asterisk/sip_custom.conf:5');
    expect(handMade.fix).toContain('the step can make one');
    const answers = path.join(await roots.temp('bulwark-answers-'), 'a.json');
    await fs.writeFile(answers, JSON.stringify({ voip: { allowGuests: false, newSecrets: ['3001'], permit: ['198.51.100.0/24'] } }));
    const applied = await bulwark(['apply', '--step', 'voip', '--yes', '--answers', answers, '--no-color', ...g]);
    expect(applied.code, cliOutput(applied)).toBe(0);
    const shown = /^ {2}3001: ([A-Za-z2-9]{24})$/m.exec(applied.stdout)?.[1];
    expect(shown, applied.stdout).toBeDefined();
    expect(await fs.readFile(path.join(root, 'etc/asterisk/sip_custom.conf'), 'utf8')).toBe(`;\n[3001]\ntype=friend\nhost=dynamic\nsecret=${shown}\ncontext=from-internal\ndeny=0.0.0.0/0.0.0.0\npermit=198.51.100.0/255.255.255.0\n`);
    const changed = (await snapshotTree(root)).filter((entry) => !pristine.includes(entry));
    expect(changed.every((entry) => /etc\/asterisk\/sip_(custom|general_custom)\.conf/.test(entry)), changed.join('\n')).toBe(true);
    expect((await bulwark(['rollback', '--step', 'voip', '--yes', ...g])).code).toBe(0);
    expect(await snapshotTree(root)).toEqual(pristine);
  });

  it('issabel-centos7 with PJSIP beside chan_sip: IssabelPBX\'s generated pjsip.*.conf are read and reported, never edited', async () => {
    const { root, state } = await roots.box('issabel-centos7');
    const generated = '; Do NOT edit this file as it is auto-generated by FreePBX.\n';
    await fs.writeFile(path.join(root, 'etc/asterisk/pjsip.conf'), '#include pjsip.transports.conf\n#include pjsip.endpoint.conf\n#include pjsip.auth.conf\n#tryinclude pjsip_custom.conf\n');
    await fs.writeFile(path.join(root, 'etc/asterisk/pjsip.transports.conf'), `${generated}[0.0.0.0-udp]\ntype=transport\nprotocol=udp\nbind=0.0.0.0:5061\n`);
    await fs.writeFile(path.join(root, 'etc/asterisk/pjsip.endpoint.conf'), `${generated}[anonymous]\ntype=endpoint\ncontext=from-pstn\n[4001]\ntype=endpoint\nauth=4001-auth\ncontext=from-internal\n`);
    await fs.writeFile(path.join(root, 'etc/asterisk/pjsip.auth.conf'), `${generated}[4001-auth]\ntype=auth\nusername=4001\npassword=4001\n`);
    const g = rootArgs(root, state);
    const audit = await bulwark(['audit', '--step', 'voip', '--json', ...g]);
    expect(audit.code, cliOutput(audit)).toBe(0);
    const findings = (JSON.parse(audit.stdout) as { steps: { findings: { severity: string; title: string; fix: string }[] }[] }).steps[0]!.findings;
    expect(findings.find((f) => f.title.startsWith('PJSIP auth 4001-auth: weak secret'))).toMatchObject({ severity: 'high' });
    expect(findings.find((f) => f.title.startsWith('PJSIP auth 4001-auth'))!.fix).toContain('the PBX web interface');
    expect(findings.some((f) => f.title.startsWith('PJSIP has an "anonymous" endpoint at /etc/asterisk/pjsip.endpoint.conf:2'))).toBe(true);
    expect(audit.stdout).not.toContain('password=4001');
    // chan_sip's sip.conf is still the one edited; the generated PJSIP files are not touched
    const plan = await bulwark(['plan', '--step', 'voip', '--no-color', ...g]);
    expect(plan.stdout).toContain('+++ b/etc/asterisk/sip.conf');
    expect(plan.stdout).not.toContain('pjsip.endpoint.conf\n');
    expect(plan.stdout).not.toContain('res_pjsip');
  });

  it('refuses new secrets for a peer FreePBX generates, naming the field and the peers it accepts', async () => {
    const { root, state } = await roots.box('elastix-centos5');
    const answers = path.join(await roots.temp('bulwark-answers-'), 'a.json');
    await fs.writeFile(answers, JSON.stringify({ voip: { allowGuests: false, newSecrets: ['100'] } }));
    const pristine = await snapshotTree(root);
    const result = await bulwark(['apply', '--step', 'voip', '--yes', '--answers', answers, ...rootArgs(root, state)]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('voip.newSecrets: "100" is not a chan_sip peer with a weak secret in a file bulwark may edit (accepted: none on this box)');
    expect(await snapshotTree(root)).toEqual(pristine);
  });

  it('refuses a wrong answer naming the field, changing nothing', async () => {
    const { root, state } = await roots.box('elastix-centos5');
    const answers = path.join(await roots.temp('bulwark-answers-'), 'a.json');
    await fs.writeFile(answers, JSON.stringify({ voip: { allowGuests: 'no' } }));
    const pristine = await snapshotTree(root);
    const result = await bulwark(['apply', '--step', 'voip', '--yes', '--answers', answers, ...rootArgs(root, state)]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/voip\.allowGuests: expected true or false/);
    expect(await snapshotTree(root)).toEqual(pristine);
  });
});
