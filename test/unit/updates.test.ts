// The updates step's pure parts: the shipped end-of-support dates, which release a box is from its
// files, the security updates in real apt-get output, and the apt configuration bulwark writes.
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { Host } from '../../src/host.js';
import { detectSystem, type SystemFacts } from '../../src/system.js';
import { END_OF_SUPPORT, endOfLifeWarning, releaseKey, supportStatus } from '../../steps/updates/eol.js';
import { parseAptSecurity, parseYumSecurity } from '../../steps/updates/pending.js';
import { originPatterns, periodicOn, renderOrigins, renderPeriodic, SECURITY_PATTERNS } from '../../steps/updates/index.js';

const made: string[] = [];
afterAll(async () => {
  for (const dir of made) await fs.rm(dir, { recursive: true, force: true });
});

/** A root holding only these files, and the distribution src/system.ts reads from it. */
async function distroOf(files: Record<string, string>): Promise<SystemFacts['distro']> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'bulwark-updates-'));
  made.push(root);
  for (const [file, text] of Object.entries(files)) {
    await fs.mkdir(path.dirname(path.join(root, file)), { recursive: true });
    await fs.writeFile(path.join(root, file), text);
  }
  return (await detectSystem(new Host(root))).distro;
}

describe('end-of-support data', () => {
  it('every date is a real calendar day, and the releases bulwark is used on have theirs', () => {
    for (const [key, entry] of Object.entries(END_OF_SUPPORT)) {
      expect(entry.endOfSupport, key).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      expect(new Date(`${entry.endOfSupport}T00:00:00Z`).toISOString().slice(0, 10), key).toBe(entry.endOfSupport);
    }
    expect(END_OF_SUPPORT['centos:5']?.endOfSupport).toBe('2017-03-31');
    expect(END_OF_SUPPORT['centos:6']?.endOfSupport).toBe('2020-11-30');
    expect(END_OF_SUPPORT['centos:7']?.endOfSupport).toBe('2024-06-30');
    expect(END_OF_SUPPORT['debian:11']?.endOfSupport).toBe('2026-08-31');
    expect(END_OF_SUPPORT['debian:12']?.endOfSupport).toBe('2028-06-30');
    expect(END_OF_SUPPORT['rocky:9']?.endOfSupport).toBe('2032-05-31');
  });

  it('a later release of a distribution never ends before an earlier one (a typo in a year shows here)', () => {
    const byDistro = new Map<string, { version: number; end: string }[]>();
    for (const [key, entry] of Object.entries(END_OF_SUPPORT)) {
      const [distro, version] = key.split(':');
      if (distro === 'centos') continue; // CentOS 8 was cut short, before CentOS 7's end
      byDistro.set(distro!, [...(byDistro.get(distro!) ?? []), { version: Number(version), end: entry.endOfSupport }]);
    }
    for (const [distro, releases] of byDistro) {
      const sorted = [...releases].sort((a, b) => a.version - b.version);
      for (let i = 1; i < sorted.length; i++) expect(sorted[i]!.end > sorted[i - 1]!.end, `${distro} ${sorted[i]!.version}`).toBe(true);
    }
  });

  it('the end date is the last supported day: past from the day after', async () => {
    const centos7 = await distroOf({ '/etc/redhat-release': 'CentOS Linux release 7.9.2009 (Core)\n' });
    expect(supportStatus(centos7, '2024-06-30')).toMatchObject({ past: false, daysLeft: 0 });
    expect(supportStatus(centos7, '2024-07-01')).toMatchObject({ past: true, daysLeft: -1 });
    expect(endOfLifeWarning(centos7, '2024-06-30')).toBeNull();
    expect(endOfLifeWarning(centos7, '2026-12-03')).toBe('CentOS 7 has had no security updates since 2024-06-30: hardening helps, but plan a migration to Rocky Linux or AlmaLinux 9.');
  });

  it('an unknown release has no date and no warning, rather than a guessed one', async () => {
    const fedora = await distroOf({ '/etc/os-release': 'ID=fedora\nVERSION_ID=40\nPRETTY_NAME="Fedora Linux 40"\n' });
    expect(releaseKey(fedora)).toBeNull();
    expect(supportStatus(fedora, '2030-01-01')).toEqual({ entry: null, past: false, daysLeft: null });
    expect(endOfLifeWarning(fedora, '2030-01-01')).toBeNull();
  });
});

describe('which release a box is, from its files', () => {
  it.each([
    [{ '/etc/redhat-release': 'CentOS release 5.11 (Final)\n' }, 'centos:5'],
    [{ '/etc/redhat-release': 'CentOS release 6.10 (Final)\n' }, 'centos:6'],
    [{ '/etc/redhat-release': 'CentOS Linux release 7.9.2009 (Core)\n' }, 'centos:7'],
    [{ '/etc/redhat-release': 'Rocky Linux release 9.3 (Blue Onyx)\n' }, 'rocky:9'],
    [{ '/etc/redhat-release': 'AlmaLinux release 8.9 (Midnight Oncilla)\n' }, 'almalinux:8'],
    [{ '/etc/redhat-release': 'Red Hat Enterprise Linux Server release 7.9 (Maipo)\n' }, 'rhel:7'],
    [{ '/etc/os-release': 'NAME="CentOS Linux"\nVERSION="7 (Core)"\nID="centos"\nID_LIKE="rhel fedora"\nVERSION_ID="7"\nPRETTY_NAME="CentOS Linux 7 (Core)"\n' }, 'centos:7'],
    [{ '/etc/os-release': 'NAME="CentOS Stream"\nVERSION="9"\nID="centos"\nID_LIKE="rhel fedora"\nVERSION_ID="9"\nPRETTY_NAME="CentOS Stream 9"\n' }, 'centos-stream:9'],
    [{ '/etc/os-release': 'NAME="Rocky Linux"\nVERSION="9.3 (Blue Onyx)"\nID="rocky"\nID_LIKE="rhel centos fedora"\nVERSION_ID="9.3"\nPRETTY_NAME="Rocky Linux 9.3 (Blue Onyx)"\n' }, 'rocky:9'],
    [{ '/etc/os-release': 'NAME="AlmaLinux"\nID="almalinux"\nID_LIKE="rhel centos fedora"\nVERSION_ID="8.9"\nPRETTY_NAME="AlmaLinux 8.9 (Midnight Oncilla)"\n' }, 'almalinux:8'],
    [{ '/etc/os-release': 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nID=debian\n' }, 'debian:12'],
    [{ '/etc/os-release': 'NAME="Ubuntu"\nVERSION_ID="22.04"\nID=ubuntu\nID_LIKE=debian\nPRETTY_NAME="Ubuntu 22.04.4 LTS"\n' }, 'ubuntu:22.04'],
    // An old Debian without os-release: the major version from debian_version.
    [{ '/etc/debian_version': '7.11\n' }, 'debian:7'],
  ])('%j is %s', async (files, key) => {
    const distro = await distroOf(files);
    expect(releaseKey(distro)).toBe(key);
    expect(supportStatus(distro, '2026-12-03').entry).not.toBeNull();
  });
});

// Captured from `apt-get -s -q dist-upgrade` on a Debian 12 machine (bookworm is oldstable there).
const APT_SIMULATION = `NOTE: This is only a simulation!
      apt-get needs root privileges for real execution.
Reading package lists...
Building dependency tree...
Reading state information...
Calculating upgrade...
The following packages will be upgraded:
  base-files bash libgcrypt20 libgcrypt20-dev liblzma5 libnghttp2-14 libpam0g libssl3
8 upgraded, 0 newly installed, 0 to remove and 0 not upgraded.
Inst base-files [12.4+deb12u11] (12.4+deb12u15 Debian:12.15/oldstable [amd64])
Conf base-files (12.4+deb12u15 Debian:12.15/oldstable [amd64])
Inst bash [5.2.15-2+b8] (5.2.15-2+b13 Debian:12.15/oldstable [amd64])
Conf bash (5.2.15-2+b13 Debian:12.15/oldstable [amd64])
Inst libgcrypt20-dev [1.10.1-3] (1.10.1-3+deb12u1 Debian:12.15/oldstable, Debian-Security:12/oldstable-security [amd64]) []
Inst libgcrypt20 [1.10.1-3] (1.10.1-3+deb12u1 Debian:12.15/oldstable, Debian-Security:12/oldstable-security [amd64])
Conf libgcrypt20 (1.10.1-3+deb12u1 Debian:12.15/oldstable, Debian-Security:12/oldstable-security [amd64])
Inst liblzma5 [5.4.1-1] (5.4.1-1+deb12u2 Debian-Security:12/oldstable-security [amd64])
Conf liblzma5 (5.4.1-1+deb12u2 Debian-Security:12/oldstable-security [amd64])
Inst libpam0g [1.5.2-6+deb12u1] (1.5.2-6+deb12u3 Debian-Security:12/oldstable-security [amd64]) []
Conf libpam0g (1.5.2-6+deb12u3 Debian-Security:12/oldstable-security [amd64]) []
Inst libssl3 [3.0.19-1~deb12u2] (3.0.22-1~deb12u2 Debian-Security:12/oldstable-security [amd64]) []
Conf libssl3 (3.0.22-1~deb12u2 Debian-Security:12/oldstable-security [amd64]) []
Inst libnghttp2-14 [1.52.0-1+deb12u2] (1.52.0-1+deb12u3 Debian:12.15/oldstable, Debian-Security:12/oldstable-security [amd64])
Conf libgcrypt20-dev (1.10.1-3+deb12u1 Debian:12.15/oldstable, Debian-Security:12/oldstable-security [amd64])
Conf libnghttp2-14 (1.52.0-1+deb12u3 Debian:12.15/oldstable, Debian-Security:12/oldstable-security [amd64])
`;

describe('pending security updates', () => {
  it('apt: the packages offered from a security archive, each once; point-release updates are not counted', () => {
    expect(parseAptSecurity(APT_SIMULATION)).toEqual(['libgcrypt20-dev', 'libgcrypt20', 'liblzma5', 'libpam0g', 'libssl3', 'libnghttp2-14']);
  });

  it('apt: Ubuntu\'s security pocket and a new package (no old version) count too; nothing pending is 0', () => {
    const ubuntu = 'Inst openssl [3.0.2-0ubuntu1.14] (3.0.2-0ubuntu1.15 Ubuntu:22.04/jammy-updates, Ubuntu:22.04/jammy-security [amd64])\nInst linux-image-5.15.0-101 (5.15.0-101.111 Ubuntu:22.04/jammy-security [amd64])\nInst tzdata [2024a-0ubuntu0.22.04] (2024a-0ubuntu0.22.04.1 Ubuntu:22.04/jammy-updates [all])\n';
    expect(parseAptSecurity(ubuntu)).toEqual(['openssl', 'linux-image-5.15.0-101']);
    expect(parseAptSecurity('Reading package lists...\n0 upgraded, 0 newly installed, 0 to remove and 0 not upgraded.\n')).toEqual([]);
  });

  it('yum: the packages of security advisories, by name', () => {
    const output = 'RHSA-2024:1234 Important/Sec. openssl-libs-1:1.0.2k-26.el7_9.x86_64\nRHSA-2024:1234 Important/Sec. openssl-1:1.0.2k-26.el7_9.x86_64\nRHSA-2024:2001 Moderate/Sec.  kernel-3.10.0-1160.119.1.el7.x86_64\nFEDORA-2024-1 bugfix foo-1.0-1.fc40.noarch\nupdateinfo list done\n';
    expect(parseYumSecurity(output)).toEqual(['openssl-libs', 'openssl', 'kernel']);
  });
});

describe('the apt configuration bulwark writes', () => {
  it('20auto-upgrades: both settings at "1", other lines kept, a file already on left as it is', () => {
    expect(renderPeriodic(null)).toBe('APT::Periodic::Update-Package-Lists "1";\nAPT::Periodic::Unattended-Upgrade "1";\n');
    const off = 'APT::Periodic::Update-Package-Lists "1";\nAPT::Periodic::Unattended-Upgrade "0";\nAPT::Periodic::AutocleanInterval "7";\n';
    expect(periodicOn(off)).toBe(false);
    const on = renderPeriodic(off);
    expect(on).toBe('APT::Periodic::Update-Package-Lists "1";\nAPT::Periodic::Unattended-Upgrade "1";\nAPT::Periodic::AutocleanInterval "7";\n');
    expect(periodicOn(on)).toBe(true);
    expect(renderPeriodic(on)).toBe(on);
  });

  it('the origins file clears the package\'s list and names the security archive only', () => {
    const text = renderOrigins();
    expect(text).toMatch(/^#clear Unattended-Upgrade::Origins-Pattern;$/m);
    for (const pattern of SECURITY_PATTERNS) expect(pattern).toMatch(/label=Debian-Security/);
    // apt-config dump's form of the result, as the e2e test reads it in a box
    const dump = 'Unattended-Upgrade "";\nUnattended-Upgrade::Origins-Pattern "";\nUnattended-Upgrade::Origins-Pattern:: "origin=Debian,codename=${distro_codename}-security,label=Debian-Security";\n';
    expect(originPatterns(dump)).toEqual(['origin=Debian,codename=${distro_codename}-security,label=Debian-Security']);
  });

  // apt's own reading: the package's 50unattended-upgrades (which also lists the main archive) and
  // bulwark's file after it, in a parts directory of their own.
  it('apt-config: with bulwark\'s file after the package\'s, only the security patterns remain', async () => {
    if (!existsSync('/etc/apt/apt.conf.d/50unattended-upgrades')) throw new Error('missing /etc/apt/apt.conf.d/50unattended-upgrades (Debian package unattended-upgrades); `npm test` installs it as root on Debian.');
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bulwark-aptconf-'));
    made.push(dir);
    await fs.mkdir(path.join(dir, 'parts'));
    await fs.copyFile('/etc/apt/apt.conf.d/50unattended-upgrades', path.join(dir, 'parts', '50unattended-upgrades'));
    await fs.writeFile(path.join(dir, 'apt.conf'), `Dir::Etc::parts "${dir}/parts";\n`);
    const dump = () => execFileSync('apt-config', ['dump'], { env: { ...process.env, APT_CONFIG: path.join(dir, 'apt.conf') }, encoding: 'utf8' });
    expect(originPatterns(dump()).some((p) => !p.includes('Debian-Security'))).toBe(true);
    await fs.writeFile(path.join(dir, 'parts', '52bulwark-unattended-upgrades'), renderOrigins());
    expect(originPatterns(dump())).toEqual([...SECURITY_PATTERNS]);
  });
});
