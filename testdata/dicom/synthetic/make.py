#!/usr/bin/python3
"""Writes the synthetic DICOM test files in this folder (see README.md).

Run with Debian's python3 (python3-pydicom 2.3.1, python3-numpy); the output is
deterministic and committed. Pixel values are generated patterns, or taken
from the public files one folder up; no patient data is added.
"""
import os
import struct
import zlib

import numpy as np
import pydicom
import pydicom.filebase
import pydicom.filewriter
import pydicom.valuerep
from pydicom._uid_dict import UID_dictionary
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.sequence import Sequence
from pydicom.uid import UID

# pydicom 2.3 predates Deflated Image Frame Compression.
UID_dictionary.setdefault('1.2.840.10008.1.2.8.1', ('Deflated Image Frame Compression', 'Transfer Syntax', '', '', 'DeflatedImageFrameCompression'))

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(HERE, '..')
EXPLICIT_LE = UID('1.2.840.10008.1.2.1')
IMPLICIT_LE = UID('1.2.840.10008.1.2')
EXPLICIT_BE = UID('1.2.840.10008.1.2.2')
RLE = UID('1.2.840.10008.1.2.5')
DEFLATED_FRAMES = UID('1.2.840.10008.1.2.8.1')
SC = '1.2.840.10008.5.1.4.1.1.7'
PARAMETRIC_MAP = '1.2.840.10008.5.1.4.1.1.30'
SEG = '1.2.840.10008.5.1.4.1.1.66.4'
ROOT = '1.2.826.0.1.3680043.10.1453.'  # this project's test UIDs, made up


def uid(name):
    return UID(ROOT + str(int.from_bytes(name.encode()[:12].ljust(12, b'\0'), 'big') % 10**20))


def new_ds(name, rows, cols, spp=1, alloc=16, stored=None, signed=False, photometric='MONOCHROME2',
           frames=1, ts=EXPLICIT_LE, sop=SC):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop
    meta.MediaStorageSOPInstanceUID = uid(name)
    meta.TransferSyntaxUID = ts
    meta.ImplementationClassUID = ROOT + '1'
    ds = Dataset()
    ds.file_meta = meta
    ds.is_little_endian = ts != EXPLICIT_BE
    ds.is_implicit_VR = ts == IMPLICIT_LE
    ds.SpecificCharacterSet = 'ISO_IR 192'
    ds.SOPClassUID = sop
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = uid('study')
    ds.SeriesInstanceUID = uid('series-' + name.split('_')[0])
    ds.Modality = 'OT'
    ds.PatientName = 'Test^Synthetic'
    ds.PatientID = 'SYNTH-1'
    ds.SeriesDescription = name
    ds.SamplesPerPixel = spp
    ds.PhotometricInterpretation = photometric
    if spp > 1:
        ds.PlanarConfiguration = 0
    if frames > 1:
        ds.NumberOfFrames = frames
    ds.Rows, ds.Columns = rows, cols
    if alloc in (32, 64) and sop == PARAMETRIC_MAP:
        ds.BitsAllocated = alloc
        return ds
    ds.BitsAllocated = alloc
    ds.BitsStored = stored or alloc
    ds.HighBit = ds.BitsStored - 1
    ds.PixelRepresentation = 1 if signed else 0
    return ds


def save(ds, name, **kw):
    ds.save_as(os.path.join(HERE, name + '.dcm'), write_like_original=False, **kw)


def pattern(rows, cols, bits, signed, seed):
    """Values spanning the whole range of bits: the extremes, 0, ±1 and a ramp."""
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    n = rows * cols
    ramp = np.linspace(lo, hi, n, dtype=np.float64)
    v = np.round(ramp).astype(np.int64)
    rng = np.random.default_rng(seed)
    v = np.roll(v, seed * 7)
    fixed = [lo, hi, 0 if signed else hi // 2, 1, hi - 1, lo + 1, -1 if signed else 0]
    v[:len(fixed)] = fixed
    rng.shuffle(v[len(fixed):])
    return np.clip(v, lo, hi).reshape(rows, cols)


def pack(values, alloc, bo='<'):
    """Native pixel bytes of integer values (two's complement patterns)."""
    v = np.asarray(values, dtype=np.int64).reshape(-1)
    if alloc == 1:
        b = np.packbits((v & 1).astype(np.uint8), bitorder='little').tobytes()
    else:
        mask = (1 << alloc) - 1
        u = (v & mask).astype({8: np.uint8, 16: np.uint16, 32: np.uint32}[alloc])
        b = u.astype(u.dtype.newbyteorder(bo)).tobytes()
    return b + b'\0' * (len(b) % 2)


def packbits(data):
    """PackBits as DICOM RLE uses it (replicate runs of 2 or more, literals up to 128)."""
    out, i, n = bytearray(), 0, len(data)
    while i < n:
        j = i
        while j + 1 < n and data[j + 1] == data[i] and j - i < 127:
            j += 1
        if j > i:
            out += bytes([(257 - (j - i + 1)) & 0xFF, data[i]])
            i = j + 1
            continue
        j = i
        while j < n and j - i < 128 and not (j + 1 < n and data[j + 1] == data[j]):
            j += 1
        j = max(j, i + 1)
        out += bytes([j - i - 1]) + data[i:j]
        i = j
    return bytes(out)


def rle_frame(planes):
    """An RLE frame from byte planes (each a bytes of one segment)."""
    segs = [packbits(p) for p in planes]
    segs = [s + b'\0' * (len(s) % 2) for s in segs]
    header = struct.pack('<I', len(segs))
    off = 64
    for s in segs:
        header += struct.pack('<I', off)
        off += len(s)
    header += b'\0' * (64 - len(header))
    return header + b''.join(segs)


def rle_planes(values, alloc, spp):
    """Byte planes for RLE: for each sample, most significant byte first."""
    v = np.asarray(values, dtype=np.int64)
    v = v.reshape(-1, spp) if spp > 1 else v.reshape(-1, 1)
    planes = []
    for s in range(spp):
        u = v[:, s] & ((1 << alloc) - 1)
        for byte in reversed(range(alloc // 8)):
            planes.append(((u >> (8 * byte)) & 0xFF).astype(np.uint8).tobytes())
    return planes


def bit_depths():
    """Every bits-stored value 1–32, signed and unsigned, grey and RGB, native
    little endian; a few in big endian and RLE too."""
    rows, cols = 8, 16
    for colour in (False, True):
        for signed in (False, True):
            for bits in range(1, 33):
                alloc = 8 if bits <= 8 else 16 if bits <= 16 else 32
                spp = 3 if colour else 1
                name = 'bits_%s_%s%02d' % ('rgb' if colour else 'gray', 's' if signed else 'u', bits)
                v = np.stack([pattern(rows, cols, bits, signed, k + bits) for k in range(spp)], axis=-1)
                ds = new_ds(name, rows, cols, spp, alloc, bits, signed, 'RGB' if colour else 'MONOCHROME2')
                ds.PixelData = pack(v, alloc)
                save(ds, 'bitdepth/' + name)
                if bits in (8, 12, 16, 24, 32) or (bits == 1 and not colour):
                    ds.file_meta.TransferSyntaxUID = RLE
                    ds.PixelData = encapsulate([rle_frame(rle_planes(v, alloc, spp))])
                    ds['PixelData'].VR = 'OB'
                    ds.is_little_endian, ds.is_implicit_VR = True, False
                    if alloc >= 8:
                        save(ds, 'bitdepth/' + name + '_rle')
                if bits in (12, 16, 24, 32) and not (colour and signed):
                    ds = new_ds(name, rows, cols, spp, alloc, bits, signed, 'RGB' if colour else 'MONOCHROME2', ts=EXPLICIT_BE)
                    ds.PixelData = pack(v, alloc, '>')
                    ds['PixelData'].VR = 'OW'
                    save(ds, 'bitdepth/' + name + '_be')
    # 1 bit allocated (a bitmap), and 12 bits stored at high bit 15.
    v = pattern(rows, cols, 1, False, 5)
    ds = new_ds('bits_gray_alloc1', rows, cols, 1, 1, 1)
    ds.PixelData = pack(v, 1)
    save(ds, 'bitdepth/bits_gray_alloc1')
    v = pattern(rows, cols, 12, True, 6)
    ds = new_ds('bits_gray_s12_highbit15', rows, cols, 1, 16, 12, True)
    ds.HighBit = 15
    ds.PixelData = pack(v << 4, 16)
    save(ds, 'bitdepth/bits_gray_s12_highbit15')


def source(name):
    return pydicom.dcmread(os.path.join(SRC, name))


def encapsulated(ds, frames, ts):
    ds.file_meta.TransferSyntaxUID = ts
    ds.is_little_endian, ds.is_implicit_VR = True, False
    ds.PixelData = encapsulate(frames, has_bot=True)
    ds['PixelData'].VR = 'OB'
    ds['PixelData'].is_undefined_length = True


def deflated_frames():
    """Deflated Image Frame Compression (1.2.840.10008.1.2.8.1): each frame
    deflated on its own (raw deflate, as the standard says; one file with a
    zlib header, which readers meet in the wild)."""
    mr = source('mr_10frame_native.dcm')
    n, size = int(mr.NumberOfFrames), mr.Rows * mr.Columns * 2
    frames = [mr.PixelData[k * size:(k + 1) * size] for k in range(n)]
    encapsulated(mr, [raw_deflate(f) for f in frames], DEFLATED_FRAMES)
    save(mr, 'deflated_mr12_10frame')
    ct = source('ct_small.dcm')
    encapsulated(ct, [zlib.compress(ct.PixelData, 9)], DEFLATED_FRAMES)
    save(ct, 'deflated_ct_signed_zlib_header')
    rows, cols = 30, 40
    v = np.stack([pattern(rows, cols, 8, False, k) for k in range(3)], axis=-1)
    ds = new_ds('deflated_rgb8_2frame', rows, cols, 3, 8, 8, False, 'RGB', frames=2, ts=DEFLATED_FRAMES)
    encapsulated(ds, [raw_deflate(pack(v, 8)), raw_deflate(pack(v[::-1], 8))], DEFLATED_FRAMES)
    save(ds, 'deflated_rgb8_2frame')
    rows, cols = 38, 23  # 874 bits per frame: each frame packed from a byte boundary
    seg = [(np.add.outer(np.arange(rows), np.arange(cols)) + k) % (k + 3) == 0 for k in range(3)]
    ds = new_ds('deflated_seg_1bit_odd', rows, cols, 1, 1, 1, frames=3, ts=DEFLATED_FRAMES, sop=SEG)
    encapsulated(ds, [raw_deflate(pack(s.astype(np.int64), 1)) for s in seg], DEFLATED_FRAMES)
    save(ds, 'deflated_seg_1bit_odd')


def raw_deflate(b):
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return c.compress(b) + c.flush()


def float_maps():
    """Float (7FE0,0008) and Double Float (7FE0,0009) Pixel Data: an apparent
    diffusion coefficient-like map from MR pixels, with negative values and a
    NaN; two frames of doubles with a window of their own; big endian floats."""
    mr = source('mr_10frame_native.dcm')
    px = np.frombuffer(mr.PixelData, '<u2').astype(np.float64).reshape(10, 64, 64)
    adc = px[0] / 400.0 - 0.25
    adc[10, 10] = np.nan
    ds = new_ds('float32_map', 64, 64, 1, 32, sop=PARAMETRIC_MAP)
    ds.FloatPixelData = adc.astype('<f4').tobytes()
    save(ds, 'float32_map_nan')
    ds = new_ds('float64_map_2frame', 64, 64, 1, 64, frames=2, sop=PARAMETRIC_MAP)
    ds.DoubleFloatPixelData = np.stack([px[1] * 1e-4, px[2] * -1e-4]).astype('<f8').tobytes()
    ds.WindowCenter, ds.WindowWidth = 0.01, 0.05
    save(ds, 'float64_map_2frame_window')
    ds = new_ds('float32_map_be', 64, 64, 1, 32, ts=EXPLICIT_BE, sop=PARAMETRIC_MAP)
    ds.FloatPixelData = (px[3] * 0.5 - 100).astype('>f4').tobytes()
    save(ds, 'float32_map_bigendian')


def segmentations():
    """1-bit segmentation frames: RLE (one segment of packed bits per frame),
    and native with frames that start inside a byte."""
    rows, cols = 38, 23
    seg = [(np.add.outer(np.arange(rows) * (k + 1), np.arange(cols)) % 7 < 2).astype(np.int64) for k in range(3)]
    ds = new_ds('seg_1bit_rle_odd', rows, cols, 1, 1, 1, frames=3, ts=RLE, sop=SEG)
    encapsulated(ds, [rle_frame([pack(s, 1)[:(rows * cols + 7) // 8]]) for s in seg], RLE)
    save(ds, 'seg_1bit_rle_odd')
    rows, cols = 7, 9  # 63 bits per frame
    seg = [(np.add.outer(np.arange(rows), np.arange(cols) * (k + 2)) % 3 == 0).astype(np.int64) for k in range(5)]
    ds = new_ds('seg_1bit_native_63bit', rows, cols, 1, 1, 1, frames=5, sop=SEG)
    ds.PixelData = pack(np.stack(seg), 1)
    save(ds, 'seg_1bit_native_63bit_5frame')


def truncated():
    """Files cut short: in the pixel data of native, RLE, JPEG and JPEG 2000
    multi-frame files (the frames before the cut are whole, the one at the cut
    partial), in a file without meta information, and in the header."""
    cuts = [
        ('mr_10frame_native.dcm', 'truncated_native_mr_in_frame5', 0.45),
        ('mr_10frame_rle.dcm', 'truncated_rle_mr_in_frame7', 0.66),
        ('generated/mr_jpeg_extended_12bit.dcm', 'truncated_jpeg12_mr_in_frame8', 0.78),
        ('mr_10frame_j2k_lossless.dcm', 'truncated_j2k_mr_in_frame4', 0.37),
        ('ct_small.dcm', 'truncated_ct_in_header', None),
    ]
    for src, name, frac in cuts:
        b = open(os.path.join(SRC, src), 'rb').read()
        if frac is None:
            cut = b.find(b'\x28\x00\x10\x00') + 5  # inside the Rows element
        else:
            start = b.rfind(b'\xe0\x7f\x10\x00')
            cut = start + int((len(b) - start) * frac)
        open(os.path.join(HERE, name + '.dcm'), 'wb').write(b[:cut])


def no_meta():
    """Datasets without File Meta Information or preamble (implicit VR little
    endian, explicit VR big endian), and a Part 10 file whose meta information
    names no transfer syntax."""
    ct = source('ct_small.dcm')
    write_bare(ct, 'nometa_implicit_ct_signed', implicit=True, little=True)
    mr = source('mr_small_bigendian.dcm')
    write_bare(mr, 'nometa_explicit_bigendian_mr', implicit=False, little=False)
    ds = source('mr_small_implicit.dcm')
    del ds.file_meta.TransferSyntaxUID
    ds.is_implicit_VR, ds.is_little_endian = True, True
    with open(os.path.join(HERE, 'meta_without_transfer_syntax_implicit.dcm'), 'wb') as f:
        f.write(b'\0' * 128 + b'DICM')
        fp = pydicom.filebase.DicomFileLike(f)
        fp.is_implicit_VR, fp.is_little_endian = False, True
        pydicom.filewriter.write_file_meta_info(fp, ds.file_meta, enforce_standard=False)
        fp.is_implicit_VR = True
        pydicom.filewriter.write_dataset(fp, ds)


def write_bare(ds, name, implicit, little):
    ds.is_implicit_VR, ds.is_little_endian = implicit, little
    with open(os.path.join(HERE, name + '.dcm'), 'wb') as f:
        fp = pydicom.filebase.DicomFileLike(f)
        fp.is_implicit_VR, fp.is_little_endian = implicit, little
        pydicom.filewriter.write_dataset(fp, ds)


def enhanced():
    """Enhanced multi-frame objects whose rescale and window change from frame
    to frame (Per-Frame Functional Groups), or come from the shared groups."""
    mr = source('mr_10frame_native.dcm')
    n = int(mr.NumberOfFrames)
    shared = Dataset()
    pm = Dataset()
    pm.PixelSpacing, pm.SliceThickness = [0.9, 0.9], 5
    shared.PixelMeasuresSequence = Sequence([pm])
    mr.SharedFunctionalGroupsSequence = Sequence([shared])
    per = []
    for k in range(n):
        item = Dataset()
        xf = Dataset()
        xf.RescaleSlope, xf.RescaleIntercept, xf.RescaleType = 1 + 0.25 * k, -50 * k, 'US'
        item.PixelValueTransformationSequence = Sequence([xf])
        voi = Dataset()
        voi.WindowCenter, voi.WindowWidth = 200 + 30 * k, 300 + 40 * k
        voi.WindowCenterWidthExplanation = 'frame %d' % (k + 1)
        item.FrameVOILUTSequence = Sequence([voi])
        pos = Dataset()
        pos.ImagePositionPatient = [0, 0, 5 * k]
        item.PlanePositionSequence = Sequence([pos])
        per.append(item)
    mr.PerFrameFunctionalGroupsSequence = Sequence(per)
    for kw in ('RescaleSlope', 'RescaleIntercept', 'WindowCenter', 'WindowWidth'):
        if kw in mr:
            delattr(mr, kw)
    save(mr, 'enhanced_mr_perframe_rescale_window')
    ct = source('ct_small.dcm')
    px = np.frombuffer(ct.PixelData, '<i2')
    ct.NumberOfFrames = 3
    ct.PixelData = np.concatenate([px, px[::-1], px]).astype('<i2').tobytes()
    shared = Dataset()
    xf = Dataset()
    xf.RescaleSlope, xf.RescaleIntercept, xf.RescaleType = 1, -1024, 'HU'
    shared.PixelValueTransformationSequence = Sequence([xf])
    ct.SharedFunctionalGroupsSequence = Sequence([shared])
    per = []
    for c, w in ((-600, 1500), (40, 400), (400, 1800)):
        item = Dataset()
        voi = Dataset()
        voi.WindowCenter, voi.WindowWidth = c, w
        item.FrameVOILUTSequence = Sequence([voi])
        per.append(item)
    ct.PerFrameFunctionalGroupsSequence = Sequence(per)
    for kw in ('RescaleSlope', 'RescaleIntercept', 'WindowCenter', 'WindowWidth'):
        if kw in ct:
            delattr(ct, kw)
    save(ct, 'enhanced_ct_shared_rescale_perframe_window')


def charsets():
    """Person names: UTF-8 (ISO_IR 192) with empty trailing component groups,
    and names inside sequence items whose Specific Character Set differs from
    the dataset's."""
    for name, pn in (('charset_utf8_pn_trailing_group', 'Yamada^Tarou=山田^太郎='),
                     ('charset_utf8_pn_empty_groups', 'Yamada^Tarou==')):
        ds = new_ds(name, 2, 2, 1, 8)
        ds.PatientName = pn
        ds.PixelData = bytes(4)
        save(ds, name)
    ds = new_ds('charset_items', 2, 2, 1, 8)
    ds.SpecificCharacterSet = ['', 'ISO 2022 IR 87']
    ds.PatientName = pydicom.valuerep.PersonName('Yamada^Tarou=山田^太郎=やまだ^たろう', encodings=['iso2022_jp'])
    item = Dataset()
    item.SpecificCharacterSet = 'ISO_IR 192'
    item.PatientName = '鈴木^花子'
    other = Dataset()
    other.PatientName = pydicom.valuerep.PersonName('Sato^Jiro=佐藤^次郎', encodings=['iso2022_jp'])
    ds.OtherPatientIDsSequence = Sequence([item, other])
    ds.PixelData = bytes(4)
    save(ds, 'charset_items')


def main():
    os.makedirs(os.path.join(HERE, 'bitdepth'), exist_ok=True)
    bit_depths()
    deflated_frames()
    float_maps()
    segmentations()
    truncated()
    no_meta()
    enhanced()
    charsets()


if __name__ == '__main__':
    main()
