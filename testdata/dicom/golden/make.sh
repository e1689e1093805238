#!/bin/sh
# Rebuilds the external reference outputs in this folder with GDCM 3.0.21 and
# DCMTK 3.6.7 (Debian 12: libgdcm-tools, dcmtk). See README.md for what each
# output is and how the tests use it. Our own decoder never produces these.
set -eu
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p raw render
rm -f raw/*.dcm.gz render/*.png

for f in ../*.dcm ../generated/*.dcm; do
	name=$(basename "$f" .dcm)
	ts=$(dcmdump -q +P 0002,0010 "$f" | sed 's/.*\[\(.*\)\].*/\1/; s/.*=\([A-Za-z0-9:-]*\).*/\1/')
	dcmdump -q +P 7fe0,0010 "$f" | grep -q . || continue # no pixel data
	# 1. Raw pixel reference: GDCM decompresses (lossless: pixel-exact target).
	src=$f
	case $ts in
	LittleEndianImplicit | LittleEndianExplicit | BigEndianExplicit) ;;
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
