// When each distribution release stops getting security updates: data bulwark ships, so that the
// answer needs no network and costs nothing (the wizard's first screen shows it). The date is the
// last day security fixes are published for free by the distribution itself: Debian's LTS end,
// Ubuntu's end of standard support (ESM is a paid/registered extra), RHEL's end of maintenance.
// Each date names its source; update the table when a distribution announces a new date.
import type { SystemFacts } from '../../src/system.js';

export interface EolEntry {
  /** "CentOS 7", "Debian 12": how the admin knows the release. */
  readonly release: string;
  /** Last day with security updates, YYYY-MM-DD (UTC). */
  readonly endOfSupport: string;
  /** What to move to. */
  readonly successor: string;
}

type Key = `${'centos' | 'centos-stream' | 'rhel' | 'rocky' | 'almalinux' | 'debian' | 'ubuntu'}:${string}`;

export const END_OF_SUPPORT: Readonly<Record<Key, EolEntry>> = {
  // CentOS Linux: https://endoflife.date/centos and the CentOS wiki (About/Product). CentOS 8 was cut
  // short to 2021-12-31 (announced 2020-12-08).
  'centos:5': { release: 'CentOS 5', endOfSupport: '2017-03-31', successor: 'Rocky Linux or AlmaLinux 9' },
  'centos:6': { release: 'CentOS 6', endOfSupport: '2020-11-30', successor: 'Rocky Linux or AlmaLinux 9' },
  'centos:7': { release: 'CentOS 7', endOfSupport: '2024-06-30', successor: 'Rocky Linux or AlmaLinux 9' },
  'centos:8': { release: 'CentOS 8', endOfSupport: '2021-12-31', successor: 'Rocky Linux or AlmaLinux 9' },
  // CentOS Stream: https://endoflife.date/centos-stream (end of RHEL's full support phase).
  'centos-stream:8': { release: 'CentOS Stream 8', endOfSupport: '2024-05-31', successor: 'Rocky Linux or AlmaLinux 9' },
  'centos-stream:9': { release: 'CentOS Stream 9', endOfSupport: '2027-05-31', successor: 'CentOS Stream 10, or Rocky Linux / AlmaLinux 9' },
  // RHEL: https://access.redhat.com/support/policy/updates/errata (end of maintenance support;
  // the paid Extended Life Cycle Support is not counted).
  'rhel:5': { release: 'Red Hat Enterprise Linux 5', endOfSupport: '2017-03-31', successor: 'RHEL 9' },
  'rhel:6': { release: 'Red Hat Enterprise Linux 6', endOfSupport: '2020-11-30', successor: 'RHEL 9' },
  'rhel:7': { release: 'Red Hat Enterprise Linux 7', endOfSupport: '2024-06-30', successor: 'RHEL 9' },
  'rhel:8': { release: 'Red Hat Enterprise Linux 8', endOfSupport: '2029-05-31', successor: 'RHEL 9' },
  'rhel:9': { release: 'Red Hat Enterprise Linux 9', endOfSupport: '2032-05-31', successor: 'RHEL 10' },
  // Rocky Linux: https://wiki.rockylinux.org/rocky/version/ ("End of Life" column).
  'rocky:8': { release: 'Rocky Linux 8', endOfSupport: '2029-05-31', successor: 'Rocky Linux 9' },
  'rocky:9': { release: 'Rocky Linux 9', endOfSupport: '2032-05-31', successor: 'Rocky Linux 10' },
  // AlmaLinux: https://wiki.almalinux.org/release-notes/ and https://endoflife.date/almalinux
  // (security support).
  'almalinux:8': { release: 'AlmaLinux 8', endOfSupport: '2029-03-01', successor: 'AlmaLinux 9' },
  'almalinux:9': { release: 'AlmaLinux 9', endOfSupport: '2032-05-31', successor: 'AlmaLinux 10' },
  // Debian: end of LTS, https://wiki.debian.org/LTS and https://endoflife.date/debian (Debian 11:
  // the LTS team's announcement of 2024-06-10, "until August 31, 2026"; 12 and 13: five years, to
  // the 30 June the LTS team plans).
  'debian:6': { release: 'Debian 6 (squeeze)', endOfSupport: '2016-02-29', successor: 'Debian 12' },
  'debian:7': { release: 'Debian 7 (wheezy)', endOfSupport: '2018-05-31', successor: 'Debian 12' },
  'debian:8': { release: 'Debian 8 (jessie)', endOfSupport: '2020-06-30', successor: 'Debian 12' },
  'debian:9': { release: 'Debian 9 (stretch)', endOfSupport: '2022-06-30', successor: 'Debian 12' },
  'debian:10': { release: 'Debian 10 (buster)', endOfSupport: '2024-06-30', successor: 'Debian 12' },
  'debian:11': { release: 'Debian 11 (bullseye)', endOfSupport: '2026-08-31', successor: 'Debian 12 or 13' },
  'debian:12': { release: 'Debian 12 (bookworm)', endOfSupport: '2028-06-30', successor: 'Debian 13' },
  'debian:13': { release: 'Debian 13 (trixie)', endOfSupport: '2030-06-30', successor: 'Debian 14' },
  // Ubuntu LTS: end of standard support, https://ubuntu.com/about/release-cycle (given by month:
  // the last day of that month is used).
  'ubuntu:14.04': { release: 'Ubuntu 14.04 LTS', endOfSupport: '2019-04-30', successor: 'Ubuntu 24.04 LTS' },
  'ubuntu:16.04': { release: 'Ubuntu 16.04 LTS', endOfSupport: '2021-04-30', successor: 'Ubuntu 24.04 LTS' },
  'ubuntu:18.04': { release: 'Ubuntu 18.04 LTS', endOfSupport: '2023-05-31', successor: 'Ubuntu 24.04 LTS' },
  'ubuntu:20.04': { release: 'Ubuntu 20.04 LTS', endOfSupport: '2025-05-31', successor: 'Ubuntu 24.04 LTS' },
  'ubuntu:22.04': { release: 'Ubuntu 22.04 LTS', endOfSupport: '2027-06-30', successor: 'Ubuntu 24.04 LTS' },
  'ubuntu:24.04': { release: 'Ubuntu 24.04 LTS', endOfSupport: '2029-06-30', successor: 'Ubuntu 26.04 LTS' },
};

/** The release's key in the table from what src/system.ts read (os-release or redhat-release). */
export function releaseKey(distro: SystemFacts['distro']): Key | null {
  const name = distro.name.toLowerCase();
  const major = /^(\d+)/.exec(distro.version)?.[1];
  if (!major) return null;
  // redhat-release names the distribution in its text only ("Rocky Linux release 9.3 (Blue Onyx)"):
  // src/system.ts calls any non-CentOS, non-Fedora one "rhel".
  if (/rocky/.test(name) || distro.id === 'rocky') return `rocky:${major}`;
  if (/alma/.test(name) || distro.id === 'almalinux') return `almalinux:${major}`;
  if (/centos stream/.test(name)) return `centos-stream:${major}`;
  if (distro.id === 'centos' || /centos/.test(name)) return `centos:${major}`;
  if (distro.id === 'rhel' && /red hat/.test(name)) return `rhel:${major}`;
  if (distro.id === 'debian') return `debian:${major}`;
  // Ubuntu's support is per release ("22.04"); interim releases are not in the table.
  if (distro.id === 'ubuntu') return `ubuntu:${/^\d+\.\d+/.exec(distro.version)?.[0] ?? distro.version}` as Key;
  return null;
}

export interface SupportStatus {
  /** null: a release bulwark has no date for (said as such, never guessed). */
  readonly entry: EolEntry | null;
  readonly past: boolean;
  /** Whole days until the end (negative: days since). */
  readonly daysLeft: number | null;
}

/** Is this release still getting security updates on `today` (YYYY-MM-DD)? */
export function supportStatus(distro: SystemFacts['distro'], today: string): SupportStatus {
  const key = releaseKey(distro);
  const entry = key ? (END_OF_SUPPORT[key] ?? null) : null;
  if (!entry) return { entry: null, past: false, daysLeft: null };
  const daysLeft = Math.round((Date.parse(`${entry.endOfSupport}T00:00:00Z`) - Date.parse(`${today}T00:00:00Z`)) / 86_400_000);
  // The end date is the last supported day: past from the day after.
  return { entry, past: daysLeft < 0, daysLeft };
}

export function todayUtc(now: Date = new Date()): string {
  return now.toISOString().slice(0, 10);
}

/** One line for the wizard's first screen; null while the release is supported (or unknown). */
export function endOfLifeWarning(distro: SystemFacts['distro'], today: string): string | null {
  const status = supportStatus(distro, today);
  if (!status.entry || !status.past) return null;
  return `${status.entry.release} has had no security updates since ${status.entry.endOfSupport}: hardening helps, but plan a migration to ${status.entry.successor}.`;
}
