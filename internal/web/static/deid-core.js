// deid-core.js — the DICOM de-identification of internal/deid, in JavaScript, so
// that it runs in the browser before any byte is uploaded (deid-worker.js). It is
// a line-by-line port of the Go package: the same tables (deid-tables.js,
// generated from internal/deid), the same rules, and for the same seed the same
// bytes out; cmd/medbox's browser test compares the two on every test file.
//
// rewrite(send, src) reads the input through src.read(pos, n) (synchronous: a
// FileReaderSync in the worker) and returns the output as parts: new bytes
// (Uint8Array) or ranges {off, n} of the input, which the worker turns into
// Blob.slice calls, so pixel data is never copied.

import { DICT, PROFILE } from './deid-tables.js';

export class DeidError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code; // 'not_dicom' or 'malformed'
  }
}

const UNDEFINED = 0xffffffff;
const READ_LIMIT = 64 << 10;
const WINDOW_SIZE = 1 << 20;
const MAX_DEPTH = 32;
const MAX_ELEMENTS = 1 << 20;
const MAX_INFLATED = 1 << 30;

const TAG_ITEM = 0xfffee000;
const TAG_ITEM_DELIM = 0xfffee00d;
const TAG_SEQ_DELIM = 0xfffee0dd;
const TAG_PIXEL_DATA = 0x7fe00010;
const TAG_TRANSFER_SYNTAX = 0x00020010;
const TAG_PATIENT_NAME = 0x00100010;
const TAG_PATIENT_ID = 0x00100020;
const TAG_OTHER_PATIENT_IDS = 0x00101000;
const TAG_BIRTH_DATE = 0x00100030;
const TAG_ACCESSION = 0x00080050;
const TAG_MODALITY = 0x00080060;
const TAG_SOP_CLASS = 0x00080016;
const TAG_BURNED_IN = 0x00280301;
const TAG_DIRECTORY_RECORDS = 0x00041220;
const TAG_IDENTITY_REMOVED = 0x00120062;
const TAG_DEID_METHOD = 0x00120063;
const TAG_DEID_CODES = 0x00120064;
const TAG_LONGITUDINAL = 0x00280303;

export const METHOD = 'MedBox: PS3.15 Basic Profile';

const UID_IMPLICIT_LE = '1.2.840.10008.1.2';
const UID_EXPLICIT_BE = '1.2.840.10008.1.2.2';
export const UID_DEFLATED_LE = '1.2.840.10008.1.2.1.99';

const SHORT_VRS = new Set('AE AS AT CS DA DS DT FL FD IS LO LT PN SH SL SS ST TM UI UL US'.split(' '));
const BULK_VRS = new Set('OB OD OF OL OV OW UN'.split(' '));
const BULK_LIMIT = 1024;
const LONG_VRS = new Set('OB OD OF OL OV OW SQ SV UC UN UR UT UV'.split(' '));

const KEPT_UIDS = new Set([0x00020002, 0x00020010, 0x00020012, 0x00080016, 0x0008001a, 0x0008001b, 0x00080062,
  0x0008010c, 0x0008010d, 0x00080118, 0x00081150, 0x00041510, 0x00041512, 0x00041432]);

const SAFE_PRIVATE = new Map([
  ['SIEMENS MR HEADER', [0x0019000c, 0x0019000d, 0x0019000e, 0x00190027]],
  ['GEMS_PARM_01', [0x00430039]],
  ['Philips Imaging DD 001', [0x20010003, 0x20010004]],
  ['Philips PET Private Group', [0x70530000, 0x70530009]],
]);

const OFFSET_TAGS = new Set([0x00041200, 0x00041202, 0x00041400, 0x00041420]);

const METHOD_CODES = [
  ['', '113100', 'Basic Application Confidentiality Profile'],
  ['P', '113108', 'Retain Patient Characteristics Option'],
  ['L', '113107', 'Retain Longitudinal Temporal Information Modified Dates Option'],
  ['D', '113105', 'Clean Descriptors Option'],
  ['V', '113109', 'Retain Device Identity Option'],
];

const META_VRS = new Map([[0x0000, 'UL'], [0x0001, 'OB'], [0x0002, 'UI'], [0x0003, 'UI'], [0x0010, 'UI'], [0x0012, 'UI'],
  [0x0013, 'SH'], [0x0016, 'AE'], [0x0017, 'AE'], [0x0018, 'AE'], [0x0100, 'UI'], [0x0102, 'OB']]);

// The tables, read once.
const profile = new Map();
const dictVR = new Map();
for (const line of lines(PROFILE)) {
  const f = line.split(/\s+/);
  const opts = new Map();
  for (const o of f.slice(2)) opts.set(o[0], o[2]);
  profile.set(parseInt(f[0], 16) >>> 0, { basic: f[1], opts });
}
for (const line of lines(DICT)) {
  const f = line.split(/\s+/);
  dictVR.set(parseInt(f[0], 16) >>> 0, f[1]);
}

function lines(s) {
  return s.split('\n').map((l) => l.trim()).filter((l) => l !== '' && l[0] !== '#');
}

const enc8 = new TextEncoder();
const latin1 = (b) => String.fromCharCode(...b);
const bytesOf = (s) => {
  const b = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i) & 0xff;
  return b;
};

// Options, as in Go: the letters of the profile table's option columns.
export function defaultOptions() {
  return { retainPatientCharacteristics: true, modifiedDates: false, cleanDescriptors: false, retainDeviceIdentity: false };
}

function hasOption(opts, letter) {
  switch (letter) {
    case 'P': return !!opts.retainPatientCharacteristics;
    case 'L': return !!opts.modifiedDates;
    case 'D': return !!opts.cleanDescriptors;
    case 'V': return !!opts.retainDeviceIdentity;
  }
  return false;
}

// Send is one send: pseudonyms, UIDs and the date shift from one seed (32 bytes).
export class Send {
  constructor(opts, seed) {
    if (!seed) {
      seed = new Uint8Array(32);
      crypto.getRandomValues(seed);
    }
    this.opts = { ...defaultOptions(), ...opts };
    this.key = hmacKey(seed);
    this.uidMap = new Map();
    this.names = new Map();
    const sum = this.mac('dates', '');
    this.days = 365 + (((sum[0] << 24) | (sum[1] << 16) | (sum[2] << 8) | sum[3]) >>> 0) % 3286;
  }

  mac(kind, value) {
    const k = bytesOf(kind);
    const v = typeof value === 'string' ? bytesOf(value) : value;
    const m = new Uint8Array(k.length + 1 + v.length);
    m.set(k);
    m.set(v, k.length + 1);
    return hmac(this.key, m);
  }

  uid(old) {
    old = old.replace(/[\0 ]+$/, '');
    if (old === '' || old.startsWith('1.2.840.10008.')) return old;
    const known = this.uidMap.get(old);
    if (known) return known;
    const b = this.mac('uid', old).slice(0, 16);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let n = 0n;
    for (const x of b) n = (n << 8n) | BigInt(x);
    const u = '2.25.' + n.toString();
    this.uidMap.set(old, u);
    return u;
  }

  pseudonym(key) {
    key = key.replace(/[\0 ]+$/, '');
    const known = this.names.get(key);
    if (known) return known;
    const sum = this.mac('patient', key);
    const v = ((sum[0] << 24) | (sum[1] << 16) | (sum[2] << 8) | sum[3]) >>> 0;
    const A = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
    let out = 'ANON-';
    for (let i = 0; i < 4; i++) out += A[(v >>> (27 - 5 * i)) & 31];
    this.names.set(key, out);
    return out;
  }

  shiftDate(v) {
    if (!/^[0-9]{8}$/.test(v)) return '';
    const y = +v.slice(0, 4);
    const m = +v.slice(4, 6);
    const d = +v.slice(6);
    if (m < 1 || m > 12 || d < 1 || d > 31) return '';
    const t = new Date(0);
    t.setUTCFullYear(y, m - 1, d);
    t.setUTCDate(t.getUTCDate() - this.days);
    const ty = t.getUTCFullYear();
    if (ty < 0 || ty > 9999) return '';
    return String(ty).padStart(4, '0') + String(t.getUTCMonth() + 1).padStart(2, '0') + String(t.getUTCDate()).padStart(2, '0');
  }
}

// --- reading ---

class Window {
  constructor(src) {
    this.src = src;
    this.size = src.size;
    this.buf = new Uint8Array(0);
    this.off = 0;
  }

  at(pos, n) {
    if (pos < 0 || n < 0 || pos + n > this.size) {
      throw new DeidError('malformed', `${n} bytes at ${pos} run past the end (${this.size})`);
    }
    if (pos >= this.off && pos + n <= this.off + this.buf.length) {
      return this.buf.subarray(pos - this.off, pos - this.off + n);
    }
    const m = Math.min(Math.max(n, WINDOW_SIZE), this.size - pos);
    this.buf = this.src.read(pos, m);
    this.off = pos;
    return this.buf.subarray(0, n);
  }

  copyAt(pos, n) {
    return this.at(pos, n).slice();
  }
}

function u16(b, i, big) {
  return big ? (b[i] << 8) | b[i + 1] : b[i] | (b[i + 1] << 8);
}

function u32(b, i, big) {
  return (big ? ((b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]) : (b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24))) >>> 0;
}

function tagAt(b, i, big) {
  return ((u16(b, i, big) << 16) | u16(b, i + 2, big)) >>> 0;
}

const isVRShape = (b, i) => b[i] >= 0x41 && b[i] <= 0x5a && b[i + 1] >= 0x41 && b[i + 1] <= 0x5a;
const hex8 = (t) => t.toString(16).toUpperCase().padStart(8, '0');

function lookupVR(t) {
  if ((t & 0xffff) === 0) return 'UL';
  if ((t >>> 16) & 1) return 'UN';
  return dictVR.get(t) || 'UN';
}

class Parser {
  constructor(w) {
    this.w = w;
    this.count = 0;
  }

  malformed(pos, msg) {
    return new DeidError('malformed', `at byte ${pos}: ${msg}`);
  }

  counted(pos) {
    if (++this.count > MAX_ELEMENTS) throw this.malformed(pos, `more than ${MAX_ELEMENTS} elements`);
  }

  dataset(pos, end, depth, enc, delimited) {
    if (depth > MAX_DEPTH) throw this.malformed(pos, `sequences nested deeper than ${MAX_DEPTH}`);
    const out = [];
    while (pos < end) {
      if (end - pos < 8) {
        if (depth === 0) break;
        throw this.malformed(pos, `${end - pos} stray bytes where an element should start`);
      }
      const t = tagAt(this.w.at(pos, 4), 0, enc.big);
      if (t === TAG_ITEM_DELIM) {
        if (delimited) return [out, pos + 8];
        throw this.malformed(pos, 'unexpected item delimiter');
      }
      if (t === TAG_ITEM || t === TAG_SEQ_DELIM) throw this.malformed(pos, 'unexpected item tag outside a sequence');
      const [e, next] = this.element(pos, end, depth, enc);
      out.push(e);
      pos = next;
    }
    if (delimited) throw this.malformed(pos, 'item has no delimiter');
    return [out, pos];
  }

  element(pos, end, depth, enc) {
    this.counted(pos);
    let h = this.w.at(pos, 8);
    const t = tagAt(h, 0, enc.big);
    const e = { tag: t, vr: '', hvr: '', undef: false, value: null, off: 0, n: 0, seq: false, items: null, inner: enc,
      raw: false, rawOff: 0, rawN: 0, groupLen: false, offsetRef: false };
    let length;
    let hdr = 8;
    if (enc.implicit) {
      length = u32(h, 4, enc.big);
      e.vr = lookupVR(t);
    } else {
      if (!isVRShape(h, 4)) throw this.malformed(pos, `element ${hex8(t)} has no valid VR`);
      e.hvr = String.fromCharCode(h[4], h[5]);
      e.vr = e.hvr;
      if (SHORT_VRS.has(e.hvr)) {
        length = u16(h, 6, enc.big);
      } else {
        h = this.w.at(pos, 12);
        length = u32(h, 8, enc.big);
        hdr = 12;
      }
      if (e.vr === 'UN') e.vr = lookupVR(t);
    }
    const vpos = pos + hdr;
    e.undef = length === UNDEFINED;
    if (t === TAG_PIXEL_DATA && e.undef) {
      const next = this.fragments(vpos, end);
      e.raw = true;
      e.rawOff = pos;
      e.rawN = next - pos;
      return [e, next];
    }
    const inner = e.hvr === 'UN' ? { big: false, implicit: true } : enc;
    if (e.undef) {
      if (e.vr !== 'SQ' && e.hvr !== 'UN' && !enc.implicit) throw this.malformed(pos, `element ${hex8(t)} (${e.hvr}) has undefined length`);
      const [items, next] = this.items(vpos, end, depth, inner, true);
      Object.assign(e, { seq: true, items, inner, vr: 'SQ' });
      return [e, next];
    }
    if (length > end - vpos) throw this.malformed(pos, `element ${hex8(t)} declares ${length} bytes but only ${end - vpos} remain`);
    const next = vpos + length;
    if (e.vr === 'SQ') {
      const [items] = this.items(vpos, next, depth, inner, false);
      Object.assign(e, { seq: true, items, inner });
      return [e, next];
    }
    e.off = vpos;
    e.n = length;
    // Binary values are kept or removed whole: beyond BULK_LIMIT they are
    // copied from the input, never read.
    if (length <= READ_LIMIT && !(BULK_VRS.has(e.vr) && length > BULK_LIMIT)) e.value = this.w.copyAt(vpos, length);
    return [e, next];
  }

  items(pos, end, depth, enc, delimited) {
    const out = [];
    for (;;) {
      if (pos >= end) {
        if (delimited) throw this.malformed(pos, 'sequence has no delimiter');
        return [out, pos];
      }
      const h = this.w.at(pos, 8);
      const t = tagAt(h, 0, enc.big);
      const length = u32(h, 4, enc.big);
      if (t === TAG_SEQ_DELIM) {
        if (!delimited) throw this.malformed(pos, 'sequence delimiter in a sequence of defined length');
        return [out, pos + 8];
      }
      if (t !== TAG_ITEM) throw this.malformed(pos, `expected an item, found ${hex8(t)}`);
      this.counted(pos);
      const it = { off: pos, undef: length === UNDEFINED, elems: null };
      if (it.undef) {
        [it.elems, pos] = this.dataset(pos + 8, end, depth + 1, enc, true);
      } else {
        const n = Math.min(length, end - pos - 8);
        [it.elems] = this.dataset(pos + 8, pos + 8 + n, depth + 1, enc, false);
        pos += 8 + n;
      }
      out.push(it);
    }
  }

  fragments(pos, end) {
    for (;;) {
      if (end - pos < 8) throw this.malformed(pos, 'encapsulated pixel data has no sequence delimiter');
      const h = this.w.at(pos, 8);
      const t = tagAt(h, 0, false);
      const length = u32(h, 4, false);
      if (t === TAG_SEQ_DELIM) return pos + 8;
      if (t !== TAG_ITEM) throw this.malformed(pos, `expected a fragment, found ${hex8(t)}`);
      if (length > end - pos - 8) throw this.malformed(pos, `fragment declares ${length} bytes but only ${end - pos - 8} remain`);
      this.counted(pos);
      pos += 8 + length;
    }
  }
}

function hasDICM(w, pos) {
  const b = w.at(pos, 4);
  return b[0] === 0x44 && b[1] === 0x49 && b[2] === 0x43 && b[3] === 0x4d;
}

function knownVR(b, i) {
  const v = String.fromCharCode(b[i], b[i + 1]);
  return SHORT_VRS.has(v) || LONG_VRS.has(v);
}

function guessSyntax(b) {
  if (b.length < 8) return null;
  const le = u16(b, 0, false);
  const be = u16(b, 0, true);
  const explicit = knownVR(b, 4);
  if (le >= 0x0008 && le <= 0x00ff && explicit) return '1.2.840.10008.1.2.1';
  if (le >= 0x0008 && le <= 0x00ff) return UID_IMPLICIT_LE;
  if (be >= 0x0008 && be <= 0x00ff && explicit) return UID_EXPLICIT_BE;
  return null;
}

function sniffVR(b, enc) {
  const looksExplicit = knownVR(b, 4);
  if (!enc.implicit && !looksExplicit) return { ...enc, implicit: true };
  if (enc.implicit && looksExplicit && !enc.big && u32(b, 4, false) >= 0x10000) return { ...enc, implicit: false };
  return enc;
}

// parseFile reads the structure of a file. A deflated dataset is returned as
// {deflated: true, rest}: the caller inflates it (asynchronously) and calls
// parseInflated.
function parseFile(src) {
  const w = new Window(src);
  const size = src.size;
  const f = { prefix: null, meta: [], enc: { big: false, implicit: false }, ds: null, deflated: false };
  let pos = 0;
  if (size >= 132 && hasDICM(w, 128)) {
    f.prefix = new Uint8Array(132);
    f.prefix.set([0x44, 0x49, 0x43, 0x4d], 128);
    pos = 132;
  } else if (size >= 4 && hasDICM(w, 0)) {
    f.prefix = new Uint8Array([0x44, 0x49, 0x43, 0x4d]);
    pos = 4;
  }
  const p = new Parser(w);
  while (size - pos >= 8) {
    const b = w.at(pos, 6);
    if (u16(b, 0, false) !== 0x0002) break;
    const enc = { big: false, implicit: !isVRShape(b, 4) };
    let e;
    let next;
    try {
      [e, next] = p.element(pos, size, 0, enc);
    } catch (err) {
      if (err instanceof DeidError) err.message = 'file meta information: ' + err.message;
      throw err;
    }
    f.meta.push(e);
    pos = next;
  }
  let ts = '';
  for (const e of f.meta) if (e.tag === TAG_TRANSFER_SYNTAX) ts = latin1(e.value || []).replace(/[\0 ]+$/, '');
  if (!f.prefix && f.meta.length === 0) {
    const head = w.at(pos, Math.min(size - pos, 12));
    const guess = guessSyntax(head);
    if (!guess) throw new DeidError('not_dicom', 'not a DICOM file');
    ts = guess;
  }
  if (ts === UID_IMPLICIT_LE) f.enc = { big: false, implicit: true };
  if (ts === UID_EXPLICIT_BE) f.enc = { big: true, implicit: false };
  if (ts === UID_DEFLATED_LE) {
    f.deflated = true;
    f.deflatedAt = pos;
    f.count = p.count;
    return f;
  }
  return parseDataset(f, w, p, pos, size);
}

function parseDataset(f, w, p, pos, size) {
  if (size - pos >= 8) f.enc = sniffVR(w.at(pos, 8), f.enc);
  [f.ds] = p.dataset(pos, size, 0, f.enc, false);
  if (f.ds.length === 0 && f.meta.length === 0) throw new DeidError('not_dicom', 'not a DICOM file');
  return f;
}

// --- the profile ---

const KEEP = 0;
const REMOVE = 1;
const EMPTY = 2;
const DUMMY = 3;
const NEW_UID = 4;
const RECURSE = 5;
const CLEAN = 6;
const SHIFT = 7;
const PSEUDONYM = 8;

const find = (ds, t) => ds.find((e) => e.tag === t) || null;
const text = (e) => (e && e.value ? latin1(e.value).replace(/^[\0 ]+|[\0 ]+$/g, '') : '');

function burnedIn(ds) {
  if (text(find(ds, TAG_BURNED_IN)).toUpperCase() === 'YES') return true;
  if (['US', 'SC', 'XA', 'ES', 'OT'].includes(text(find(ds, TAG_MODALITY)).toUpperCase())) return true;
  return text(find(ds, TAG_SOP_CLASS)).startsWith('1.2.840.10008.5.1.4.1.1.7');
}

function pad(b, c) {
  if (b.length % 2 === 1) {
    const out = new Uint8Array(b.length + 1);
    out.set(b);
    out[b.length] = c;
    return out;
  }
  return b;
}

const trimNulSpace = (s) => s.replace(/^[\0 ]+|[\0 ]+$/g, '');

function dummyValue(vr) {
  switch (vr) {
    case 'PN': return bytesOf('ANONYMOUS ');
    case 'DA': return bytesOf('19000101');
    case 'TM': return bytesOf('000000');
    case 'DT': return bytesOf('19000101000000');
    case 'AE': case 'AS': case 'CS': case 'LO': case 'LT': case 'SH': case 'ST': case 'UC': case 'UT':
      return bytesOf('ANONYMIZED');
  }
  return new Uint8Array(0);
}

function upper(x) {
  return x >= 0x61 && x <= 0x7a ? x - 0x20 : x;
}

class Rewriter {
  constructor(send) {
    this.s = send;
    this.idents = [];
    this.names = new Set();
  }

  collect(ds) {
    const seen = new Set();
    const add = (s) => {
      s = trimNulSpace(s);
      if (s.length >= 2 && !seen.has(s)) {
        seen.add(s);
        this.idents.push(bytesOf(s));
      }
    };
    const walk = (ds) => {
      for (const e of ds) {
        if (e.tag === TAG_PATIENT_NAME) {
          for (const g of latin1(e.value || []).split('=')) for (const c of g.split('^')) add(c);
        } else if ([TAG_PATIENT_ID, TAG_ACCESSION, TAG_BIRTH_DATE, TAG_OTHER_PATIENT_IDS].includes(e.tag)) {
          for (const v of latin1(e.value || []).split('\\')) add(v);
        }
        for (const it of e.items || []) walk(it.elems);
      }
    };
    walk(ds);
    this.idents.sort((a, b) => {
      if (a.length !== b.length) return b.length - a.length;
      for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] - b[i];
      return 0;
    });
  }

  actionFor(e) {
    const t = e.tag;
    const opts = this.s.opts;
    const g = t >>> 16;
    if (t === TAG_PATIENT_NAME || t === TAG_PATIENT_ID) return PSEUDONYM;
    if ((g >= 0x5000 && g <= 0x501e && g % 2 === 0) || (g >= 0x6000 && g <= 0x601e && g % 2 === 0)) return REMOVE;
    const r = profile.get(t);
    if (r) {
      let k = false;
      let c = false;
      let dates = false;
      for (const [letter, a] of r.opts) {
        if (hasOption(opts, letter)) {
          k = k || a === 'K';
          if (a === 'C') {
            c = true;
            dates = dates || letter === 'L';
          }
        }
      }
      if (k) return e.seq ? RECURSE : KEEP;
      if (c && dates) return SHIFT;
      if (c) return CLEAN;
      switch (r.basic) {
        case 'X': case 'X/D': return REMOVE;
        case 'Z': case 'X/Z': case 'Z/D': case 'X/Z/D': return EMPTY;
        case 'D': return e.seq ? RECURSE : DUMMY;
        case 'U': return NEW_UID;
        case 'X/Z/U*': return RECURSE;
      }
      return REMOVE;
    }
    switch (e.vr) {
      case 'UI': return KEPT_UIDS.has(t) ? KEEP : NEW_UID;
      case 'DA': case 'DT': return opts.modifiedDates ? SHIFT : REMOVE;
      case 'PN': return REMOVE;
      case 'AE': return opts.retainDeviceIdentity ? KEEP : REMOVE;
    }
    return e.seq ? RECURSE : KEEP;
  }

  dataset(ds) {
    let key = text(find(ds, TAG_PATIENT_ID));
    if (key === '') key = text(find(ds, TAG_PATIENT_NAME));
    const creators = new Map();
    for (const e of ds) {
      const g = e.tag >>> 16;
      const el = e.tag & 0xffff;
      if (g & 1 && el >= 0x10 && el <= 0xff) creators.set(g * 256 + el, text(e));
    }
    const out = [];
    for (const e of ds) {
      if ((e.tag >>> 16) & 1) {
        if (safePrivateElem(e.tag, creators)) out.push(e);
        continue;
      }
      if ((e.tag & 0xffff) === 0) {
        e.groupLen = true;
        out.push(e);
        continue;
      }
      if (OFFSET_TAGS.has(e.tag)) {
        e.offsetRef = true;
        out.push(e);
        continue;
      }
      switch (this.actionFor(e)) {
        case KEEP:
          out.push(e);
          break;
        case REMOVE:
          break;
        case EMPTY:
          e.value = new Uint8Array(0);
          e.n = 0;
          e.items = e.seq ? [] : null;
          out.push(e);
          break;
        case DUMMY:
          e.value = dummyValue(e.vr);
          e.n = 0;
          out.push(e);
          break;
        case NEW_UID:
          if (e.value) {
            e.value = this.uids(e.value);
            out.push(e);
          }
          break;
        case RECURSE:
          for (const it of e.items) it.elems = this.dataset(it.elems);
          out.push(e);
          break;
        case CLEAN:
          if (e.value) {
            e.value = pad(this.clean(e.value), 0x20);
            out.push(e);
          }
          break;
        case SHIFT:
          if (e.value) {
            e.value = this.shift(e.vr, e.value);
            out.push(e);
          }
          break;
        case PSEUDONYM: {
          const p = this.s.pseudonym(key);
          this.names.add(p);
          e.value = pad(bytesOf(p), 0x20);
          e.n = 0;
          out.push(e);
          break;
        }
      }
    }
    return out;
  }

  uids(v) {
    const parts = latin1(v).replace(/[\0 ]+$/, '').split('\\').map((p) => this.s.uid(p.trim()));
    return pad(bytesOf(parts.join('\\')), 0);
  }

  clean(v) {
    let end = v.length;
    while (end > 0 && (v[end - 1] === 0 || v[end - 1] === 0x20)) end--;
    let cur = Array.from(v.subarray(0, end));
    for (const id of this.idents) {
      const out = [];
      for (let i = 0; i < cur.length;) {
        let match = i + id.length <= cur.length;
        for (let j = 0; match && j < id.length; j++) match = upper(cur[i + j]) === upper(id[j]);
        if (match) {
          out.push(0x2a, 0x2a, 0x2a);
          i += id.length;
        } else {
          out.push(cur[i]);
          i++;
        }
      }
      cur = out;
    }
    return new Uint8Array(cur);
  }

  shift(vr, v) {
    if (vr !== 'DA' && vr !== 'DT') return v;
    const parts = latin1(v).replace(/[\0 ]+$/, '').split('\\');
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i].trim();
      parts[i] = p;
      if (p === '') continue;
      if (vr === 'DA') parts[i] = this.s.shiftDate(p);
      else if (p.length >= 8) {
        const d = this.s.shiftDate(p.slice(0, 8));
        parts[i] = d !== '' ? d + p.slice(8) : '';
      } else parts[i] = '';
    }
    return pad(bytesOf(parts.join('\\')), 0x20);
  }

  mark(ds, enc) {
    const opts = this.s.opts;
    const items = [];
    for (const [option, code, meaning] of METHOD_CODES) {
      if (option !== '' && !hasOption(opts, option)) continue;
      items.push({ off: -1, undef: false, elems: [
        newElem(0x00080100, 'SH', pad(bytesOf(code), 0x20), enc),
        newElem(0x00080102, 'SH', bytesOf('DCM '), enc),
        newElem(0x00080104, 'LO', pad(bytesOf(meaning), 0x20), enc),
      ] });
    }
    const codes = newElem(TAG_DEID_CODES, 'SQ', null, enc);
    Object.assign(codes, { seq: true, items, inner: enc });
    const add = [
      newElem(TAG_IDENTITY_REMOVED, 'CS', bytesOf('YES '), enc),
      newElem(TAG_DEID_METHOD, 'LO', pad(bytesOf(METHOD), 0x20), enc),
      codes,
      newElem(TAG_LONGITUDINAL, 'CS', bytesOf(opts.modifiedDates ? 'MODIFIED' : 'REMOVED '), enc),
    ];
    const out = ds.filter((e) => !add.some((a) => a.tag === e.tag));
    for (const a of add) {
      let i = out.length;
      for (let j = 0; j < out.length; j++) {
        if (out[j].tag > a.tag) {
          i = j;
          break;
        }
      }
      out.splice(i, 0, a);
    }
    return out;
  }

  meta(meta) {
    const out = [];
    for (const e of meta) {
      if (e.hvr === '') e.hvr = META_VRS.get(e.tag & 0xffff) || 'UN';
      switch (e.tag) {
        case 0x00020000:
          e.groupLen = true;
          break;
        case 0x00020003:
          if (!e.value) continue;
          e.value = this.uids(e.value);
          break;
        case 0x00020016: case 0x00020017: case 0x00020018:
          if (!this.s.opts.retainDeviceIdentity) continue;
          break;
        case 0x00020100: case 0x00020102:
          continue;
      }
      out.push(e);
    }
    return out;
  }
}

function safePrivateElem(t, creators) {
  const g = t >>> 16;
  const el = t & 0xffff;
  if (el < 0x10) return false;
  if (el <= 0xff) {
    const known = SAFE_PRIVATE.get(creators.get(g * 256 + el));
    return !!known && known[0] >>> 16 === g;
  }
  const known = SAFE_PRIVATE.get(creators.get(g * 256 + (el >>> 8))) || [];
  return known.includes(((g << 16) | (el & 0xff)) >>> 0);
}

function newElem(t, vr, value, enc) {
  return { tag: t, vr, hvr: enc.implicit ? '' : vr, undef: false, value, off: 0, n: 0, seq: false, items: null, inner: enc,
    raw: false, rawOff: 0, rawN: 0, groupLen: false, offsetRef: false };
}

// --- writing ---

function elemSize(e, enc) {
  if (e.raw) return e.rawN;
  return headerSize(e, enc) + contentSize(e);
}

function headerSize(e, enc) {
  return enc.implicit || SHORT_VRS.has(e.hvr) ? 8 : 12;
}

function contentSize(e) {
  if (!e.seq) return e.value ? e.value.length : e.n;
  let n = 0;
  for (const it of e.items) {
    n += 8 + datasetSize(it.elems, e.inner);
    if (it.undef) n += 8;
  }
  if (e.undef) n += 8;
  return n;
}

function datasetSize(ds, enc) {
  let n = 0;
  for (const e of ds) n += elemSize(e, enc);
  return n;
}

function put16(b, i, v, big) {
  if (big) {
    b[i] = v >>> 8;
    b[i + 1] = v & 0xff;
  } else {
    b[i] = v & 0xff;
    b[i + 1] = v >>> 8;
  }
}

function put32(b, i, v, big) {
  if (big) {
    put16(b, i, v >>> 16, true);
    put16(b, i + 2, v & 0xffff, true);
  } else {
    put16(b, i, v & 0xffff, false);
    put16(b, i + 2, v >>> 16, false);
  }
}

class Writer {
  constructor(dry, pos, items) {
    this.dry = dry;
    this.pos = pos;
    this.items = items;
    this.chunks = [];
    this.bufLen = 0;
    this.parts = [];
  }

  bytes(b) {
    this.pos += b.length;
    if (!this.dry && b.length > 0) {
      this.chunks.push(b);
      this.bufLen += b.length;
    }
  }

  rng(off, n) {
    this.pos += n;
    if (this.dry || n === 0) return;
    this.flushBuf();
    this.parts.push({ off, n });
  }

  flushBuf() {
    if (this.bufLen === 0) return;
    const b = new Uint8Array(this.bufLen);
    let i = 0;
    for (const c of this.chunks) {
      b.set(c, i);
      i += c.length;
    }
    this.parts.push(b);
    this.chunks = [];
    this.bufLen = 0;
  }

  flush() {
    this.flushBuf();
    return this.parts;
  }

  header(t, hvr, length, enc) {
    const h = new Uint8Array(enc.implicit || hvr === '' || SHORT_VRS.has(hvr) ? 8 : 12);
    put16(h, 0, t >>> 16, enc.big);
    put16(h, 2, t & 0xffff, enc.big);
    if (enc.implicit || hvr === '') {
      put32(h, 4, length, enc.big);
    } else if (SHORT_VRS.has(hvr)) {
      h[4] = hvr.charCodeAt(0);
      h[5] = hvr.charCodeAt(1);
      put16(h, 6, length, enc.big);
    } else {
      h[4] = hvr.charCodeAt(0);
      h[5] = hvr.charCodeAt(1);
      put32(h, 8, length, enc.big);
    }
    this.bytes(h);
  }

  dataset(ds, enc) {
    for (let i = 0; i < ds.length; i++) {
      const e = ds[i];
      if (e.groupLen) {
        let n = 0;
        for (const x of ds.slice(i + 1)) if (x.tag >>> 16 === e.tag >>> 16) n += elemSize(x, enc);
        e.value = new Uint8Array(4);
        put32(e.value, 0, n, enc.big);
      }
      if (e.offsetRef && e.value && e.value.length === 4 && this.items && !this.dry) {
        const old = u32(e.value, 0, enc.big);
        if (old !== 0 && this.items.has(old)) {
          e.value = new Uint8Array(4);
          put32(e.value, 0, this.items.get(old), enc.big);
        }
      }
      this.elem(e, enc);
    }
  }

  elem(e, enc) {
    if (e.raw) {
      this.rng(e.rawOff, e.rawN);
      return;
    }
    let length = contentSize(e);
    if (e.seq && e.undef) length = UNDEFINED;
    this.header(e.tag, e.hvr, length, enc);
    if (e.seq) {
      const big = e.inner.big;
      for (const it of e.items) {
        if (this.dry && this.items) this.items.set(it.off, this.pos);
        const n = it.undef ? UNDEFINED : datasetSize(it.elems, e.inner);
        this.bytes(itemHeader(TAG_ITEM, n, big));
        this.dataset(it.elems, e.inner);
        if (it.undef) this.bytes(itemHeader(TAG_ITEM_DELIM, 0, big));
      }
      if (e.undef) this.bytes(itemHeader(TAG_SEQ_DELIM, 0, big));
    } else if (e.value) {
      this.bytes(e.value);
    } else {
      this.rng(e.off, e.n);
    }
  }
}

function itemHeader(t, n, big) {
  const b = new Uint8Array(8);
  put16(b, 0, t >>> 16, big);
  put16(b, 2, t & 0xffff, big);
  put32(b, 4, n, big);
  return b;
}

function hasOffsets(ds) {
  return ds.some((e) => e.offsetRef || (e.items || []).some((it) => hasOffsets(it.elems)));
}

// --- the whole ---

// rewrite de-identifies one file read from src ({size, read(pos, n)}). It returns
// {parts, size, info}, or for a deflated file {deflated: true, head, body, info}:
// head is the new preamble and meta, body the parts of the dataset (all bytes, in
// memory) that the caller deflates. A deflated input must be inflated first:
// rewrite asks for it with {inflate: {at}} and is called again as
// rewriteInflated(send, src, inflated).
export function rewrite(send, src) {
  const f = parseFile(src);
  if (f.deflated) return { inflate: { at: f.deflatedAt } };
  return finish(send, f);
}

// rewriteInflated continues rewrite for a deflated file, with its dataset
// inflated into bytes.
export function rewriteInflated(send, src, inflated) {
  const f = parseFile(src);
  const data = { size: inflated.length, read: (pos, n) => inflated.subarray(pos, pos + n) };
  const w = new Window(data);
  const p = new Parser(w);
  p.count = f.count;
  parseDataset(f, w, p, 0, inflated.length);
  return finish(send, f, inflated);
}

function finish(send, f, inflated) {
  const rw = new Rewriter(send);
  rw.collect(f.ds);
  const info = { directory: !!find(f.ds, TAG_DIRECTORY_RECORDS), burnedIn: burnedIn(f.ds), pseudonyms: [], fields: summaryFields(f.ds) };
  let ds = rw.dataset(f.ds, f.enc);
  if (!info.directory) ds = rw.mark(ds, f.enc);
  info.pseudonyms = [...rw.names].sort();
  info.after = summaryFields(ds);
  const meta = rw.meta(f.meta);
  const head = new Writer(false, 0, null);
  if (f.prefix) head.bytes(f.prefix);
  head.dataset(meta, { big: false, implicit: false });
  if (f.deflated) {
    const body = new Writer(false, 0, null);
    body.dataset(ds, f.enc);
    const parts = body.flush().map((p) => (p instanceof Uint8Array ? p : inflated.subarray(p.off, p.off + p.n)));
    return { deflated: true, head: concat(head.flush()), body: parts, info };
  }
  let items = null;
  if (hasOffsets(ds)) {
    const dry = new Writer(true, head.pos, new Map());
    dry.dataset(ds, f.enc);
    items = dry.items;
  }
  const body = new Writer(false, head.pos, items);
  body.chunks = head.chunks;
  body.bufLen = head.bufLen;
  body.dataset(ds, f.enc);
  return { parts: body.flush(), size: body.pos, info };
}

export function concat(parts) {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let i = 0;
  for (const p of parts) {
    out.set(p, i);
    i += p.length;
  }
  return out;
}

// The fields the send page shows before → after, as raw bytes with the file's
// character set (deid.js decodes them).
const SUMMARY_TAGS = [0x00100010, 0x00100020, 0x00100030, 0x00080020, 0x00080050, 0x00080080, 0x00080090, 0x00081030];

function summaryFields(ds) {
  const out = { charset: text(find(ds, 0x00080005)), modality: text(find(ds, TAG_MODALITY)) };
  for (const t of SUMMARY_TAGS) {
    const e = find(ds, t);
    out[hex8(t)] = e && e.value ? e.value.slice() : null;
  }
  return out;
}

// looksLikeDICOM reports whether the first bytes of a file are DICOM.
export function looksLikeDICOM(head) {
  if (head.length >= 132 && latin1(head.subarray(128, 132)) === 'DICM') return true;
  let b = head;
  if (head.length >= 4 && latin1(head.subarray(0, 4)) === 'DICM') b = head.subarray(4);
  if (b.length < 8) return false;
  const g = u16(b, 0, false);
  return (g === 0x0002 || g === 0x0008) && (knownVR(b, 4) || u32(b, 4, false) < 1024);
}

export { MAX_INFLATED };

// --- SHA-256 and HMAC, synchronous (the rewrite is) ---

const K = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01,
  0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc,
  0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
  0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08,
  0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
  0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

export function sha256(data) {
  const h = new Uint32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
  const len = data.length;
  const total = Math.ceil((len + 9) / 64) * 64;
  const m = new Uint8Array(total);
  m.set(data);
  m[len] = 0x80;
  const bits = len * 8;
  put32(m, total - 4, bits >>> 0, true);
  put32(m, total - 8, Math.floor(bits / 2 ** 32), true);
  const w = new Uint32Array(64);
  for (let off = 0; off < total; off += 64) {
    for (let i = 0; i < 16; i++) w[i] = u32(m, off + 4 * i, true);
    for (let i = 16; i < 64; i++) {
      const a = w[i - 15];
      const b = w[i - 2];
      const s0 = ((a >>> 7) | (a << 25)) ^ ((a >>> 18) | (a << 14)) ^ (a >>> 3);
      const s1 = ((b >>> 17) | (b << 15)) ^ ((b >>> 19) | (b << 13)) ^ (b >>> 10);
      w[i] = (w[i - 16] + s0 + w[i - 7] + s1) >>> 0;
    }
    let [a, b, c, d, e, f, g, hh] = h;
    for (let i = 0; i < 64; i++) {
      const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      const ch = (e & f) ^ (~e & g);
      const t1 = (hh + S1 + ch + K[i] + w[i]) >>> 0;
      const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      const mj = (a & b) ^ (a & c) ^ (b & c);
      const t2 = (S0 + mj) >>> 0;
      hh = g;
      g = f;
      f = e;
      e = (d + t1) >>> 0;
      d = c;
      c = b;
      b = a;
      a = (t1 + t2) >>> 0;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
  }
  const out = new Uint8Array(32);
  for (let i = 0; i < 8; i++) put32(out, 4 * i, h[i], true);
  return out;
}

function hmacKey(key) {
  const k = new Uint8Array(64);
  k.set(key.length > 64 ? sha256(key) : key);
  return k;
}

function hmac(k, msg) {
  const ipad = new Uint8Array(64 + msg.length);
  const opad = new Uint8Array(64 + 32);
  for (let i = 0; i < 64; i++) {
    ipad[i] = k[i] ^ 0x36;
    opad[i] = k[i] ^ 0x5c;
  }
  ipad.set(msg, 64);
  opad.set(sha256(ipad), 64);
  return sha256(opad);
}

export { enc8 };
