#!/usr/bin/python3
"""Reference samples for every DICOM test file, made without our own decoder.

For each file in testdata/dicom (all folders but golden/) and in
../shared/testdata/dicom-more, every frame is decoded by tools that are not
ours, and samples.txt gets, per frame, a SHA-256 of its samples as the corpus
test computes them (int64 little endian, pixel-interleaved, masked to
BitsStored and sign-extended; float64 for float pixel data; colour as coded,
before any conversion to RGB).
For lossy files, where a tolerance applies, the samples themselves go to
samples/ (a centre crop of at most 128×128 pixels, gzipped). See README.md for the
tool used for each kind of file.

Needs Debian 12's dcmtk, libgdcm-tools, openjph-tools, libopenjp2-tools,
python3-pydicom and python3-numpy. Run by make.sh.
"""
import gzip
import hashlib
import os
import struct
import subprocess
import sys
import tempfile
import zlib

import numpy as np
import pydicom
import pydicom.encaps
import pydicom.multival
from pydicom._uid_dict import UID_dictionary
from pydicom.dataset import Dataset
from pydicom.encaps import generate_pixel_data_frame

UID_dictionary.setdefault('1.2.840.10008.1.2.8.1', ('Deflated Image Frame Compression', 'Transfer Syntax', '', '', 'DeflatedImageFrameCompression'))

HERE = os.path.dirname(os.path.abspath(__file__))
SETS = {'dicom': os.path.join(HERE, '..'), 'more': os.path.join(HERE, '..', '..', '..', '..', 'shared', 'testdata', 'dicom-more')}
NATIVE = {'1.2.840.10008.1.2', '1.2.840.10008.1.2.1', '1.2.840.10008.1.2.2', '1.2.840.10008.1.2.1.99'}
HTJ2K = {'1.2.840.10008.1.2.4.201', '1.2.840.10008.1.2.4.202', '1.2.840.10008.1.2.4.203'}
RLE = '1.2.840.10008.1.2.5'
DEFLATED_FRAMES = '1.2.840.10008.1.2.8.1'

# Files whose samples are compared with a tolerance (lossy coding computed
# in floating point, differently by each decoder): name → tolerance.
LOSSY = {
    'mr_j2k_lossy': 1, 'j2k_ct_97_tiles': 1,
    'htj2k_lossy_rgb_ict_wrapped': 1,
    'htj2k_ct_signed_lossy': 1, 'htj2k_mr_12bit_lossy': 1, 'htj2k_rgb_ict_lossy': 1,
}
CROP = 128

tmp = tempfile.mkdtemp()


def run(*args):
    r = subprocess.run(args, capture_output=True)
    if r.returncode != 0:
        raise RuntimeError('%s: %s' % (' '.join(args), (r.stderr or r.stdout).decode(errors='replace').strip()))
    return r


def test_files():
    for name, root in SETS.items():
        if not os.path.isdir(root):
            sys.exit('missing ' + root)
        for d, dirs, files in os.walk(root):
            dirs[:] = sorted(x for x in dirs if x != 'golden')
            for f in sorted(files):
                if f.endswith('.dcm') or ('dicomdir_study' in d and not f.startswith('README')):
                    p = os.path.join(d, f)
                    yield name + '/' + os.path.relpath(p, root), p


def canonical(arr, ds, native):
    """Masks and sign-extends integer samples as the corpus test reads them:
    native data by BitsStored at HighBit; decoded data, which has no unused
    bits, only sign-extended."""
    a = np.asarray(arr)
    if a.dtype.kind == 'f':
        return a.astype(np.float64)
    a = a.astype(np.int64)
    alloc = int(ds.BitsAllocated)
    stored = int(getattr(ds, 'BitsStored', alloc))
    high = int(getattr(ds, 'HighBit', stored - 1))
    signed = int(getattr(ds, 'PixelRepresentation', 0)) == 1
    if native or signed:
        if alloc < 64:
            a &= (1 << alloc) - 1
        a >>= max(high + 1 - stored, 0)
        a &= (1 << stored) - 1
        if signed:
            a = np.where(a >= 1 << (stored - 1), a - (1 << stored), a)
    return a


def frames_of(arr, ds, n):
    return list(np.asarray(arr).reshape(n, -1))


def nframes(ds):
    try:
        return max(int(getattr(ds, 'NumberOfFrames', 1) or 1), 1)
    except (TypeError, ValueError):
        return 1


def via_dcmtk(path):
    out = os.path.join(tmp, 'dcmtk.dcm')
    run('dcmconv', '+te', path, out)
    return out


def via_gdcm(path):
    out = os.path.join(tmp, 'gdcm.dcm')
    run('gdcmconv', '--raw', path, out)
    return out


def unpack12(raw, n):
    """ACR-NEMA packed 12-bit samples: two in three bytes, little endian words."""
    b = np.frombuffer(raw[:(n * 3 + 1) // 2], dtype=np.uint8).astype(np.int64)
    out = np.zeros(n, dtype=np.int64)
    k = np.arange(n)
    bit = 12 * k
    byte = bit // 8
    lo = b[np.minimum(byte, len(b) - 1)]
    hi = np.where(byte + 1 < len(b), b[np.minimum(byte + 1, len(b) - 1)], 0)
    out = ((lo | hi << 8) >> (bit % 8)) & 0xFFF
    return out


def native(path):
    """Native pixel data: DCMTK rewrites the file as explicit little endian
    (byte swapping, odd lengths), pydicom and numpy unpack it. A file DCMTK
    refuses (truncated) goes through GDCM, which pads missing bytes with zeros.
    Big endian 32-bit samples are read by pydicom from the file itself: DCMTK
    and GDCM swap them as 16-bit words (OW), which puts the two halves of each
    value in the wrong order (the dose grid of gray32_bigendian_rtdose_10x10
    then differs from the same grid in gray32_rle_rtdose_10x10); pydicom reads
    each sample as a big endian 32-bit number and gets the twin's values."""
    head = pydicom.dcmread(path, force=True)
    ts = str(getattr(getattr(head, 'file_meta', None), 'TransferSyntaxUID', '') or '')
    if ts == '1.2.840.10008.1.2.2' and int(getattr(head, 'BitsAllocated', 0)) == 32 and 'PixelData' in head:
        n = nframes(head)
        return head, [canonical(f, head, True) for f in frames_of(head.pixel_array, head, n)], 'pydicom'
    try:
        src, tool = via_dcmtk(path), 'dcmtk'
    except RuntimeError:
        src, tool = via_gdcm(path), 'gdcm'
    ds = pydicom.dcmread(src, force=True)
    n = min(nframes(ds), present_frames(path, ds))
    if int(ds.BitsAllocated) == 12:
        rows, cols = int(ds.Rows), int(ds.Columns)
        v = unpack12(ds.PixelData, rows * cols * n)
        return ds, [canonical(f, ds, True) for f in v.reshape(n, -1)], tool + '+py12'
    if 'PhotometricInterpretation' not in ds:
        ds.PhotometricInterpretation = 'MONOCHROME2'
    arr = ds.pixel_array
    return ds, [canonical(f, ds, True) for f in frames_of(arr, ds, nframes(ds))[:n]], tool + '+pydicom'


def present_frames(path, ds):
    """How many frames of native pixel data have at least one byte in the file:
    all of them, unless the file is cut short inside the pixel data."""
    data = open(path, 'rb').read()
    for tag in (b'\xe0\x7f\x10\x00', b'\x7f\xe0\x00\x10'):
        i = data.rfind(tag)
        if i >= 0:
            break
    if i < 0:
        return nframes(ds)
    explicit = data[i + 4:i + 6] in (b'OB', b'OW')
    start = i + (12 if explicit else 8)
    bits = int(ds.Rows) * int(ds.Columns) * int(getattr(ds, 'SamplesPerPixel', 1)) * int(ds.BitsAllocated)
    frame = bits // 8 if bits % 8 == 0 and int(ds.BitsAllocated) not in (1, 12) else None
    have = len(data) - start
    if frame is None:
        return min(nframes(ds), -(-have * 8 // bits))
    return min(nframes(ds), -(-have // frame))


def truncated_encapsulated(path):
    """A compressed file cut inside its pixel data: the complete frames are
    decoded by GDCM from a copy that holds only them; the frame at the cut is
    partial and has no reference (the test only decodes it)."""
    bot, frags, cut = fragments(path)
    ds = pydicom.dcmread(path, stop_before_pixels=True, force=True)
    n = nframes(ds)
    starts, pos = [], 0
    for f in frags:
        starts.append(pos)
        pos += 8 + len(f)
    offs = list(struct.unpack('<%dI' % (len(bot) // 4), bot))
    if len(offs) != n:  # no offset table: frames start with a JPEG or J2K marker
        offs = [starts[k] for k, f in enumerate(frags) if f[:2] in (b'\xff\xd8', b'\xff\x4f')]
    frames = []
    for k, o in enumerate(offs):
        if o not in starts:
            break
        first = starts.index(o)
        last = starts.index(offs[k + 1]) if k + 1 < len(offs) and offs[k + 1] in starts else len(frags)
        whole = k + 1 < len(offs) and offs[k + 1] in starts
        frames.append((b''.join(frags[first:last]), whole))
    complete = [f for f, whole in frames if whole]
    ds.NumberOfFrames = len(complete)
    ds.PixelData = pydicom.encaps.encapsulate(complete, has_bot=True)
    ds['PixelData'].VR = 'OB'
    ds['PixelData'].is_undefined_length = True
    repaired = os.path.join(tmp, 'repaired.dcm')
    ds.save_as(repaired, write_like_original=False)
    rds, out, tool = decoded(repaired, 'gdcm')
    return rds, out + [None] * (len(frames) - len(complete)), tool


def decoded(path, tool):
    src = via_gdcm(path) if tool == 'gdcm' else None
    if tool == 'dcmtk':
        src = os.path.join(tmp, 'dcmtk.dcm')
        run('dcmdrle', path, src)
    ds = pydicom.dcmread(src, force=True)
    n = nframes(ds)
    return ds, [canonical(f, ds, False) for f in frames_of(ds.pixel_array, ds, n)], tool + '+pydicom'


def fragments(path):
    """The fragments of encapsulated pixel data, read by hand so that a
    truncated file still yields what it has; the last one may be cut."""
    data = open(path, 'rb').read()
    for head in (b'\xe0\x7f\x10\x00OB\x00\x00\xff\xff\xff\xff', b'\xe0\x7f\x10\x00OW\x00\x00\xff\xff\xff\xff',
                 b'\xe0\x7f\x10\x00\xff\xff\xff\xff'):
        i = data.rfind(head)
        if i >= 0:
            break
    else:
        raise RuntimeError('no encapsulated pixel data')
    pos, frags, cut = i + len(head), [], False
    while pos + 8 <= len(data):
        tag, n = struct.unpack_from('<II', data, pos)
        if tag != 0xE000FFFE:
            break
        frags.append(data[pos + 8:pos + 8 + n])
        cut = pos + 8 + n > len(data)
        pos += 8 + n
    return frags[0], frags[1:], cut


def packbits(seg, n):
    out = bytearray()
    i = 0
    while i < len(seg) and len(out) < n:
        c = seg[i]
        i += 1
        if c < 128:
            out += seg[i:i + c + 1]
            i += c + 1
        elif c > 128:
            if i < len(seg):
                out += bytes([seg[i]]) * (257 - c)
            i += 1
    out = out[:n]
    return bytes(out) + b'\0' * (n - len(out))


def rle_python(path):
    """RLE decoded by hand (PackBits, one byte plane per segment), for what
    GDCM and DCMTK refuse: 1-bit segmentations and a truncated file, whose
    last frame is padded with zeros."""
    ds = pydicom.dcmread(path, stop_before_pixels=True, force=True)
    _, frags, _ = fragments(path)
    rows, cols, spp = int(ds.Rows), int(ds.Columns), int(ds.SamplesPerPixel)
    alloc = int(ds.BitsAllocated)
    out = []
    for f in frags[:nframes(ds)]:
        nseg = struct.unpack_from('<I', f)[0]
        offs = list(struct.unpack_from('<15I', f, 4))[:nseg] + [len(f)]
        offs = [min(o, len(f)) for o in offs]
        if alloc == 1:
            plane = packbits(f[offs[0]:offs[1]], (rows * cols + 7) // 8)
            v = np.unpackbits(np.frombuffer(plane, np.uint8), bitorder='little')[:rows * cols]
            out.append(canonical(v, ds, True))
            continue
        bps, n = alloc // 8, rows * cols
        v = np.zeros((spp, n), dtype=np.int64)
        for s in range(nseg):
            plane = np.frombuffer(packbits(f[offs[s]:offs[s + 1]], n), np.uint8).astype(np.int64)
            sample, byte = s // bps, s % bps
            v[sample] |= plane << (8 * (bps - 1 - byte))
        out.append(canonical(v.T.reshape(-1), ds, True))
    return ds, out, 'python-packbits'


def deflated(path):
    """Deflated Image Frame Compression: each frame inflated with zlib."""
    ds = pydicom.dcmread(path, force=True)
    n = nframes(ds)
    rows, cols, spp, alloc = int(ds.Rows), int(ds.Columns), int(ds.SamplesPerPixel), int(ds.BitsAllocated)
    out = []
    for f in generate_pixel_data_frame(ds.PixelData, n):
        try:
            raw = zlib.decompress(f, -15)
        except zlib.error:
            raw = zlib.decompress(f)  # a zlib header, which the standard does not have
        if alloc == 1:
            v = np.unpackbits(np.frombuffer(raw, np.uint8), bitorder='little')[:rows * cols * spp]
        else:
            dt = {8: '<u1', 16: '<u2', 32: '<u4'}[alloc]
            v = np.frombuffer(raw[:rows * cols * spp * alloc // 8], dt)
        out.append(canonical(v, ds, True))
    return ds, out, 'python-zlib'


def netpbm(path):
    data = open(path, 'rb').read()
    fields, pos = [], 0
    while len(fields) < 4:
        while data[pos:pos + 1].isspace():
            pos += 1
        start = pos
        while not data[pos:pos + 1].isspace():
            pos += 1
        fields.append(data[start:pos])
    pos += 1
    w, h, maxval = int(fields[1]), int(fields[2]), int(fields[3])
    comps = 3 if fields[0] == b'P6' else 1
    dt = '>u2' if maxval > 255 else 'u1'
    return np.frombuffer(data[pos:], dt)[:w * h * comps].astype(np.int64)


def htj2k(path):
    """HTJ2K: OpenJPH's ojph_expand, whose output formats clip negative values,
    so signed frames are decoded with OpenJPEG's opj_decompress (2.5.0 has its
    own HT decoder) and checked against ojph_expand where both apply (within 2
    for lossy frames, whose 9/7 wavelet each computes in its own floating
    point)."""
    ds = pydicom.dcmread(path, force=True)
    n = nframes(ds)
    spp = int(ds.SamplesPerPixel)
    signed = int(getattr(ds, 'PixelRepresentation', 0)) == 1
    out, tools = [], set()
    for k, cs in enumerate(generate_pixel_data_frame(ds.PixelData, n)):
        j2c = os.path.join(tmp, 'f.j2c')
        open(j2c, 'wb').write(cs)
        pnm = os.path.join(tmp, 'f.ppm' if spp == 3 else 'f.pgm')
        run('ojph_expand', '-i', j2c, '-o', pnm)
        ojph = netpbm(pnm)
        raw = os.path.join(tmp, 'f.raw')
        run('opj_decompress', '-i', j2c, '-o', raw)
        prec = int.from_bytes(cs[cs.find(b'\xff\x51') + 40:][:1], 'big') & 0x7F  # Ssiz of component 0
        dt = ('<i2' if signed else '<u2') if prec >= 8 else ('i1' if signed else 'u1')
        opj = np.fromfile(raw, dt).astype(np.int64)
        if spp == 3:
            opj = opj.reshape(3, -1).T.reshape(-1)  # opj writes planes
        if signed:
            lossy = str(ds.file_meta.TransferSyntaxUID).endswith('.203')
            if np.abs(np.clip(opj, 0, None) - ojph).max(initial=0) > (2 if lossy else 0):
                raise RuntimeError('ojph_expand and opj_decompress disagree beyond clipping')
            v, tools = opj, tools | {'opj_decompress'}
        else:
            v, tools = ojph, tools | {'ojph_expand'}
        out.append(canonical(v, ds, False))
    return ds, out, '+'.join(sorted(tools))


def reference(path):
    ds = pydicom.dcmread(path, stop_before_pixels=True, force=True)
    ts = str(getattr(getattr(ds, 'file_meta', None), 'TransferSyntaxUID', '') or '')
    base = os.path.basename(path)
    alloc = int(getattr(ds, 'BitsAllocated', 0) or 0)
    if ts in HTJ2K:
        return htj2k(path)
    if ts == DEFLATED_FRAMES:
        return deflated(path)
    if ts == RLE and (alloc == 1 or base.startswith('truncated')):
        return rle_python(path)
    if base.startswith('truncated') and ts not in NATIVE:
        return truncated_encapsulated(path)
    if ts in NATIVE or ts == '':
        return native(path)
    if ts == RLE:
        # DCMTK first: GDCM 3.0.21 mixes up the byte planes of colour RLE
        # with more than 8 bits (bits_rgb_u16_rle: 363 of 384 samples wrong,
        # where dcmdrle gives back the original).
        try:
            return decoded(path, 'dcmtk')
        except RuntimeError:
            return decoded(path, 'gdcm')
    return decoded(path, 'gdcm')


def digest(v):
    b = np.asarray(v, dtype='<f8' if np.asarray(v).dtype.kind == 'f' else '<i8').tobytes()
    return hashlib.sha256(b).hexdigest()


def main():
    os.makedirs(os.path.join(HERE, 'samples'), exist_ok=True)
    for f in os.listdir(os.path.join(HERE, 'samples')):
        os.remove(os.path.join(HERE, 'samples', f))
    lines = ['# file frame tool photometric samples sha256 min max [tolerance crop_x,crop_y,w,h samples/FILE]']
    for rel, path in test_files():
        if not has_pixels(path):
            lines.append('%s - no-image' % rel)
            continue
        try:
            ds, frames, tool = reference(path)
        except Exception as e:
            print('%s: %s' % (rel, e), file=sys.stderr)
            lines.append('%s - no-reference' % rel)
            continue
        pi = str(getattr(ds, 'PhotometricInterpretation', 'MONOCHROME2')).strip().replace(' ', '_')
        name = os.path.splitext(os.path.basename(path))[0]
        for k, v in enumerate(frames):
            if v is None:
                lines.append('%s %d partial %s - - - -' % (rel, k, pi))
                continue
            v = np.asarray(v)
            lo, hi = lo_hi(v)
            line = '%s %d %s %s %d %s %s %s' % (rel, k, tool, pi, v.size, digest(v), _num(lo), _num(hi))
            tol = LOSSY.get(name)
            if tol is not None or v.dtype.kind == 'f':
                line += ' ' + crop(ds, v, name, k, tol or 0)
            lines.append(line)
        lines += frame_attrs(path, rel, len(frames))
        print(rel, tool, len(frames), 'frames', file=sys.stderr)
    open(os.path.join(HERE, 'samples.txt'), 'w').write('\n'.join(lines) + '\n')


def has_pixels(path):
    data = open(path, 'rb').read()
    if any(t in data for el in (0x10, 0x08, 0x09) for t in (bytes([0xE0, 0x7F, el, 0]), bytes([0x7F, 0xE0, 0, el]))):
        return True
    try:  # a deflated dataset
        ds = pydicom.dcmread(path, force=True)
        return any(t in ds for t in ('PixelData', 'FloatPixelData', 'DoubleFloatPixelData'))
    except Exception:
        return False


def _num(x):
    return repr(float(x)) if isinstance(x, (float, np.floating)) else str(int(x))


def lo_hi(v):
    if v.dtype.kind == 'f':
        return np.nanmin(v), np.nanmax(v)
    return v.min(), v.max()


def frame_attrs(path, rel, n):
    """The rescale and window of each frame of an enhanced multi-frame file,
    read by pydicom from its functional groups: per frame, else shared, else
    the top level ("-" where there is none)."""
    ds = pydicom.dcmread(path, stop_before_pixels=True, force=True)
    if 'PerFrameFunctionalGroupsSequence' not in ds and 'SharedFunctionalGroupsSequence' not in ds:
        return []
    per = ds.get('PerFrameFunctionalGroupsSequence') or []
    shared = (ds.get('SharedFunctionalGroupsSequence') or [Dataset()])[0]

    def attr(k, seq, kw):
        for group in ([per[k]] if k < len(per) else []) + [shared]:
            if seq in group and kw in group[seq][0]:
                return group[seq][0][kw].value
        return ds.get(kw)

    def first(v):
        if v is None:
            return '-'
        if isinstance(v, (list, tuple, pydicom.multival.MultiValue)):
            v = v[0]
        return repr(float(v))
    out = []
    for k in range(n):
        out.append('attrs %s %d %s %s %s %s' % (
            rel, k, first(attr(k, 'PixelValueTransformationSequence', 'RescaleSlope')),
            first(attr(k, 'PixelValueTransformationSequence', 'RescaleIntercept')),
            first(attr(k, 'FrameVOILUTSequence', 'WindowCenter')),
            first(attr(k, 'FrameVOILUTSequence', 'WindowWidth'))))
    return out


def crop(ds, v, name, frame, tol):
    """Stores (a centre crop of) a frame's samples for a tolerance comparison."""
    rows, cols = int(ds.Rows), int(ds.Columns)
    spp = v.size // (rows * cols)
    w, h = min(cols, CROP), min(rows, CROP)
    x0, y0 = (cols - w) // 2, (rows - h) // 2
    c = np.asarray(v).reshape(rows, cols, spp)[y0:y0 + h, x0:x0 + w]
    if c.dtype.kind == 'f':
        kind, dt = 'f64', '<f8'
    elif -32768 <= c.min() and c.max() <= 32767:
        kind, dt = 'i16', '<i2'
    else:
        kind, dt = 'i32', '<i4'
    fn = '%s.f%d.%s.gz' % (name, frame, kind)
    with gzip.GzipFile(os.path.join(HERE, 'samples', fn), 'wb', mtime=0) as g:
        g.write(np.ascontiguousarray(c, dtype=dt).tobytes())
    return '%d %d,%d,%d,%d samples/%s' % (tol, x0, y0, w, h, fn)


if __name__ == '__main__':
    main()
