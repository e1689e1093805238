// deid-worker.js — rewrites the files of one send off the main thread, before any
// byte is uploaded (deid.js starts it). Message in: {id, files, options, seed?,
// dicom, photos}: dicom turns on the DICOM de-identification (deid-core.js),
// photos the removal of EXIF position, owner and serial fields. Messages out:
// {id, progress: {done, total}}, then {id, results: [{kind, blob?, error?, info?}]} in
// the files' order. kind is 'dicom', 'zip', 'photo' or 'other' (left as it is).
//
// Nothing is read whole: a DICOM file is read through FileReaderSync in 1 MiB
// windows up to its pixel data, and the output Blob is the new header plus
// Blob.slice of the original, so memory does not grow with the file. Inside a
// ZIP, deflated entries are inflated to Blobs (which the browser may keep on
// disk) and the rewritten DICOM entries deflated again; other entries keep their
// original compressed bytes.

import { DeidError, Send, UID_DEFLATED_LE, concat, looksLikeDICOM, rewrite, rewriteInflated } from './deid-core.js';

const reader = new FileReaderSync();

self.onmessage = async (event) => {
  const { id, files, options, seed, dicom, photos } = event.data;
  const send = new Send(options || {}, seed || null);
  const results = [];
  let done = 0;
  for (const file of files) {
    let r;
    try {
      r = await one(send, file, { dicom, photos });
    } catch (err) {
      r = { kind: 'error', error: describe(err) };
    }
    results.push(r);
    self.postMessage({ id, progress: { done: ++done, total: files.length } });
  }
  self.postMessage({ id, results });
};

function describe(err) {
  if (err instanceof DeidError) return { code: err.code, detail: err.message };
  if (err && err.deid) return { code: err.deid, detail: err.message || '' };
  return { code: 'unreadable', detail: String((err && err.message) || err) };
}

function fail(code, message) {
  const e = new Error(message || code);
  e.deid = code;
  return e;
}

// blobSource reads blob for the rewrite; prefix, the first bytes already read,
// spares a read (one per file counts in a series of 500).
function blobSource(blob, prefix) {
  return {
    size: blob.size,
    read: (pos, n) => {
      if (prefix && pos + n <= prefix.length) return prefix.subarray(pos, pos + n);
      return new Uint8Array(reader.readAsArrayBuffer(blob.slice(pos, pos + n)));
    },
  };
}

function head(blob, n) {
  return new Uint8Array(reader.readAsArrayBuffer(blob.slice(0, n)));
}

const DICOM_NAME = /(\.dcm|\.dicom|\.dic)$/i;

async function one(send, file, what) {
  const h = head(file, 1 << 20);
  const name = file.name || '';
  if (isZip(h)) {
    if (!what.dicom) return { kind: 'other' };
    const z = await zip(send, file);
    return z ? { kind: 'zip', ...z } : { kind: 'other' };
  }
  if (what.dicom && (looksLikeDICOM(h) || DICOM_NAME.test(name) || /^DICOMDIR$/i.test(name))) {
    const r = await dicomBlob(send, file, h);
    return { kind: 'dicom', blob: r.blob, info: r.info };
  }
  if (what.photos) {
    const photo = stripPhoto(file, h);
    if (photo) return { kind: 'photo', blob: photo.blob, info: { removed: photo.removed } };
  }
  return { kind: 'other' };
}

// dicomBlob rewrites one DICOM file held in blob.
async function dicomBlob(send, blob, prefix) {
  const src = blobSource(blob, prefix);
  let r = rewrite(send, src);
  if (r.inflate) {
    const inflated = await inflate(blob.slice(r.inflate.at));
    r = rewriteInflated(send, src, inflated);
    const body = await deflateRaw(new Blob(r.body));
    return { blob: new Blob([r.head, body], { type: 'application/dicom' }), info: r.info, deflated: UID_DEFLATED_LE };
  }
  const parts = r.parts.map((p) => (p instanceof Uint8Array ? p : blob.slice(p.off, p.off + p.n)));
  return { blob: new Blob(parts, { type: 'application/dicom' }), info: r.info };
}

// inflate inflates a deflated dataset: raw deflate, or with a zlib header as
// some writers add. The browser's decoder refuses bytes after the end of the
// stream, which files carry (padding to an even length and more), where Go's
// ignores them: so a few trailing bytes are dropped and it is tried again.
async function inflate(blob) {
  for (let junk = 0; junk <= 16 && junk < blob.size; junk++) {
    const part = blob.slice(0, blob.size - junk);
    for (const format of ['deflate-raw', 'deflate']) {
      try {
        return new Uint8Array(await new Response(part.stream().pipeThrough(new DecompressionStream(format))).arrayBuffer());
      } catch {
        // not this way
      }
    }
  }
  throw new DeidError('malformed', 'the deflated dataset cannot be inflated');
}

function deflateRaw(blob) {
  return new Response(blob.stream().pipeThrough(new CompressionStream('deflate-raw'))).blob();
}

// --- ZIP ---

const isZip = (h) => h.length >= 4 && h[0] === 0x50 && h[1] === 0x4b && (h[2] === 3 || h[2] === 5) && (h[3] === 4 || h[3] === 6);

const le16 = (b, i) => b[i] | (b[i + 1] << 8);
const le32 = (b, i) => (b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24)) >>> 0;

function put16(b, i, v) {
  b[i] = v & 0xff;
  b[i + 1] = (v >>> 8) & 0xff;
}

function put32(b, i, v) {
  put16(b, i, v & 0xffff);
  put16(b, i + 2, v >>> 16);
}

// zip rewrites every DICOM entry of a ZIP into a new ZIP; other entries keep
// their bytes. An encrypted ZIP, or one this code cannot read, is refused whole;
// a ZIP without DICOM gives null (it is sent as it is).
async function zip(send, file) {
  const entries = centralDirectory(file);
  if (entries.some((e) => e.flags & 1)) throw fail('zip_encrypted');
  const out = [];
  const central = [];
  let offset = 0;
  const infos = [];
  const dec = new TextDecoder();
  for (const e of entries) {
    const lh = new Uint8Array(reader.readAsArrayBuffer(file.slice(e.local, e.local + 30)));
    if (le32(lh, 0) !== 0x04034b50) throw fail('zip_broken');
    const start = e.local + 30 + le16(lh, 26) + le16(lh, 28);
    const raw = file.slice(start, start + e.csize);
    let entry = { method: e.method, crc: e.crc, csize: e.csize, usize: e.usize, data: raw };
    const isDir = e.name[e.name.length - 1] === 0x2f;
    if (!isDir && e.usize > 0) {
      if (e.method !== 0 && e.method !== 8) throw fail('zip_method');
      const content = e.method === 0 ? raw : await new Response(raw.stream().pipeThrough(new DecompressionStream('deflate-raw'))).blob();
      const h = head(content, 132);
      const name = dec.decode(e.name);
      const base = name.split('/').pop();
      if (looksLikeDICOM(h) || DICOM_NAME.test(base) || /^DICOMDIR$/i.test(base)) {
        let r;
        try {
          r = await dicomBlob(send, content);
        } catch (err) {
          const d = describe(err);
          throw fail('zip_entry', name + ': ' + d.detail);
        }
        infos.push(r.info);
        const deflated = await deflateRaw(r.blob);
        entry = { method: 8, crc: await crc32(r.blob), csize: deflated.size, usize: r.blob.size, data: deflated };
      }
    }
    const local = new Uint8Array(30 + e.name.length);
    put32(local, 0, 0x04034b50);
    put16(local, 4, 20);
    put16(local, 6, e.flags & 0x0800); // UTF-8 names stay so; no data descriptor
    put16(local, 8, entry.method);
    put16(local, 10, e.time);
    put16(local, 12, e.date);
    put32(local, 14, entry.crc);
    put32(local, 18, entry.csize);
    put32(local, 22, entry.usize);
    put16(local, 26, e.name.length);
    put16(local, 28, 0);
    local.set(e.name, 30);
    const cd = new Uint8Array(46 + e.name.length);
    put32(cd, 0, 0x02014b50);
    put16(cd, 4, 20);
    put16(cd, 6, 20);
    cd.set(local.subarray(6, 26), 8);
    put16(cd, 28, e.name.length);
    put32(cd, 38, e.external);
    put32(cd, 42, offset);
    cd.set(e.name, 46);
    out.push(local, entry.data);
    central.push(cd);
    offset += local.length + entry.data.size;
    if (offset > 0xfffffff0) throw fail('zip_large');
  }
  const cdSize = central.reduce((n, c) => n + c.length, 0);
  const end = new Uint8Array(22);
  put32(end, 0, 0x06054b50);
  put16(end, 8, central.length);
  put16(end, 10, central.length);
  put32(end, 12, cdSize);
  put32(end, 16, offset);
  if (infos.length === 0) return null; // no DICOM in it: sent as it is
  return { blob: new Blob([...out, ...central, end], { type: 'application/zip' }), info: mergeInfos(infos) };
}

function mergeInfos(infos) {
  const first = infos.find((i) => !i.directory) || infos[0];
  return { ...first, burnedIn: infos.some((i) => i.burnedIn), pseudonyms: [...new Set(infos.flatMap((i) => i.pseudonyms))].sort(),
    count: infos.length, all: infos.filter((i) => !i.directory) };
}

function centralDirectory(file) {
  const tailLen = Math.min(file.size, 65536 + 22);
  const tail = new Uint8Array(reader.readAsArrayBuffer(file.slice(file.size - tailLen)));
  let eocd = -1;
  for (let i = tail.length - 22; i >= 0; i--) {
    if (le32(tail, i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw fail('zip_broken');
  const count = le16(tail, eocd + 10);
  const size = le32(tail, eocd + 12);
  const at = le32(tail, eocd + 16);
  if (count === 0xffff || size === 0xffffffff || at === 0xffffffff) throw fail('zip_large');
  if (at + size > file.size) throw fail('zip_broken');
  const cd = new Uint8Array(reader.readAsArrayBuffer(file.slice(at, at + size)));
  const entries = [];
  for (let p = 0, i = 0; i < count; i++) {
    if (p + 46 > cd.length || le32(cd, p) !== 0x02014b50) throw fail('zip_broken');
    const nameLen = le16(cd, p + 28);
    const extraLen = le16(cd, p + 30);
    const commentLen = le16(cd, p + 32);
    const e = {
      flags: le16(cd, p + 8), method: le16(cd, p + 10), time: le16(cd, p + 12), date: le16(cd, p + 14), crc: le32(cd, p + 16),
      csize: le32(cd, p + 20), usize: le32(cd, p + 24), external: le32(cd, p + 38), local: le32(cd, p + 42),
      name: cd.slice(p + 46, p + 46 + nameLen),
    };
    if (e.csize === 0xffffffff || e.usize === 0xffffffff || e.local === 0xffffffff) throw fail('zip_large');
    entries.push(e);
    p += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

let crcTable = null;

async function crc32(blob) {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  const r = blob.stream().getReader();
  for (;;) {
    const { done, value } = await r.read();
    if (done) break;
    for (let i = 0; i < value.length; i++) c = crcTable[(c ^ value[i]) & 0xff] ^ (c >>> 8);
  }
  return (c ^ 0xffffffff) >>> 0;
}

// --- photos ---

// stripPhoto returns the photo without its EXIF position, owner and serial
// fields (and other metadata that may hold them: XMP, IPTC, comments), or null
// when the file is no photo this knows.
function stripPhoto(file, h) {
  if (h[0] === 0xff && h[1] === 0xd8 && h[2] === 0xff) return stripJPEG(file);
  if (h[0] === 0x89 && h[1] === 0x50 && h[2] === 0x4e && h[3] === 0x47) return stripPNG(file);
  if (String.fromCharCode(...h.subarray(4, 8)) === 'ftyp') return stripHEIF(file);
  return null;
}

// stripJPEG keeps the image data and the segments that describe how to show it
// (JFIF, ICC profile, Adobe); the Exif segment is replaced by one that holds
// only the orientation.
function stripJPEG(file) {
  const parts = [file.slice(0, 2)];
  let pos = 2;
  let removed = false;
  for (;;) {
    const m = new Uint8Array(reader.readAsArrayBuffer(file.slice(pos, pos + 4)));
    if (m.length < 4 || m[0] !== 0xff) return null;
    const marker = m[1];
    if (marker === 0xda || marker === 0xd9) break; // start of scan: the rest is image data
    const len = (m[2] << 8) | m[3];
    const seg = file.slice(pos, pos + 2 + len);
    if (marker === 0xe1) {
      const body = new Uint8Array(reader.readAsArrayBuffer(file.slice(pos + 4, pos + 2 + len)));
      if (String.fromCharCode(...body.subarray(0, 6)) === 'Exif\0\0') {
        const o = exifOrientation(body.subarray(6));
        if (o) parts.push(orientationSegment(o));
      }
      removed = true;
    } else if (marker === 0xed || marker === 0xfe || (marker >= 0xe3 && marker <= 0xec) || marker === 0xef) {
      removed = true; // IPTC, comments, maker segments
    } else {
      parts.push(seg);
    }
    pos += 2 + len;
  }
  if (!removed) return { blob: file, removed: false };
  parts.push(file.slice(pos));
  return { blob: new Blob(parts, { type: file.type || 'image/jpeg' }), removed: true };
}

function exifOrientation(tiff) {
  if (tiff.length < 8) return 0;
  const big = tiff[0] === 0x4d;
  const r16 = (i) => (big ? (tiff[i] << 8) | tiff[i + 1] : tiff[i] | (tiff[i + 1] << 8));
  const r32 = (i) => (big ? ((tiff[i] << 24) | (tiff[i + 1] << 16) | (tiff[i + 2] << 8) | tiff[i + 3]) >>> 0 : le32(tiff, i));
  const ifd = r32(4);
  if (ifd + 2 > tiff.length) return 0;
  const n = r16(ifd);
  for (let i = 0; i < n; i++) {
    const e = ifd + 2 + 12 * i;
    if (e + 12 > tiff.length) return 0;
    if (r16(e) === 0x0112) {
      const v = r16(e + 8);
      return v >= 1 && v <= 8 ? v : 0;
    }
  }
  return 0;
}

// orientationSegment is an APP1 Exif segment with one entry: Orientation.
function orientationSegment(o) {
  const tiff = [0x49, 0x49, 0x2a, 0, 8, 0, 0, 0, 1, 0, 0x12, 0x01, 3, 0, 1, 0, 0, 0, o, 0, 0, 0, 0, 0, 0, 0];
  const body = [0x45, 0x78, 0x69, 0x66, 0, 0, ...tiff];
  const len = body.length + 2;
  return new Uint8Array([0xff, 0xe1, len >> 8, len & 0xff, ...body]);
}

// stripPNG drops the chunks that carry metadata: eXIf, tEXt, zTXt, iTXt.
function stripPNG(file) {
  const parts = [file.slice(0, 8)];
  let pos = 8;
  let removed = false;
  while (pos + 12 <= file.size) {
    const h = new Uint8Array(reader.readAsArrayBuffer(file.slice(pos, pos + 8)));
    const len = ((h[0] << 24) | (h[1] << 16) | (h[2] << 8) | h[3]) >>> 0;
    const type = String.fromCharCode(...h.subarray(4, 8));
    const end = pos + 12 + len;
    if (end > file.size) return null;
    if (['eXIf', 'tEXt', 'zTXt', 'iTXt'].includes(type)) removed = true;
    else parts.push(file.slice(pos, end));
    pos = end;
    if (type === 'IEND') break;
  }
  if (!removed) return { blob: file, removed: false };
  return { blob: new Blob(parts, { type: file.type || 'image/png' }), removed: true };
}

// stripHEIF overwrites the Exif and XMP items of a HEIC/HEIF file with zeros, in
// place, so every offset stays valid; the orientation of a HEIF image is in its
// irot/imir properties, which stay.
function stripHEIF(file) {
  const ranges = heifMetadataRanges(file);
  if (ranges === null) return null;
  if (ranges.length === 0) return { blob: file, removed: false };
  ranges.sort((a, b) => a[0] - b[0]);
  const parts = [];
  let pos = 0;
  for (const [off, n] of ranges) {
    if (off < pos || off + n > file.size) return null;
    parts.push(file.slice(pos, off), new Uint8Array(n));
    pos = off + n;
  }
  parts.push(file.slice(pos));
  return { blob: new Blob(parts, { type: file.type || 'image/heic' }), removed: true };
}

function heifMetadataRanges(file) {
  const top = boxes(file, 0, file.size);
  const meta = top.find((b) => b.type === 'meta');
  if (!meta) return null;
  const inner = boxes(file, meta.body + 4, meta.end);
  const iinf = inner.find((b) => b.type === 'iinf');
  const iloc = inner.find((b) => b.type === 'iloc');
  const idat = inner.find((b) => b.type === 'idat');
  if (!iinf || !iloc) return [];
  const wanted = new Set();
  const ii = new Uint8Array(reader.readAsArrayBuffer(file.slice(iinf.body, iinf.end)));
  const count = ii[0] === 0 ? (ii[4] << 8) | ii[5] : le32be(ii, 4);
  let p = ii[0] === 0 ? 6 : 8;
  for (let i = 0; i < count && p + 8 <= ii.length; i++) {
    const size = le32be(ii, p);
    const type = String.fromCharCode(...ii.subarray(p + 4, p + 8));
    if (type === 'infe' && size >= 20) {
      const v = ii[p + 8];
      if (v >= 2) {
        const idLen = v === 2 ? 2 : 4;
        const id = v === 2 ? (ii[p + 12] << 8) | ii[p + 13] : le32be(ii, p + 12);
        const itemType = String.fromCharCode(...ii.subarray(p + 14 + idLen, p + 18 + idLen));
        const rest = String.fromCharCode(...ii.subarray(p + 18 + idLen, p + size));
        if (itemType === 'Exif' || (itemType === 'mime' && rest.includes('rdf+xml'))) wanted.add(id);
      }
    }
    if (size < 8) break;
    p += size;
  }
  if (wanted.size === 0) return [];
  const il = new Uint8Array(reader.readAsArrayBuffer(file.slice(iloc.body, iloc.end)));
  const v = il[0];
  const offSize = il[4] >> 4;
  const lenSize = il[4] & 15;
  const baseSize = il[5] >> 4;
  const idxSize = v >= 1 ? il[5] & 15 : 0;
  let q = 6;
  const rd = (n) => {
    let x = 0;
    for (let i = 0; i < n; i++) x = x * 256 + il[q + i];
    q += n;
    return x;
  };
  const items = v < 2 ? rd(2) : rd(4);
  const out = [];
  for (let i = 0; i < items && q < il.length; i++) {
    const id = v < 2 ? rd(2) : rd(4);
    const method = v >= 1 ? rd(2) & 15 : 0;
    rd(2); // data reference index
    const base = rd(baseSize);
    const extents = rd(2);
    for (let k = 0; k < extents; k++) {
      if (idxSize) rd(idxSize);
      const off = rd(offSize);
      const len = rd(lenSize);
      if (!wanted.has(id)) continue;
      if (method === 0) out.push([base + off, len]);
      else if (method === 1 && idat) out.push([idat.body + base + off, len]);
    }
  }
  return out;
}

function le32be(b, i) {
  return ((b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]) >>> 0;
}

function boxes(file, pos, end) {
  const out = [];
  while (pos + 8 <= end) {
    const h = new Uint8Array(reader.readAsArrayBuffer(file.slice(pos, pos + 16)));
    let size = le32be(h, 0);
    const type = String.fromCharCode(...h.subarray(4, 8));
    let body = pos + 8;
    if (size === 1) {
      size = le32be(h, 8) * 2 ** 32 + le32be(h, 12);
      body = pos + 16;
    } else if (size === 0) {
      size = end - pos;
    }
    if (size < 8 || pos + size > end) break;
    out.push({ type, body, end: pos + size });
    pos += size;
  }
  return out;
}

export { concat };
