#!/usr/bin/python3
"""wrap.py SOURCE.dcm TRANSFER_SYNTAX PHOTOMETRIC OUT.dcm FRAME.j2c...

Writes OUT.dcm: the header of SOURCE.dcm with the given codestreams as its
encapsulated frames (basic offset table filled), for transfer syntaxes that no
installed tool writes DICOM files for (HTJ2K). Rows, columns, samples and bits
come from the first codestream's SIZ marker. Uses Debian's python3-pydicom.
"""
import struct
import sys

import pydicom
from pydicom._uid_dict import UID_dictionary
from pydicom.encaps import encapsulate
from pydicom.uid import UID

# pydicom 2.3 predates HTJ2K: tell it these are (compressed) transfer syntaxes.
for _uid, _name in (('201', 'Lossless'), ('202', 'Lossless RPCL'), ('203', '')):
    UID_dictionary.setdefault('1.2.840.10008.1.2.4.' + _uid, ('High-Throughput JPEG 2000 ' + _name, 'Transfer Syntax', '', '', 'HTJ2K'))


def siz(cs):
    i = cs.find(b'\xff\x51')
    xsiz, ysiz, xo, yo = struct.unpack_from('>IIII', cs, i + 6)
    ncomp = struct.unpack_from('>H', cs, i + 38)[0]
    ssiz = cs[i + 40]
    return xsiz - xo, ysiz - yo, ncomp, (ssiz & 0x7F) + 1, ssiz >> 7


def main():
    src, ts, photometric, out, frames = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]
    ds = pydicom.dcmread(src)
    streams = [open(f, 'rb').read() for f in frames]
    w, h, nc, prec, signed = siz(streams[0])
    ds.file_meta.TransferSyntaxUID = UID(ts)
    ds.is_little_endian, ds.is_implicit_VR = True, False
    ds.Rows, ds.Columns, ds.SamplesPerPixel = h, w, nc
    ds.PhotometricInterpretation = photometric
    ds.BitsAllocated = 8 if prec <= 8 else 16
    ds.BitsStored, ds.HighBit, ds.PixelRepresentation = prec, prec - 1, signed
    if nc == 3:
        ds.PlanarConfiguration = 0
    if len(streams) > 1 or 'NumberOfFrames' in ds:
        ds.NumberOfFrames = len(streams)
    for kw in ('SmallestImagePixelValue', 'LargestImagePixelValue'):
        if kw in ds:
            delattr(ds, kw)
    ds.PixelData = encapsulate(streams, has_bot=True)
    ds['PixelData'].VR = 'OB'
    ds['PixelData'].is_undefined_length = True
    ds.LossyImageCompression = '01' if ts.endswith('.203') else '00'
    ds.save_as(out, write_like_original=False)


if __name__ == '__main__':
    main()
