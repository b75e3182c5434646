// What an Elastix / Issabel / FreePBX install puts on a box besides Asterisk, as data: where each
// extra shows (web paths under the docroot or Apache aliases, daemons, xinetd services, packages),
// what it listens on, and what it is for. Written from public facts: the Elastix 2.x SVN mirrors and
// RPM lists, Issabel's repositories, the FreePBX distro, and scans of a stock Elastix 2.2 box.
import type { ElastixApp } from '../../src/answers.js';

export interface Extra {
  readonly id: ElastixApp;
  readonly label: string;
  /** What it is, for a first-time admin. */
  readonly what: string;
  /** A web UI for managing Asterisk: the default keeps one of them. */
  readonly managementUi?: boolean;
  /** URL paths Apache serves it under (a Location each), and docroot entries that show it is there. */
  readonly web?: { readonly paths: readonly string[]; readonly markers: readonly string[]; readonly confMarkers?: readonly string[] };
  /** The Elastix/Issabel GUI lives in the docroot itself: denied with one LocationMatch. */
  readonly webPattern?: string;
  /** Init script / unit names (first found wins per entry: portmap on CentOS 5 is rpcbind on 7). */
  readonly daemons?: readonly (readonly string[])[];
  /** An xinetd service file whose `disable` line turns it off. */
  readonly xinetd?: string;
  readonly ports?: string;
  /** RPM / Debian package names, offered for removal (never the default). */
  readonly packages?: readonly string[];
  /** Said when the admin disables it: what stops working. */
  readonly caution?: string;
}

export const EXTRAS: readonly Extra[] = [
  {
    id: 'a2billing',
    label: 'A2Billing',
    what: 'the billing and calling-card platform (admin, agent and customer web pages)',
    web: { paths: ['/a2billing'], markers: ['a2billing'] },
    packages: ['a2billing'],
  },
  {
    id: 'elastix-gui',
    label: 'Elastix web interface',
    what: 'the Elastix administration GUI at the site root (index.php, modules/)',
    managementUi: true,
    webPattern: '^/(index\\.php|modules|libs|themes|lang|help|configs)?(/|$)',
    web: { paths: ['/'], markers: ['modules', 'libs/paloSantoDB.class.php'] },
  },
  {
    id: 'issabel-gui',
    label: 'Issabel web interface',
    what: 'the Issabel administration GUI at the site root, and its REST API /pbxapi',
    managementUi: true,
    webPattern: '^/(index\\.php|modules|libs|themes|lang|help|configs|pbxapi)?(/|$)',
    web: { paths: ['/', '/pbxapi'], markers: ['pbxapi', 'modules'] },
  },
  {
    id: 'freepbx',
    label: 'FreePBX',
    what: 'the FreePBX administration pages at /admin',
    managementUi: true,
    web: { paths: ['/admin'], markers: ['admin/config.php', 'admin/index.php'] },
  },
  {
    id: 'ucp',
    label: 'FreePBX User Control Panel',
    what: 'the users\' panel at /ucp (voicemail, call history)',
    web: { paths: ['/ucp'], markers: ['ucp'] },
  },
  {
    id: 'ari',
    label: 'ARI (recordings interface)',
    what: 'the Asterisk Recording Interface at /recordings: voicemail and call recordings over the web',
    web: { paths: ['/recordings'], markers: ['recordings'] },
  },
  {
    id: 'fop',
    label: 'Flash Operator Panel',
    what: 'the old operator panel at /panel (its op_server.pl listens on 4445)',
    web: { paths: ['/panel'], markers: ['panel'] },
    ports: '4445/tcp',
  },
  {
    id: 'fop2',
    label: 'FOP2',
    what: 'the FOP2 operator panel at /fop2 and its server on 4445',
    web: { paths: ['/fop2'], markers: ['fop2'] },
    daemons: [['fop2']],
    ports: '4445/tcp',
    packages: ['fop2elastix', 'fop2'],
  },
  {
    id: 'roundcube',
    label: 'Roundcube webmail',
    what: 'webmail at /mail',
    web: { paths: ['/mail', '/roundcube', '/roundcubemail'], markers: ['mail', 'roundcube', 'roundcubemail'], confMarkers: ['roundcubemail.conf'] },
    packages: ['RoundCubeMail', 'roundcubemail'],
  },
  {
    id: 'vtigercrm',
    label: 'vTiger CRM',
    what: 'a CRM at /vtigercrm, old and with public exploits',
    web: { paths: ['/vtigercrm'], markers: ['vtigercrm'] },
    packages: ['elastix-vtigercrm', 'vtigercrm'],
  },
  {
    id: 'openfire',
    label: 'Openfire (instant messaging)',
    what: 'a Jabber/XMPP server with its own admin console',
    web: { paths: ['/openfireWrapper.php'], markers: ['openfireWrapper.php'] },
    daemons: [['openfire']],
    ports: '5222, 5223, 5269, 7070, 7443, 7777, 9090, 9091/tcp',
    packages: ['elastix-im', 'openfire'],
  },
  {
    id: 'hylafax',
    label: 'HylaFAX and IAXmodem (fax)',
    what: 'fax server hfaxd and its virtual modems',
    daemons: [['hylafax', 'hylafax+', 'hylafax-hfaxd'], ['hylafax-faxq'], ['iaxmodem']],
    ports: '4559/tcp',
    packages: ['elastix-fax', 'hylafax', 'hylafax+', 'iaxmodem'],
  },
  {
    id: 'cyrus-imapd',
    label: 'Cyrus IMAP/POP3 (mail server)',
    what: 'the mailboxes of Elastix\'s e-mail module',
    daemons: [['cyrus-imapd']],
    ports: '110, 143, 993, 995, 4190/tcp',
    packages: ['elastix-email_admin', 'cyrus-imapd'],
    caution: 'Postfix itself stays (voicemail to e-mail needs it); the exposure step keeps it on loopback.',
  },
  {
    id: 'mailman',
    label: 'Mailman (mailing lists)',
    what: 'mailing lists at /mailman and /pipermail',
    web: { paths: ['/mailman', '/pipermail'], markers: [], confMarkers: ['mailman.conf'] },
    daemons: [['mailman']],
    packages: ['mailman'],
  },
  {
    id: 'webmin',
    label: 'Webmin',
    what: 'a root-level system administration web UI on port 10000',
    web: { paths: ['/webminWrapper.php'], markers: ['webminWrapper.php'] },
    daemons: [['webmin']],
    ports: '10000/tcp',
    packages: ['elastix-webmin', 'webmin'],
  },
  {
    id: 'phpmyadmin',
    label: 'phpMyAdmin',
    what: 'database administration over the web',
    web: { paths: ['/phpmyadmin', '/phpMyAdmin'], markers: ['phpmyadmin', 'phpMyAdmin'], confMarkers: ['phpMyAdmin.conf', 'phpmyadmin.conf'] },
    packages: ['phpMyAdmin', 'phpmyadmin'],
  },
  {
    id: 'tftp',
    label: 'TFTP server (xinetd)',
    what: 'phone provisioning over TFTP (69/udp) from /tftpboot, which Elastix makes world-writable',
    xinetd: 'tftp',
    ports: '69/udp',
    caution: 'Phones that fetch their configuration by TFTP need it: keep it if yours do, and let the firewall admit only the LAN.',
  },
  {
    id: 'portmap',
    label: 'portmap / rpcbind and rpc.statd',
    what: 'RPC services for NFS, which a PBX does not use',
    daemons: [['portmap', 'rpcbind'], ['nfslock', 'rpc-statd']],
    ports: '111/tcp+udp',
  },
  {
    id: 'vsftpd',
    label: 'vsftpd (FTP server)',
    what: 'an FTP server: passwords in clear text',
    daemons: [['vsftpd']],
    ports: '21/tcp',
    packages: ['vsftpd'],
  },
  {
    id: 'festival',
    label: 'Festival (text to speech)',
    what: 'the speech synthesis server',
    daemons: [['festival']],
    ports: '1314/tcp',
    packages: ['festival'],
  },
  {
    id: 'elastixdialer',
    label: 'Elastix call center dialer',
    what: 'the outbound dialer daemon of the call center module',
    daemons: [['elastixdialer']],
    packages: ['elastix-callcenter'],
  },
];

export function extraById(id: string): Extra | undefined {
  return EXTRAS.find((extra) => extra.id === id);
}
