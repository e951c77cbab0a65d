import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { expectProtocolError, lcg } from '@marina/protocol/testing';
import { canonicalBytes, selectRows, type Dataset } from './dataset.js';
import { formatLibsvm, LibsvmParser, type LibsvmOptions, type LibsvmResult } from './libsvm.js';

/** The shared data sets (see their README), beside the repository: /work/shared/datasets. */
const DATASETS = fileURLToPath(new URL('../../../../../shared/datasets/', import.meta.url));
const haveData = existsSync(`${DATASETS}README.md`);
if (!haveData) console.warn(`libsvm.test.ts: data-set tests SKIPPED, ${DATASETS} is absent`);

/** The bytes of a shared file, gunzipped when it is stored as .gz. */
function fileBytes(name: string): Uint8Array {
  const raw = readFileSync(`${DATASETS}${name}`);
  return new Uint8Array(name.endsWith('.gz') ? gunzipSync(raw) : raw);
}

/** SHA-256 of a data set's canonical bytes: a fast, readable equality of parsed rows (the run fingerprint). */
const digest = (data: Dataset): string => createHash('sha256').update(canonicalBytes(data)).digest('hex');

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

/** Parses `input` pushed as the given chunks (default: one chunk). */
function parse(input: string | Uint8Array, options: Partial<LibsvmOptions> = {}, cuts: number[] = []): LibsvmResult {
  const bytes = typeof input === 'string' ? utf8(input) : input;
  const parser = new LibsvmParser({ source: 'f.txt', features: null, ...options });
  let at = 0;
  for (const cut of [...cuts, bytes.length]) {
    parser.push(bytes.subarray(at, cut));
    at = cut;
  }
  return parser.finish();
}

/** Seeded random cut points: chunks of 1 to `max` bytes. */
function randomCuts(length: number, seed: number, max: number): number[] {
  const rng = lcg(seed);
  const cuts: number[] = [];
  for (let at = 1 + rng.int(max); at < length; at += 1 + rng.int(max)) cuts.push(at);
  return cuts;
}

/**
 * A plain reference reader for well-formed files: split lines, drop comments, split on blanks, Number()
 * every token. The parser must give exactly its rows.
 */
function reference(text: string, features: number | null): Dataset {
  const labels: number[] = [];
  const rowPtr = [0];
  const cols: number[] = [];
  const vals: number[] = [];
  let max = 0;
  for (const line of text.split('\n')) {
    const tokens = line.replace(/#.*/, '').split(/[ \t\r]+/).filter((t) => t !== '');
    if (tokens.length === 0) continue;
    labels.push(Number(tokens[0]));
    for (const pair of tokens.slice(1)) {
      const [i, v] = pair.split(':');
      cols.push(Number(i) - 1);
      vals.push(Number(v));
      max = Math.max(max, Number(i));
    }
    rowPtr.push(cols.length);
  }
  const set = [...new Set(labels)].sort((a, b) => a - b);
  const sign = (y: number): number => (set.length === 2 ? (y === set[0] ? -1 : 1) : y > 0 ? 1 : -1);
  return {
    rows: labels.length,
    features: features ?? max,
    labels: Float64Array.from(labels, sign),
    rowPtr: Int32Array.from(rowPtr),
    cols: Int32Array.from(cols),
    vals: Float64Array.from(vals),
  };
}

/** The data sets' published figures (datasets/README.md). */
const PUBLISHED = [
  { file: 'a9a.gz', features: null, rows: 32561, dim: 123, labels: [-1, 1], positives: 7841 },
  { file: 'a9a.t.gz', features: 123, rows: 16281, dim: 123, labels: [-1, 1], positives: 3846 },
  { file: 'w8a.gz', features: null, rows: 49749, dim: 300, labels: [-1, 1], positives: 1479 },
  { file: 'phishing.gz', features: null, rows: 11055, dim: 68, labels: [0, 1], positives: 6157 },
  { file: 'mushrooms', features: null, rows: 8124, dim: 112, labels: [1, 2], positives: 4208 },
  { file: 'heart_scale', features: null, rows: 270, dim: 13, labels: [-1, 1], positives: 120 },
] as const;

describe.skipIf(!haveData)('LibsvmParser on the shared data sets', () => {
  for (const d of PUBLISHED) {
    it(`${d.file}: ${d.rows} rows, ${d.dim} features, labels [${d.labels.join(', ')}], ${d.positives} mapped to +1`, () => {
      const bytes = fileBytes(d.file);
      const r = parse(bytes, { source: d.file, features: d.features });
      expect(r.rows).toBe(d.rows);
      expect(r.features).toBe(d.dim);
      expect(r.labels).toEqual(d.labels);
      expect(r.data.rows).toBe(d.rows);
      expect(r.data.features).toBe(d.dim);
      expect(r.data.labels.filter((y) => y === 1).length).toBe(d.positives);
      expect(r.data.labels.every((y) => y === 1 || y === -1)).toBe(true);
      // Every value and label is exactly what Number(token) gives.
      expect(digest(r.data)).toBe(digest(reference(new TextDecoder().decode(bytes), d.features)));
    });
  }

  it('a9a.t without a feature count infers 122 (no row uses index 123), and 122 given refuses nothing', () => {
    const bytes = fileBytes('a9a.t.gz');
    expect(parse(bytes).features).toBe(122);
    expect(parse(bytes, { features: 122 }).features).toBe(122);
    expectProtocolError(() => parse(bytes, { source: 'a9a.t', features: 100 }), 'MARINA_ERR_BAD_DATA', /^a9a\.t:\d+: feature index above the feature count 100, got "1\d\d:1"$/);
  });

  it('random chunk splits (seeded, 1 to 97 bytes and 1 to 9000 bytes) give the same rows as one chunk', () => {
    for (const [i, file] of ['a9a.gz', 'phishing.gz', 'heart_scale', 'w8a.gz'].entries()) {
      const bytes = fileBytes(file);
      const whole = parse(bytes);
      for (const max of [97, 9000]) {
        const split = parse(bytes, {}, randomCuts(bytes.length, 1000 * i + max, max));
        expect(split.rows).toBe(whole.rows);
        expect(split.features).toBe(whole.features);
        expect(split.labels).toEqual(whole.labels);
        expect(digest(split.data)).toBe(digest(whole.data));
      }
    }
  });

  it('heart_scale pushed one byte at a time gives the same rows', () => {
    const bytes = fileBytes('heart_scale');
    const cuts = Array.from({ length: bytes.length - 1 }, (_, k) => k + 1);
    expect(digest(parse(bytes, {}, cuts).data)).toBe(digest(parse(bytes).data));
  });

  it('formatLibsvm round-trips every data set (equal canonicalBytes)', () => {
    for (const d of PUBLISHED) {
      const x = parse(fileBytes(d.file), { features: d.features }).data;
      const back = parse(formatLibsvm(x), { features: x.features }).data;
      expect(back.features).toBe(x.features);
      expect(digest(back)).toBe(digest(x));
    }
  });

  it('keep stores exactly the chosen rows (validating the others), with the whole file in `rows`', () => {
    const bytes = fileBytes('a9a.gz');
    const whole = parse(bytes).data;
    const asked: number[] = [];
    const some = parse(bytes, { keep: (row) => (asked.push(row), row % 7 === 3) });
    expect(asked).toEqual(Array.from({ length: 32561 }, (_, k) => k));
    expect(some.rows).toBe(32561);
    expect(some.features).toBe(123);
    const take = asked.filter((row) => row % 7 === 3);
    expect(digest(some.data)).toBe(digest(selectRows(whole, take)));
    const none = parse(bytes, { keep: () => false });
    expect([none.rows, none.features, none.data.rows, none.data.cols.length]).toEqual([32561, 123, 0, 0]);
    expect(none.labels).toEqual([-1, 1]);
  });
});

describe('LibsvmParser: grammar', () => {
  it('reads labels, 1-based pairs (stored 0-based), comments, blank lines, tabs and CRLF', () => {
    const r = parse('# header\n\n+1 1:0.5 3:-2 # note\r\n \t \n-1\t2:1e-3  \n-1 4:7');
    expect(r.rows).toBe(3);
    expect(r.features).toBe(4);
    expect(r.labels).toEqual([-1, 1]);
    expect(Array.from(r.data.labels)).toEqual([1, -1, -1]);
    expect(Array.from(r.data.rowPtr)).toEqual([0, 2, 3, 4]);
    expect(Array.from(r.data.cols)).toEqual([0, 2, 1, 3]);
    expect(Array.from(r.data.vals)).toEqual([0.5, -2, 1e-3, 7]);
  });

  it('a UTF-8 byte order mark opening the file is skipped (split or not), elsewhere it is refused', () => {
    const bytes = Uint8Array.of(0xef, 0xbb, 0xbf, ...utf8('+1 1:2\n-1 2:3\n'));
    for (let cut = 1; cut < bytes.length; cut++) expect(parse(bytes, {}, [cut]).rows).toBe(2);
    expectProtocolError(() => parse(Uint8Array.of(...utf8('1\n'), 0xef, 0xbb, 0xbf, ...utf8('1\n'))), 'MARINA_ERR_BAD_DATA', 'f.txt:2: malformed label, got "\ufeff1"');
  });

  it('a row may have no pairs; a file of such rows has 0 features unless given', () => {
    expect(parse('1\n-1\n').features).toBe(0);
    const r = parse('1\n-1 2:3\n', { features: 5 });
    expect([r.features, r.data.features, r.data.rowPtr[1], r.data.rowPtr[2]]).toEqual([5, 5, 0, 1]);
  });

  it('values are exactly Number(token), explicit zeros and -0 kept', () => {
    const tokens = ['0.1', '-0', '0', '+.5', '5.', '1e-320', '5e-324', '2.2250738585072014e-308', '123456789012345678901234567890',
      '9007199254740993', '0.30000000000000004', '1E+21', '-7.25e-3', '000000000000000000012', '3.14159265358979323846264338327950288'];
    const r = parse(`1 ${tokens.map((t, k) => `${k + 1}:${t}`).join(' ')}\n`);
    expect(r.data.vals.length).toBe(tokens.length);
    tokens.forEach((t, k) => expect(Object.is(r.data.vals[k], Number(t)), t).toBe(true));
  });

  it('label maps: {-1,+1}, {0,1}, {1,2} by order; one label by sign', () => {
    const labels = (text: string): number[] => Array.from(parse(text).data.labels);
    expect(labels('+1\n-1\n')).toEqual([1, -1]);
    expect(labels('0\n1\n0\n')).toEqual([-1, 1, -1]);
    expect(labels('2\n1\n')).toEqual([1, -1]);
    expect(labels('-3.5\n7\n')).toEqual([-1, 1]);
    expect(labels('1\n1\n')).toEqual([1, 1]);
    expect(labels('2\n')).toEqual([1]);
    expect(labels('0\n')).toEqual([-1]);
    expect(labels('-1\n')).toEqual([-1]);
    expect(parse('2\n1\n2\n').labels).toEqual([1, 2]);
  });

  it('a given label set maps kept rows the way the whole file does, and refuses other labels', () => {
    const r = parse('1\n1\n', { labels: [0, 1] });
    expect(Array.from(r.data.labels)).toEqual([1, 1]);
    expect(r.labels).toEqual([1]);
    expect(Array.from(parse('0\n', { labels: [1, 0] }).data.labels)).toEqual([-1]);
    expectProtocolError(() => parse('1\n3\n', { labels: [0, 1] }), 'MARINA_ERR_BAD_DATA', `f.txt:2: label is not one of the file's labels (0, 1), got "3"`);
    expect(() => parse('1\n', { labels: [0, 1, 2] })).toThrow(RangeError);
    expect(() => parse('1\n', { labels: [] })).toThrow(RangeError);
    expect(() => parse('1\n', { labels: [1, 1] })).toThrow(RangeError);
  });

  it('a multi-byte character split across chunks is decoded whole in comments and in error tokens', () => {
    const good = utf8('# café ☃ 𝄞\n+1 1:0.5 # ü\n');
    const bytes = utf8('# café ☃ 𝄞\n+1 1:0.5 # ü\n-1 2:x☃y\n');
    for (let cut = 1; cut < bytes.length; cut++) {
      expectProtocolError(() => parse(bytes, {}, [cut]), 'MARINA_ERR_BAD_DATA', 'f.txt:3: malformed index:value pair, got "2:x☃y"');
      expectProtocolError(() => parse(bytes, {}, [cut, Math.min(cut + 2, bytes.length)]), 'MARINA_ERR_BAD_DATA', 'f.txt:3: malformed index:value pair, got "2:x☃y"');
      if (cut < good.length) expect(parse(good, {}, [cut]).rows).toBe(1);
    }
  });

  it('an invalid UTF-8 byte in a token is shown as U+FFFD; long tokens are cut at 40 characters', () => {
    expectProtocolError(() => parse(Uint8Array.of(0x31, 0x20, 0x31, 0x3a, 0xff, 0x0a)), 'MARINA_ERR_BAD_DATA', 'f.txt:1: malformed index:value pair, got "1:\ufffd"');
    expectProtocolError(() => parse(`1 1:${'9'.repeat(60)}z\n`), 'MARINA_ERR_BAD_DATA', `f.txt:1: malformed index:value pair, got "1:${'9'.repeat(38)}…"`);
  });
});

describe('LibsvmParser: malformed input is refused at its line (MARINA_ERR_BAD_DATA)', () => {
  const cases: [string, string, Partial<LibsvmOptions>, number, string][] = [
    ['malformed label', '1 1:1\n\nabc 1:1\n', {}, 3, 'malformed label, got "abc"'],
    ['a pair in place of the label', '1:1 2:1\n', {}, 1, 'malformed label, got "1:1"'],
    ['hexadecimal label', '0x1 1:1\n', {}, 1, 'malformed label, got "0x1"'],
    ['NaN label', '# c\nnan 1:1\n', {}, 2, 'label is not finite, got "nan"'],
    ['infinite label', '1\n-Infinity\n', {}, 2, 'label is not finite, got "-Infinity"'],
    ['overflowing label', '1e999\n', {}, 1, 'label is not finite, got "1e999"'],
    ['pair without a colon', '1 1:1\n1 2\n', {}, 2, 'malformed index:value pair, got "2"'],
    ['pair without an index', '1 :1\n', {}, 1, 'malformed index:value pair, got ":1"'],
    ['pair without a value', '1 1:\n', {}, 1, 'malformed index:value pair, got "1:"'],
    ['two colons', '1 1:2:3\n', {}, 1, 'malformed index:value pair, got "1:2:3"'],
    ['fractional index', '1 1.5:2\n', {}, 1, 'malformed index:value pair, got "1.5:2"'],
    ['malformed value', '1 1:1,5\n', {}, 1, 'malformed index:value pair, got "1:1,5"'],
    ['space inside a pair', '1 1: 2\n', {}, 1, 'malformed index:value pair, got "1:"'],
    ['index 0', '1 0:1\n', {}, 1, 'feature index must be at least 1, got "0:1"'],
    ['negative index', '1\n1 -3:1\n', {}, 2, 'feature index must be at least 1, got "-3:1"'],
    ['decreasing indices', '1 1:1 5:1 3:1\n', {}, 1, 'feature indices must be strictly increasing (previous index 5), got "3:1"'],
    ['repeated index', '1\r\n1 2:1 2:1\r\n', {}, 2, 'feature indices must be strictly increasing (previous index 2), got "2:1"'],
    ['index above the given count', '1 3:1\n1 4:1\n', { features: 3 }, 2, 'feature index above the feature count 3, got "4:1"'],
    ['index above int32', '1 2147483648:1\n', {}, 1, 'feature index above the largest supported, 2147483647, got "2147483648:1"'],
    ['NaN value', '1 1:NaN\n', {}, 1, 'value is not finite, got "1:NaN"'],
    ['inf value', '1 1:1\n-1 1:-inf\n', {}, 2, 'value is not finite, got "1:-inf"'],
    ['overflowing value', '1 1:1e309\n', {}, 1, 'value is not finite, got "1:1e309"'],
    ['qid', '1 qid:3 1:1\n', {}, 1, 'qid (svmlight ranking query ids) is not supported, got "qid:3"'],
    ['a third label', '1\n2\n1\n3\n', {}, 4, 'more than two distinct labels (1, 2, 3); binary classification needs one or two, got "3"'],
    ['an error on the last line without a newline', '1 1:1\n1 1:x', {}, 2, 'malformed index:value pair, got "1:x"'],
  ];
  for (const [what, text, options, line, message] of cases) {
    it(`${what}: line ${line}`, () => {
      const e = expectProtocolError(() => parse(text, options), 'MARINA_ERR_BAD_DATA', `f.txt:${line}: ${message}`);
      expect(e.data).toEqual({ file: 'f.txt', line });
      // The same error whatever the chunking.
      const bytes = utf8(text);
      for (let cut = 1; cut < bytes.length; cut++) expectProtocolError(() => parse(bytes, options, [cut]), 'MARINA_ERR_BAD_DATA', `f.txt:${line}: ${message}`);
    });
  }

  it('an empty file, or one of blank lines and comments only, has no rows', () => {
    expectProtocolError(() => parse(''), 'MARINA_ERR_BAD_DATA', 'f.txt:1: no rows (the file is empty or holds only blank lines and comments)');
    const e = expectProtocolError(() => parse('\n# only a comment\n  \r\n\t\n'), 'MARINA_ERR_BAD_DATA', 'f.txt:4: no rows (the file is empty or holds only blank lines and comments)');
    expect(e.data).toEqual({ file: 'f.txt', line: 4 });
  });

  it('push throws at the first bad line; the parser then stays failed; finish twice is an error', () => {
    const parser = new LibsvmParser({ source: 'f.txt', features: null });
    parser.push(utf8('1 1:1\n1 0'));
    const first = expectProtocolError(() => parser.push(utf8(':1\n')), 'MARINA_ERR_BAD_DATA', 'f.txt:2: feature index must be at least 1, got "0:1"');
    expect(() => parser.push(utf8('1 1:1\n'))).toThrow(first);
    expect(() => parser.finish()).toThrow(first);
    const ok = new LibsvmParser({ source: 'g', features: null });
    ok.push(utf8('1'));
    expect(ok.finish().rows).toBe(1);
    expect(() => ok.finish()).toThrow(/already finished/);
    expect(() => ok.push(utf8('1\n'))).toThrow(/already finished/);
    // A throwing keep kills the parser too.
    const boom = new LibsvmParser({ source: 'h', features: null, keep: () => { throw new Error('boom'); } });
    expect(() => boom.push(utf8('1\n'))).toThrow('boom');
    expect(() => boom.finish()).toThrow('boom');
  });

  it('a bad feature count option is a RangeError', () => {
    expect(() => new LibsvmParser({ source: 'f', features: -1 })).toThrow(RangeError);
    expect(() => new LibsvmParser({ source: 'f', features: 1.5 })).toThrow(RangeError);
  });
});

describe('formatLibsvm', () => {
  it('writes ±1 labels, 1-based indices and String(v) values (-0 as -0)', () => {
    const x = parse('2 1:0.1 7:-0 9:1e+21\n1\n1 3:5e-324\n').data;
    expect(formatLibsvm(x)).toBe('+1 1:0.1 7:-0 9:1e+21\n-1\n-1 3:5e-324\n');
    expect(digest(parse(formatLibsvm(x)).data)).toBe(digest(x));
    expect(formatLibsvm({ ...x, rows: 0, rowPtr: Int32Array.of(0) })).toBe('');
  });

  it('refuses labels other than ±1 and non-finite values', () => {
    const x: Dataset = { rows: 1, features: 1, labels: Float64Array.of(3), rowPtr: Int32Array.of(0, 1), cols: Int32Array.of(0), vals: Float64Array.of(1) };
    expect(() => formatLibsvm(x)).toThrow(/label 3 is not ±1/);
    expect(() => formatLibsvm({ ...x, labels: Float64Array.of(1), vals: Float64Array.of(Number.NaN) })).toThrow(/not finite/);
  });
});
