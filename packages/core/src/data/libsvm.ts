import { ProtocolError } from '@marina/protocol';
import type { Dataset } from './dataset.js';

/**
 * An incremental LIBSVM/svmlight parser, sans-I/O (STYLE lesson 3; the caller reads the file and pushes its
 * bytes). Grammar, one row a line:
 *
 *   line  := blank* [label (blank+ pair)*] blank* ['#' comment] ('\n' | '\r\n' | end of file)
 *   pair  := index ':' value          blank := ' ' | '\t'
 *
 * - Lines that are empty, blank or only a comment are skipped; a `#` starts a comment anywhere on a line;
 *   a UTF-8 byte order mark at the start of the file is skipped.
 * - `label` and `value` are decimals (`[+-]?(d+[.d*]|.d+)([eE][+-]?d+)?`) read with `Number(token)`, so a
 *   stored value is exactly the float64 that `Number` gives; `nan`, `inf`, hexadecimal and overflow (`1e999`)
 *   are refused. Explicit zeros (`5:0`) are stored as written, so a row reads back byte for byte.
 * - `index` is an integer, 1-based in the file and strictly increasing within a row, stored 0-based.
 * - `qid:N` (svmlight ranking) is refused as not supported: binary classification has no queries.
 * - Labels: a binary file has one or two distinct label values; two map smaller ↦ −1, larger ↦ +1 (so
 *   {−1,+1}, {0,1} and {1,2} all work); one maps to +1 when it is > 0, else −1.
 *
 * Every error is a ProtocolError MARINA_ERR_BAD_DATA `FILE:LINE: what is wrong, got "token"` with
 * `data: { file, line }`, thrown by the `push` or `finish` that meets the first bad line; the parser is
 * then dead (every later call throws the same error), so nothing half-parsed is ever returned.
 *
 * Memory is O(stored nnz + stored rows + longest line): the kept rows live in growable typed arrays (no
 * per-row objects) and only an unfinished line is carried between chunks; tokens are parsed from the bytes.
 */
export class LibsvmParser {
  private readonly source: string;
  private readonly givenFeatures: number | null;
  private readonly keep: ((row: number) => boolean) | null;
  private readonly givenLabels: number[] | null;

  /** Lines seen so far (1-based number of the line being parsed), all valid rows, the largest index. */
  private line = 0;
  private rows = 0;
  private maxIndex = 0;
  /** Distinct raw labels in order of appearance (at most two, or the given set). */
  private readonly seen: number[] = [];

  /** Kept rows: nnz entries of cols/vals, `kept` rows of labels (raw) and rowPtr (kept + 1 offsets). */
  private kept = 0;
  private nnz = 0;
  private cols = new Int32Array(1024);
  private vals = new Float64Array(1024);
  private rowPtr = new Int32Array(256);
  private rawLabels = new Float64Array(256);

  /** The unfinished last line of the bytes pushed so far. */
  private carry = new Uint8Array(256);
  private carryLen = 0;

  /** The error that killed the parser (a bad line, or a throwing `keep`), rethrown by every later call. */
  private failed: { error: unknown } | null = null;
  private done = false;

  constructor(options: LibsvmOptions) {
    const { source, features, keep, labels } = options;
    if (features !== null && !(Number.isInteger(features) && features >= 0 && features <= MAX_FEATURES)) {
      throw new RangeError(`features must be null or an integer in [0, ${MAX_FEATURES}], got ${features}`);
    }
    if (labels !== undefined) {
      const set = [...new Set(labels)].sort((a, b) => a - b);
      if (set.length < 1 || set.length > 2 || !set.every(Number.isFinite) || set.length !== labels.length) {
        throw new RangeError(`labels must be one or two distinct finite numbers, got [${labels.join(', ')}]`);
      }
      this.givenLabels = set;
    } else {
      this.givenLabels = null;
    }
    this.source = source;
    this.givenFeatures = features;
    this.keep = keep ?? null;
  }

  /** Parses the complete lines in `chunk` (split anywhere: inside a number or a UTF-8 character is fine). */
  push(chunk: Uint8Array): void {
    this.check();
    try {
      let at = 0;
      if (this.carryLen > 0) {
        const nl = chunk.indexOf(NL);
        if (nl < 0) {
          this.append(chunk, 0, chunk.length);
          return;
        }
        this.append(chunk, 0, nl);
        this.parseLine(this.carry, 0, this.carryLen);
        this.carryLen = 0;
        at = nl + 1;
      }
      for (;;) {
        const nl = chunk.indexOf(NL, at);
        if (nl < 0) break;
        this.parseLine(chunk, at, nl);
        at = nl + 1;
      }
      this.append(chunk, at, chunk.length);
    } catch (e) {
      this.failed = { error: e };
      throw e;
    }
  }

  /** Parses the last line (which may lack its newline), checks the file as a whole, and returns the result. */
  finish(): LibsvmResult {
    this.check();
    try {
      if (this.carryLen > 0) this.parseLine(this.carry, 0, this.carryLen);
      this.carryLen = 0;
      if (this.rows === 0) {
        this.fail('no rows (the file is empty or holds only blank lines and comments)', null, Math.max(this.line, 1));
      }
    } catch (e) {
      this.failed = { error: e };
      throw e;
    }
    this.done = true;
    const labels = [...this.seen].sort((a, b) => a - b);
    const set = this.givenLabels ?? labels;
    const mapped = new Float64Array(this.kept);
    for (let r = 0; r < this.kept; r++) mapped[r] = signOf(this.rawLabels[r] as number, set);
    const data: Dataset = {
      rows: this.kept,
      features: this.givenFeatures ?? this.maxIndex,
      labels: mapped,
      rowPtr: this.rowPtr.slice(0, this.kept + 1),
      cols: this.cols.slice(0, this.nnz),
      vals: this.vals.slice(0, this.nnz),
    };
    this.cols = new Int32Array(0);
    this.vals = new Float64Array(0);
    this.rowPtr = new Int32Array(0);
    this.rawLabels = new Float64Array(0);
    this.carry = new Uint8Array(0);
    return { rows: this.rows, features: data.features, labels, data };
  }

  /** Parses one line, b[start, end), without its '\n'. */
  private parseLine(b: Uint8Array, start: number, end: number): void {
    this.line++;
    const e = end > start && b[end - 1] === CR ? end - 1 : end;
    // A UTF-8 byte order mark, as some Windows tools write, may open the file.
    const bom = this.line === 1 && e - start >= 3 && b[start] === 0xef && b[start + 1] === 0xbb && b[start + 2] === 0xbf;
    let p = skipBlanks(b, bom ? start + 3 : start, e);
    if (p === e || b[p] === HASH) return;

    // 1. The label.
    let q = tokenEnd(b, p, e);
    const label = decimal(b, p, q);
    if (!Number.isFinite(label)) {
      this.fail(Number.isNaN(label) && !nonFiniteWord(b, p, q) ? 'malformed label' : 'label is not finite', [b, p, q]);
    }
    this.noteLabel(label, b, p, q);

    // 2. The index:value pairs, written past the kept entries and committed only if the row is kept.
    const row = this.rows;
    const keep = this.keep === null || this.keep(row);
    const limit = this.givenFeatures ?? MAX_FEATURES;
    let prev = 0;
    let k = this.nnz;
    for (p = skipBlanks(b, q, e); p < e && b[p] !== HASH; p = skipBlanks(b, q, e)) {
      q = tokenEnd(b, p, e);
      let colon = p;
      while (colon < q && b[colon] !== COLON) colon++;
      if (colon === q || colon === p) this.fail('malformed index:value pair', [b, p, q]);
      const index = integer(b, p, colon);
      if (Number.isNaN(index)) {
        this.fail(isQid(b, p, colon) ? 'qid (svmlight ranking query ids) is not supported' : 'malformed index:value pair', [b, p, q]);
      }
      if (index < 1) this.fail('feature index must be at least 1', [b, p, q]);
      if (index <= prev) this.fail(`feature indices must be strictly increasing (previous index ${prev})`, [b, p, q]);
      if (index > limit) {
        this.fail(
          this.givenFeatures === null ? `feature index above the largest supported, ${MAX_FEATURES}` : `feature index above the feature count ${limit}`,
          [b, p, q],
        );
      }
      const value = decimal(b, colon + 1, q);
      if (!Number.isFinite(value)) {
        this.fail(Number.isNaN(value) && !nonFiniteWord(b, colon + 1, q) ? 'malformed index:value pair' : 'value is not finite', [b, p, q]);
      }
      prev = index;
      if (keep) {
        if (k === this.cols.length) this.growEntries(k + 1);
        this.cols[k] = index - 1;
        this.vals[k] = value;
        k++;
      }
    }

    // 3. Commit the row.
    this.rows++;
    if (prev > this.maxIndex) this.maxIndex = prev;
    if (keep) {
      if (this.kept + 1 >= this.rowPtr.length) {
        this.rowPtr = grown(this.rowPtr, this.kept + 2);
        this.rawLabels = grown(this.rawLabels, this.kept + 2);
      }
      this.rawLabels[this.kept] = label;
      this.kept++;
      this.nnz = k;
      this.rowPtr[this.kept] = k;
    }
  }

  /** Records a label's value: a third distinct one (or one outside the given set) is an error. */
  private noteLabel(label: number, b: Uint8Array, p: number, q: number): void {
    const seen = this.seen;
    if (seen.length > 0 && (seen[0] === label || seen[1] === label)) return;
    const given = this.givenLabels;
    if (given !== null && !given.includes(label)) {
      this.fail(`label is not one of the file's labels (${given.join(', ')})`, [b, p, q]);
    }
    if (given === null && seen.length === 2) {
      const all = [...seen, label].sort((x, y) => x - y);
      this.fail(`more than two distinct labels (${all.join(', ')}); binary classification needs one or two`, [b, p, q]);
    }
    seen.push(label);
  }

  private growEntries(need: number): void {
    // rowPtr holds entry offsets as int32.
    if (need > MAX_ENTRIES) this.fail(`more than ${MAX_ENTRIES} stored index:value pairs`, null);
    this.cols = grown(this.cols, need);
    this.vals = grown(this.vals, need);
  }

  private append(b: Uint8Array, start: number, end: number): void {
    const n = end - start;
    if (n === 0) return;
    if (this.carryLen + n > this.carry.length) this.carry = grown(this.carry, this.carryLen + n);
    this.carry.set(b.subarray(start, end), this.carryLen);
    this.carryLen += n;
  }

  private check(): void {
    if (this.failed !== null) throw this.failed.error;
    if (this.done) throw new Error(`LibsvmParser(${this.source}): already finished`);
  }

  private fail(what: string, token: [Uint8Array, number, number] | null, line = this.line): never {
    const got = token === null ? '' : `, got "${shownToken(token[0], token[1], token[2])}"`;
    throw new ProtocolError('MARINA_ERR_BAD_DATA', `${this.source}:${line}: ${what}${got}`, { file: this.source, line });
  }
}

export interface LibsvmOptions {
  /** The file's name, for error messages. */
  source: string;
  /** The feature count: indices above it are refused. Null: the largest index in the file. */
  features: number | null;
  /**
   * Which rows (0-based among the file's valid rows) to store; the others are parsed and validated but not
   * stored. Called once per row, in ascending order, after its label and before its pairs are parsed.
   * Default: every row.
   */
  keep?: (row: number) => boolean;
  /**
   * The label set to map by (one or two distinct values), when it is known from a previous pass over the
   * whole file: a label outside it is an error. Default: the distinct labels of the rows parsed.
   */
  labels?: readonly number[];
}

export interface LibsvmResult {
  /** All valid rows of the file, stored or not. */
  rows: number;
  /** The given feature count, or the largest index in the file (0 when no row has a pair). */
  features: number;
  /** The file's distinct raw labels, ascending. */
  labels: number[];
  /** The kept rows, in file order, with labels mapped to ±1. */
  data: Dataset;
}

/** The largest feature index (and count) a parser accepts: columns are stored in an Int32Array. */
export const MAX_FEATURES = 0x7fff_ffff;
/** The most index:value pairs a parser stores: row offsets are stored in an Int32Array. */
const MAX_ENTRIES = 0x7fff_ffff;

/**
 * A data set as LIBSVM text, one row a line: the label as `-1`/`+1`, then `index:value` with 1-based indices
 * and values written by `String(v)` (which reads back as the same float64; −0 is written `-0`). Used to write
 * shard files: `new LibsvmParser(…)` over the text gives rows with equal `canonicalBytes`.
 * Throws a RangeError for a label other than ±1 or a non-finite value, which the format cannot carry.
 */
export function formatLibsvm(data: Dataset): string {
  const lines: string[] = [];
  for (let r = 0; r < data.rows; r++) {
    const label = data.labels[r] as number;
    if (label !== 1 && label !== -1) throw new RangeError(`row ${r}: label ${label} is not ±1`);
    let s = label > 0 ? '+1' : '-1';
    const end = data.rowPtr[r + 1] as number;
    for (let k = data.rowPtr[r] as number; k < end; k++) {
      const v = data.vals[k] as number;
      if (!Number.isFinite(v)) throw new RangeError(`row ${r}: value ${v} is not finite`);
      s += ` ${(data.cols[k] as number) + 1}:${Object.is(v, -0) ? '-0' : String(v)}`;
    }
    lines.push(s);
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

const NL = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const TAB = 0x09;
const HASH = 0x23;
const COLON = 0x3a;
const PLUS = 0x2b;
const MINUS = 0x2d;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;

/** Raw label → ±1 by the sorted label set (see the class comment). */
function signOf(label: number, set: readonly number[]): number {
  if (set.length === 2) return label === set[0] ? -1 : 1;
  return label > 0 ? 1 : -1;
}

function skipBlanks(b: Uint8Array, p: number, e: number): number {
  while (p < e && (b[p] === SPACE || b[p] === TAB)) p++;
  return p;
}

/** The end of the token starting at p: the next blank, `#` or the end of the line. */
function tokenEnd(b: Uint8Array, p: number, e: number): number {
  while (p < e) {
    const c = b[p];
    if (c === SPACE || c === TAB || c === HASH) break;
    p++;
  }
  return p;
}

const isDigit = (c: number | undefined): boolean => c !== undefined && c >= ZERO && c <= NINE;

/**
 * The decimal b[s, e) as `Number` reads it, or NaN when it is not one (see the grammar above). Tokens of at
 * most 15 digits with no point or exponent are exact integers below 2^53 and are summed directly; the rest
 * go through `Number(string)`, which rounds correctly.
 */
function decimal(b: Uint8Array, s: number, e: number): number {
  let i = s;
  const neg = i < e && b[i] === MINUS;
  if (neg || (i < e && b[i] === PLUS)) i++;
  const first = i;
  let n = 0;
  while (i < e && isDigit(b[i])) n = n * 10 + ((b[i++] as number) - ZERO);
  let digits = i - first;
  if (i === e) {
    if (digits === 0) return Number.NaN;
    if (digits <= 15) return neg ? -n : n;
  }
  if (i < e && b[i] === DOT) {
    i++;
    const from = i;
    while (i < e && isDigit(b[i])) i++;
    digits += i - from;
  }
  if (digits === 0) return Number.NaN;
  if (i < e && (b[i] === 0x65 || b[i] === 0x45)) {
    i++;
    if (i < e && (b[i] === PLUS || b[i] === MINUS)) i++;
    const from = i;
    while (i < e && isDigit(b[i])) i++;
    if (i === from) return Number.NaN;
  }
  if (i !== e) return Number.NaN;
  let str = '';
  for (let k = s; k < e; k++) str += String.fromCharCode(b[k] as number);
  return Number(str);
}

/** The integer `[+-]?digits` b[s, e), or NaN; magnitudes above MAX_FEATURES are clamped to MAX_FEATURES + 1. */
function integer(b: Uint8Array, s: number, e: number): number {
  let i = s;
  const neg = i < e && b[i] === MINUS;
  if (neg || (i < e && b[i] === PLUS)) i++;
  if (i === e) return Number.NaN;
  let n = 0;
  for (; i < e; i++) {
    const c = b[i] as number;
    if (c < ZERO || c > NINE) return Number.NaN;
    if (n <= MAX_FEATURES) n = n * 10 + (c - ZERO);
  }
  n = Math.min(n, MAX_FEATURES + 1);
  return neg ? -n : n;
}

/** Whether b[s, e) spells NaN or infinity the way C and Python print them (nan, inf, +Infinity…). */
function nonFiniteWord(b: Uint8Array, s: number, e: number): boolean {
  let i = s;
  if (i < e && (b[i] === PLUS || b[i] === MINUS)) i++;
  let word = '';
  for (; i < e && e - i <= 8; i++) word += String.fromCharCode((b[i] as number) | 0x20);
  return i === e && (word === 'nan' || word === 'inf' || word === 'infinity');
}

function isQid(b: Uint8Array, s: number, e: number): boolean {
  return e - s === 3 && ((b[s] as number) | 0x20) === 0x71 && ((b[s + 1] as number) | 0x20) === 0x69 && ((b[s + 2] as number) | 0x20) === 0x64;
}

/** A token for an error message: UTF-8 decoded (bad bytes as U+FFFD), at most 40 characters. */
function shownToken(b: Uint8Array, s: number, e: number): string {
  const chars: string[] = [];
  let i = s;
  while (i < e && chars.length <= 40) {
    const c = b[i] as number;
    // Length after the lead byte: 0 for ASCII, 1–3 for a multi-byte lead, -1 for a continuation or bad byte.
    const n = c < 0x80 ? 0 : c >= 0xc2 && c < 0xe0 ? 1 : c >= 0xe0 && c < 0xf0 ? 2 : c >= 0xf0 && c < 0xf5 ? 3 : -1;
    let cp = n === 0 ? c : n === 1 ? c & 0x1f : n === 2 ? c & 0x0f : c & 0x07;
    let ok = n >= 0 && i + n < e;
    for (let k = 1; ok && k <= n; k++) {
      const d = b[i + k] as number;
      if ((d & 0xc0) === 0x80) cp = (cp << 6) | (d & 0x3f);
      else ok = false;
    }
    const min = n === 1 ? 0x80 : n === 2 ? 0x800 : n === 3 ? 0x10000 : 0;
    if (ok && cp >= min && cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff)) {
      chars.push(String.fromCodePoint(cp));
      i += n + 1;
    } else {
      chars.push('\ufffd');
      i++;
    }
  }
  return chars.length > 40 ? `${chars.slice(0, 40).join('')}…` : chars.join('');
}

/** A typed array at least `need` long (doubling), holding `a`'s contents. */
function grown<T extends Int32Array | Float64Array | Uint8Array>(a: T, need: number): T {
  let size = Math.max(a.length * 2, 16);
  while (size < need) size *= 2;
  const out = new (a.constructor as new (n: number) => T)(size);
  out.set(a);
  return out;
}
