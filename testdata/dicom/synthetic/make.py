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
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.sequence import Sequence
from pydicom.uid import UID

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


def main():
    os.makedirs(os.path.join(HERE, 'bitdepth'), exist_ok=True)
    bit_depths()


if __name__ == '__main__':
    main()
