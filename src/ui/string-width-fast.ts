// Ink measures every string it lays out with string-width, whose first call builds an
// Intl.Segmenter and Unicode-property regexes — tens of milliseconds before the first frame. Most
// of what bulwark draws is ASCII plus a few narrow symbols, whose width is simply their length; only
// other text goes to the real implementation (bundled in place of string-width, see build.mjs).
type RealStringWidth = typeof import('string-width').default;
type Options = Parameters<RealStringWidth>[1];

// Loaded on first need: evaluating it builds the Intl.Segmenter. esbuild turns this require into a
// lazy, synchronous module initialisation inside the bundle.
let real: RealStringWidth | undefined;
function realStringWidth(text: string, options?: Options): number {
  real ??= (require('string-width') as { default: RealStringWidth }).default;
  return real(text, options);
}

// Printable ASCII, Latin-1, general punctuation, arrows, box drawing, geometric shapes (less the
// two wide ones, U+25FD and U+25FE), and the marks the wizard uses: ✔ ✘ ⧗.
const NARROW = /^[\u0020-\u007e\u00a0-\u00ff\u2010-\u2027\u2030-\u205e\u2190-\u21ff\u2500-\u25fc\u25ff\u2714\u2718\u29d7]*$/;
// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*m/g;

export default function stringWidth(text: string, options?: Options): number {
  if (typeof text !== 'string' || text.length === 0) return 0;
  const plain = text.includes('\u001b') ? text.replace(ANSI, '') : text;
  if (!plain.includes('\u001b') && NARROW.test(plain)) return plain.length;
  return realStringWidth(text, options);
}
