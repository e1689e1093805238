#!/bin/sh
# Rebuilds the external reference outputs in this folder with GDCM 3.0.21,
# DCMTK 3.6.7, OpenJPH 0.9.0, OpenJPEG 2.5.0 and pydicom 2.3.1 (Debian 12:
# libgdcm-tools, dcmtk, openjph-tools, libopenjp2-tools, python3-pydicom,
# python3-numpy). See README.md for what each output is and how the tests use
# it. Our own decoder never produces these.
set -eu
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p raw render render/bitdepth
rm -f raw/*.dcm.gz render/*.png render/bitdepth/*.png

for f in ../*.dcm ../generated/*.dcm; do
	name=$(basename "$f" .dcm)
	ts=$(dcmdump -q +P 0002,0010 "$f" | sed 's/.*\[\(.*\)\].*/\1/; s/.*=\([A-Za-z0-9:-]*\).*/\1/')
	dcmdump -q +P 7fe0,0010 "$f" | grep -q . || continue # no pixel data
	# 1. Raw pixel reference: GDCM decompresses (lossless: pixel-exact target).
	src=$f
	case $ts in
	LittleEndianImplicit | LittleEndianExplicit | BigEndianExplicit) ;;
	1.2.840.10008.1.2.4.20[123]) continue ;; # HTJ2K: GDCM cannot; samples.py covers it
	*)
		gdcmconv --raw "$f" "$tmp/$name.dcm"
		gzip -9n <"$tmp/$name.dcm" >"raw/$name.dcm.gz"
		src=$tmp/$name.dcm
		;;
	esac
	# 2. Rendered reference: DCMTK renders the first frame of the decompressed
	# file, grey images with the window from windows.txt.
	win=$(awk -v n="$name" '$1 == n { print $2, $3 }' windows.txt)
	if [ -n "$win" ]; then
		# shellcheck disable=SC2086
		dcm2pnm -q +on +Ww $win "$src" "render/$name.png"
	else
		dcm2pnm -q +on "$src" "render/$name.png"
	fi
done

# 3. Every bit depth: DCMTK renders grey images with its min-max window (+Wm),
# colour ones as they are.
for f in ../synthetic/bitdepth/*.dcm; do
	name=$(basename "$f" .dcm)
	case $name in
	bits_gray*) dcm2pnm -q +on +Wm "$f" "render/bitdepth/$name.png" ;;
	*) dcm2pnm -q +on "$f" "render/bitdepth/$name.png" ;;
	esac
done

# dcm2pnm stamps each PNG with the time (tIME): drop it, so that a rerun that
# renders the same pixels writes the same bytes.
/usr/bin/python3 - render/*.png render/bitdepth/*.png <<'PY'
import struct, sys, zlib
for p in sys.argv[1:]:
    b = open(p, 'rb').read()
    out, pos = b[:8], 8
    while pos < len(b):
        n = struct.unpack('>I', b[pos:pos + 4])[0]
        if b[pos + 4:pos + 8] != b'tIME':
            out += b[pos:pos + 12 + n]
        pos += 12 + n
    open(p, 'wb').write(out)
PY

# 4. Samples of every frame of every file, here and in ../shared/testdata/dicom-more.
/usr/bin/python3 samples.py
