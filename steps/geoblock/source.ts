// Where the country data comes from: the copy shipped in the npm package
// @ip-location-db/geo-whois-asn-country (offline, no network needed), or a newer copy fetched with
// `bulwark geoblock update --from FILE|URL` into <state-dir>/geo. An update is validated in full
// before it replaces anything: a broken or truncated download never replaces good data.
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { UserError } from '../../src/errors.js';
import { ensurePrivateDir, writeFileDurable } from '../../src/fsutil.js';
import { localStateFs, type StateFs } from '../../src/state-fs.js';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Family } from './cidr.js';
import { buildIndex, deserializeIndex, serializeIndex, type GeoIndex } from './compile.js';
import { GeoDataError, parseCountryCsv, type CountryRanges } from './csv.js';
import { thousands } from '../../src/output.js';

export const PACKAGE = '@ip-location-db/geo-whois-asn-country';
/** The data's licence asks for this attribution, shown in the wizard and the README. */
export const ATTRIBUTION = 'Country data: ip-location-db geo-whois-asn-country, statistics by the Number Resource Organization (nro.net), CC BY 4.0.';
export const STALE_AFTER_DAYS = 90;

export interface DataSource {
  /** Files of this machine (in remote mode, the copy of the box's data kept in the cache). */
  readonly files: Record<Family, string>;
  /** When the data was made (the package version carries it: 2.3.YYYYMMDDhh). */
  readonly date: string;
  readonly origin: string;
  /** Where the index of this data is kept, when not in <state-dir>/geo (remote mode: the cache). */
  readonly indexFile?: string;
}

interface Meta {
  date: string;
  origin: string;
  lines: { ipv4: number; ipv6: number };
}

const FILES: Record<Family, string> = { ipv4: 'geo-whois-asn-country-ipv4.csv', ipv6: 'geo-whois-asn-country-ipv6.csv' };

function geoDir(stateDir: string): string {
  return path.join(stateDir, 'geo');
}

/**
 * The data bulwark uses now: an update in the state dir if there is one, else the shipped package.
 * `box`: remote mode, where the state directory is on the box — an update kept there is copied once
 * into this machine's cache (it is compiled here), so the box's console and every workstation use
 * the same data.
 */
export async function dataSource(stateDir: string, box?: StateFs): Promise<DataSource> {
  if (box) return boxDataSource(stateDir, box);
  const dir = geoDir(stateDir);
  const meta = readMetaNow(path.join(dir, 'meta.json'));
  if (meta) return { files: { ipv4: path.join(dir, 'ipv4.csv'), ipv6: path.join(dir, 'ipv6.csv') }, date: meta.date, origin: meta.origin };
  return packageSource();
}

// The data's small files and the index are read synchronously (from the page cache: a few
// milliseconds for the 10 MiB index): an apply starts the compile before its detection, and the
// compile must begin at once, not after the thread pool has served the detection's reads.

function readMetaNow(file: string): Meta | null {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Meta;
  } catch {
    return null;
  }
}

/** This machine's cache of the boxes' country data (remote mode), one directory per data version. */
function cacheRoot(): string {
  return path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'bulwark', 'geo');
}

async function boxDataSource(stateDir: string, box: StateFs): Promise<DataSource> {
  const dir = path.posix.join(stateDir, 'geo'); // on the box
  const metaText = await box.readFile(path.posix.join(dir, 'meta.json'));
  if (metaText === null) {
    const shipped = await packageSource();
    return { ...shipped, indexFile: path.join(cacheRoot(), 'shipped-index.bin') };
  }
  const meta = JSON.parse(metaText.toString('utf8')) as Meta;
  const cached = path.join(cacheRoot(), createHash('sha256').update(metaText).digest('hex').slice(0, 16));
  if (!(await fs.access(path.join(cached, 'meta.json')).then(() => true, () => false))) {
    const [ipv4, ipv6] = await Promise.all([box.readFile(path.posix.join(dir, 'ipv4.csv')), box.readFile(path.posix.join(dir, 'ipv6.csv'))]);
    await keepInCache(cached, { ipv4: ipv4 ?? '', ipv6: ipv6 ?? '' }, metaText);
  }
  return { files: { ipv4: path.join(cached, 'ipv4.csv'), ipv6: path.join(cached, 'ipv6.csv') }, date: meta.date, origin: meta.origin, indexFile: path.join(cached, 'index.bin') };
}

/** The data's files, then its meta last (a directory without meta.json is not used). */
async function keepInCache(dir: string, files: Record<Family, string | Buffer>, meta: string | Buffer): Promise<void> {
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  for (const family of ['ipv4', 'ipv6'] as const) await writeFileDurable(path.join(dir, `${family}.csv`), files[family], 0o644);
  await writeFileDurable(path.join(dir, 'meta.json'), meta, 0o644);
}

async function packageSource(): Promise<DataSource> {
  // Beside the bundle in an installed bulwark (scripts/build.mjs copies it to dist/geo: the package
  // has no dependencies to install); from node_modules when run from the sources.
  const beside = fileURLToPath(new URL('./geo/package.json', import.meta.url));
  const manifest = existsSync(beside) ? beside : createRequire(import.meta.url).resolve(`${PACKAGE}/package.json`);
  const version = (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version;
  const stamp = /(\d{4})(\d{2})(\d{2})\d*$/.exec(version);
  return {
    files: { ipv4: path.join(path.dirname(manifest), FILES.ipv4), ipv6: path.join(path.dirname(manifest), FILES.ipv6) },
    date: stamp ? `${stamp[1]}-${stamp[2]}-${stamp[3]}` : 'unknown',
    origin: `${PACKAGE}@${version}`,
  };
}

/** The index built with the bundle (scripts/build.mjs) for the data shipped with it. */
export const SHIPPED_INDEX = 'geo-index.bin';

/**
 * What an index must have been built from: the data's origin and date, and the files' sizes (and,
 * for an update, their times: the same URL on the same day can be other data). The package's files
 * are not judged by time: a reinstall of the same version gives them new times, not new content.
 */
export function indexStamp(source: DataSource): string {
  const shipped = source.origin.startsWith(`${PACKAGE}@`);
  const files = (['ipv4', 'ipv6'] as const).map((family) => {
    const st = statSync(source.files[family]);
    return shipped ? `${st.size}` : `${st.size}:${st.mtimeMs}`;
  });
  return `${source.origin}|${source.date}|${files.join('|')}`;
}

/**
 * The country data's index (compile.ts). Tried in turn: the one built with the bundle, the one in
 * <state-dir>/geo; when neither was built from this data, the CSVs are parsed (a few tenths of a
 * second) and the index is kept in <state-dir>/geo for the next time — only where the state
 * directory exists already: a `plan` on a new box writes nothing.
 */
export async function loadIndex(source: DataSource, stateDir: string, onProgress?: (message: string) => void): Promise<GeoIndex> {
  const stamp = indexStamp(source);
  const kept = source.indexFile ?? path.join(geoDir(stateDir), 'index.bin');
  for (const file of [shippedIndexPath(), kept]) {
    if (file === null) continue;
    const data = readIndexNow(file);
    const index = data && deserializeIndex(data, stamp);
    if (index) return index;
  }
  onProgress?.(`indexing the country data (${source.origin}), once per data version`);
  const index = await indexFromCsv(source, stamp);
  await keepIndex(stateDir, index, source.indexFile);
  return index;
}

function readIndexNow(file: string): Buffer | null {
  try {
    return readFileSync(file);
  } catch {
    return null;
  }
}

async function indexFromCsv(source: DataSource, stamp: string): Promise<GeoIndex> {
  const [ipv4, ipv6] = await Promise.all([fs.readFile(source.files.ipv4, 'utf8'), fs.readFile(source.files.ipv6, 'utf8')]);
  return buildIndex({ ipv4, ipv6 }, stamp);
}

async function keepIndex(stateDir: string, index: GeoIndex, file?: string): Promise<void> {
  if (file !== undefined) {
    await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 }).catch(() => undefined);
    await writeFileDurable(file, serializeIndex(index), 0o644).catch(() => undefined);
    return;
  }
  try {
    await fs.access(stateDir);
  } catch {
    return;
  }
  await ensurePrivateDir(geoDir(stateDir)).catch(() => undefined);
  await writeFileDurable(path.join(geoDir(stateDir), 'index.bin'), serializeIndex(index), 0o644).catch(() => undefined);
}

function shippedIndexPath(): string | null {
  try {
    return fileURLToPath(new URL(SHIPPED_INDEX, import.meta.url));
  } catch {
    return null;
  }
}

/** For scripts/build.mjs (through the hidden `__geo-index` command): the shipped data's index. */
export async function shippedIndex(): Promise<Buffer> {
  const source = await packageSource();
  return serializeIndex(await indexFromCsv(source, indexStamp(source)));
}

export function ageInDays(source: DataSource, now = Date.now()): number | null {
  const time = Date.parse(source.date);
  return Number.isNaN(time) ? null : Math.floor((now - time) / 86_400_000);
}

/** Reads the ranges of the chosen countries (trusted data: validated when it was stored). */
export async function loadCountries(source: DataSource, countries: ReadonlySet<string>): Promise<CountryRanges> {
  const [v4, v6] = await Promise.all([fs.readFile(source.files.ipv4, 'utf8'), fs.readFile(source.files.ipv6, 'utf8')]);
  return mergeFamilies(parseCountryCsv(v4, source.files.ipv4, { only: countries, trusted: true }), parseCountryCsv(v6, source.files.ipv6, { only: countries, trusted: true }));
}

function mergeFamilies(a: CountryRanges, b: CountryRanges): CountryRanges {
  const merge = (x: Map<string, import('./cidr.js').Range[]>, y: Map<string, import('./cidr.js').Range[]>) => {
    const out = new Map(x);
    for (const [code, ranges] of y) out.set(code, [...(out.get(code) ?? []), ...ranges]);
    return out;
  };
  return { ipv4: merge(a.ipv4, b.ipv4), ipv6: merge(a.ipv6, b.ipv6), lines: { ipv4: a.lines.ipv4 + b.lines.ipv4, ipv6: a.lines.ipv6 + b.lines.ipv6 } };
}

export interface UpdateReport {
  readonly origin: string;
  readonly lines: { ipv4: number; ipv6: number };
  readonly replaced: Family[];
}

/**
 * `bulwark geoblock update --from FILE|URL`: fetches the CSV, validates every line, refuses a file
 * that is cut short (no final newline, fewer bytes than announced, far fewer lines than the data it
 * would replace), and only then replaces the families it holds, atomically.
 */
export async function updateData(stateDir: string, from: string, onProgress?: (message: string) => void, box?: StateFs): Promise<UpdateReport> {
  const text = await fetchText(from, onProgress);
  onProgress?.(`validating ${thousands(text.length)} bytes`);
  let parsed: CountryRanges;
  try {
    parsed = parseCountryCsv(text, from);
  } catch (error) {
    if (error instanceof GeoDataError) throw new UserError(`The country data from ${from} is not usable: ${error.message}. The current data is kept.`, 'Give a CSV of lines "start,end,CC" (the form of ip-location-db\'s geo-whois-asn-country files).', 1);
    throw error;
  }
  const current = await dataSource(stateDir, box);
  const replaced: Family[] = [];
  const lines: Record<Family, string[]> = { ipv4: [], ipv6: [] };
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    lines[trimmed.includes(':') ? 'ipv6' : 'ipv4'].push(trimmed);
  }
  for (const family of ['ipv4', 'ipv6'] as const) {
    if (parsed.lines[family] === 0) continue;
    const before = await countLines(current.files[family]);
    // A download cut at a line boundary parses fine: compare with what it would replace.
    if (before > 0 && parsed.lines[family] < before / 2) {
      throw new UserError(`The ${family === 'ipv4' ? 'IPv4' : 'IPv6'} data from ${from} has ${parsed.lines[family]} lines, less than half of the ${before} it would replace: it looks truncated. The current data is kept.`, undefined, 1);
    }
    replaced.push(family);
  }
  if (replaced.length === 0) throw new UserError(`${from} holds no address ranges. The current data is kept.`, undefined, 1);
  // A family the download does not hold keeps the data it has now.
  const contents = {} as Record<Family, string>;
  for (const family of ['ipv4', 'ipv6'] as const) {
    contents[family] = replaced.includes(family) ? lines[family].join('\n') + '\n' : await fs.readFile(current.files[family], 'utf8').catch(() => '');
  }
  const meta: Meta = { date: new Date().toISOString().slice(0, 10), origin: from, lines: { ipv4: countNewlines(contents.ipv4), ipv6: countNewlines(contents.ipv6) } };
  const metaText = JSON.stringify(meta, null, 2) + '\n';
  // Where the state directory is: here, or on the box (remote mode). The meta file last: until it
  // exists, bulwark keeps using the previous data.
  const place = box ?? localStateFs;
  const join = box ? path.posix.join : path.join;
  const dir = join(stateDir, 'geo');
  await place.ensurePrivateDir(dir);
  for (const family of ['ipv4', 'ipv6'] as const) await place.writeDurable(join(dir, `${family}.csv`), contents[family], 0o644);
  await place.writeDurable(join(dir, 'meta.json'), metaText, 0o644);
  // Remote mode: this machine's cache gets the same bytes now, so the next plan need not fetch them.
  if (box) await keepInCache(path.join(cacheRoot(), createHash('sha256').update(metaText).digest('hex').slice(0, 16)), contents, metaText);
  // Indexed now, so the next compile does not parse the CSVs.
  onProgress?.('indexing the new data');
  const source = await dataSource(stateDir, box);
  await keepIndex(stateDir, await indexFromCsv(source, indexStamp(source)), source.indexFile);
  return { origin: from, lines: meta.lines, replaced };
}

function countNewlines(text: string): number {
  let count = 0;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) count++;
  return count;
}

async function countLines(file: string): Promise<number> {
  try {
    const text = await fs.readFile(file, 'utf8');
    let count = 0;
    for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) count++;
    return count;
  } catch {
    return 0;
  }
}

async function fetchText(from: string, onProgress?: (message: string) => void): Promise<string> {
  if (!/^https?:\/\//i.test(from)) {
    try {
      return await fs.readFile(from, 'utf8');
    } catch (error) {
      throw new UserError(`Cannot read ${from}: ${(error as Error).message}.`, 'Give a CSV file or an http(s):// URL with --from.', 2);
    }
  }
  onProgress?.(`downloading ${from}`);
  let response: Response;
  try {
    response = await fetch(from, { redirect: 'follow', signal: AbortSignal.timeout(120_000) });
  } catch (error) {
    throw new UserError(`Could not download ${from}: ${(error as Error).message}. The current data is kept.`, undefined, 1);
  }
  if (!response.ok) throw new UserError(`Downloading ${from} failed: HTTP ${response.status}. The current data is kept.`, undefined, 1);
  const announced = Number(response.headers.get('content-length') ?? NaN);
  let body: Buffer;
  try {
    body = Buffer.from(await response.arrayBuffer());
  } catch (error) {
    throw new UserError(`The download of ${from} broke off: ${(error as Error).message}. The current data is kept.`, undefined, 1);
  }
  if (Number.isFinite(announced) && body.length !== announced) {
    throw new UserError(`The download of ${from} is incomplete: ${body.length} of ${announced} bytes. The current data is kept.`, undefined, 1);
  }
  return body.toString('utf8');
}
