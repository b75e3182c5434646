// The ids step's benchmarks, run by scripts/bench.mjs (`npm run bench -- --only ids`). Figures only
// (the issue sets no goal for them), measured side by side in one run:
//   fail2ban-regex   throughput on a generated Asterisk security log of 1,000,000 lines (3 in 10 failed
//                    logins from 250 TEST-NET addresses, the rest successful ones from the LAN), with
//                    the stock asterisk filter as shipped and with bulwark's jail settings (the date
//                    pattern fixed to Asterisk's dateformat=%F %T); interleaved, --rounds each.
//   aide --init      the time to record the integrity baseline with bulwark's configuration (the
//                    directories of steps/ids/aide.ts that exist here; the database in a temp dir).
// Needs fail2ban-regex and aide; without them the section says it is skipped.
import { execFileSync, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { int, ms, pad, right } from './bench-body.mjs';

const LINES = 1_000_000;
// Kept in step with steps/ids/fail2ban.ts ASTERISK_DATEPATTERN and steps/ids/aide.ts.
const DATEPATTERN = '^\\[%Y-%m-%d %H:%M:%S\\]';
const WATCHED = ['/etc', '/usr/bin', '/usr/sbin', '/var/www', '/usr/share/a2billing', '/var/lib/asterisk/agi-bin'];

async function writeLog(file, lines) {
  const out = createWriteStream(file);
  const start = Date.UTC(2026, 10, 25, 0, 0, 0) / 1000;
  for (let i = 0; i < lines; i++) {
    const t = new Date((start + Math.floor(i / 10)) * 1000).toISOString();
    const stamp = `${t.slice(0, 10)} ${t.slice(11, 19)}`;
    const tv = `${t.slice(0, 19)}.000+0000`;
    const line =
      i % 10 < 3
        ? `[${stamp}] SECURITY[1234] res_security_log.c: SecurityEvent="InvalidPassword",EventTV="${tv}",Severity="Error",Service="SIP",EventVersion="2",AccountID="10${i % 9}",SessionID="0x7f${i.toString(16)}",LocalAddress="IPV4/UDP/10.0.0.1/5060",RemoteAddress="IPV4/UDP/203.0.113.${(i % 250) + 1}/5060",Challenge="41d26de5",ReceivedChallenge="41d26de5",ReceivedHash="7c5b0e0a"\n`
        : `[${stamp}] SECURITY[1234] res_security_log.c: SecurityEvent="SuccessfulAuth",EventTV="${tv}",Severity="Informational",Service="SIP",EventVersion="1",AccountID="10${i % 9}",SessionID="0x7f${i.toString(16)}",LocalAddress="IPV4/UDP/10.0.0.1/5060",RemoteAddress="IPV4/UDP/10.0.${Math.floor(i / 200) % 200}.${(i % 200) + 2}/5060",UsingPassword="1"\n`;
    if (!out.write(line)) await new Promise((resolve) => out.once('drain', resolve));
  }
  await new Promise((resolve, reject) => out.end((error) => (error ? reject(error) : resolve())));
}

function regexRun(args) {
  const started = process.hrtime.bigint();
  const result = spawnSync('fail2ban-regex', args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const wall = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.status !== 0) throw new Error(`fail2ban-regex ${args.join(' ')} exited ${result.status}: ${result.stderr}`);
  const lines = /^Lines: (\d+) lines, \d+ ignored, (\d+) matched/m.exec(result.stdout);
  return { ms: wall, lines: Number(lines?.[1] ?? NaN), matched: Number(lines?.[2] ?? NaN) };
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)];

/**
 * @param {{ json: boolean, log: (line: string) => void, rounds?: number }} options
 */
export async function runIdsBench({ log, rounds = 3 }) {
  const missing = ['fail2ban-regex', 'aide'].filter((program) => spawnSync('sh', ['-c', `command -v ${program}`]).status !== 0);
  if (missing.length > 0) return { result: { skipped: `needs ${missing.join(' and ')}` }, pass: true, text: `ids benchmarks: skipped (needs ${missing.join(' and ')})` };
  const work = mkdtempSync(join(tmpdir(), 'bulwark-bench-ids-'));
  try {
    const logFile = join(work, 'security');
    log(`bench ids: writing a ${int(LINES)}-line Asterisk security log...`);
    await writeLog(logFile, LINES);
    const filter = '/etc/fail2ban/filter.d/asterisk.conf';
    const stock = [];
    const bulwark = [];
    for (let round = 0; round < rounds; round++) {
      log(`bench ids: fail2ban-regex round ${round + 1}/${rounds} (stock, then bulwark's settings)`);
      stock.push(regexRun([logFile, filter]));
      bulwark.push(regexRun(['-d', DATEPATTERN, logFile, filter]));
    }
    const stockMs = median(stock.map((r) => r.ms));
    const bulwarkMs = median(bulwark.map((r) => r.ms));
    // The integrity baseline
    const watched = WATCHED.filter((dir) => existsSync(dir));
    const conf = join(work, 'aide.conf');
    writeFileSync(conf, [`database_in=file:${work}/aide.db`, `database_out=file:${work}/aide.db.new`, 'gzip_dbout=no', 'report_url=stdout', 'BULWARK = p+i+n+u+g+s+m+c+sha256', ...watched.map((dir) => `${dir} BULWARK`), ''].join('\n'));
    const aideRuns = [];
    let entries = NaN;
    for (let round = 0; round < rounds + 1; round++) {
      log(`bench ids: aide --init round ${round + 1}/${rounds + 1}`);
      const started = process.hrtime.bigint();
      const output = execFileSync('aide', ['--init', '--config', conf], { encoding: 'utf8' });
      aideRuns.push(Number(process.hrtime.bigint() - started) / 1e6);
      entries = Number(/Number of entries:\s*(\d+)/.exec(output)?.[1] ?? NaN);
      rmSync(join(work, 'aide.db.new'), { force: true });
    }
    const aideMs = median(aideRuns.slice(1)); // the first run fills the page cache
    const result = {
      log: { lines: LINES, matched: stock[0].matched },
      fail2banRegex: { rounds, stockMs, bulwarkMs, stockLinesPerSecond: LINES / (stockMs / 1000), bulwarkLinesPerSecond: LINES / (bulwarkMs / 1000), ratio: stockMs / bulwarkMs, sameMatches: stock.every((r, i) => r.matched === bulwark[i].matched) },
      aideInit: { watched, entries, runs: aideRuns, medianMs: aideMs },
    };
    const lines = [
      'bulwark ids benchmarks',
      '',
      `fail2ban-regex on a ${int(LINES)}-line Asterisk security log (${int(stock[0].matched)} failed logins), ${rounds} round(s) each, interleaved`,
      `${pad('', 44)}${right('median ms', 10)}  ${right('lines/s', 10)}`,
      `${pad('stock asterisk jail', 44)}${right(ms(stockMs), 10)}  ${right(int(Math.round(result.fail2banRegex.stockLinesPerSecond)), 10)}`,
      `${pad("bulwark's jail (date pattern fixed to %F %T)", 44)}${right(ms(bulwarkMs), 10)}  ${right(int(Math.round(result.fail2banRegex.bulwarkLinesPerSecond)), 10)}`,
      `ratio stock / bulwark:                      ${right(`${result.fail2banRegex.ratio.toFixed(2)}x`, 10)}   (no goal; the same failures found: ${result.fail2banRegex.sameMatches ? 'yes' : 'NO'})`,
      '',
      `aide --init with bulwark's configuration (${watched.join(', ')}): ${int(entries)} files, ${ms(aideMs)} ms median of ${rounds} (after one run that warms the page cache)`,
    ];
    return { result, pass: result.fail2banRegex.sameMatches, text: lines.join('\n') };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
