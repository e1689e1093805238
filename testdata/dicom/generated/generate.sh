#!/bin/sh
# Regenerates the extra DICOM test files in this folder from the files one level
# up, with DCMTK 3.6.7, GDCM 3.0.21 and OpenJPEG 2.5.0 (Debian 12: dcmtk,
# libgdcm-tools, libopenjp2-tools).
# The outputs are committed; run this only to change them. See README.md.
set -eu
cd "$(dirname "$0")"
src=..
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# A small native RGB image: the 100×100 YBR JPEG decoded and converted to RGB.
dcmdjpeg +ca "$src/sc_rgb_jpeg_baseline_ybr.dcm" "$tmp/rgb.dcm"
# A native RGB ultrasound frame, 640×480, from the lossless J2K file.
gdcmconv --raw "$src/us_rgb_j2k_lossless.dcm" "$tmp/us_rgb.dcm"

# Lossless JPEG (process 14) with every predictor, on signed 16-bit CT.
for sv in 1 2 3 4 5 6 7; do
	dcmcjpeg +el +sv $sv "$src/ct_small.dcm" "ct_jpeg_lossless_sv$sv.dcm"
done
# Point transform, on 12-bit MR (10 frames).
dcmcjpeg +el +sv 1 +pt 2 "$src/mr_10frame_native.dcm" mr_jpeg_lossless_pt2.dcm
# Lossless JPEG of RGB (three interleaved components).
dcmcjpeg +e1 "$tmp/rgb.dcm" rgb_jpeg_lossless.dcm
# Extended sequential 12-bit DCT (process 4), 10 frames.
dcmcjpeg +ee +un "$src/mr_10frame_native.dcm" mr_jpeg_extended_12bit.dcm
# Baseline colour: 4:2:2 YBR_FULL_422, and RGB coded without colour transform.
dcmcjpeg +eb +s2 +un "$tmp/us_rgb.dcm" us_jpeg_baseline_ybr422.dcm
dcmcjpeg +eb +cr +un "$tmp/rgb.dcm" rgb_jpeg_baseline_rgb.dcm

# JPEG-LS: near-lossless, signed, and the three interleave modes of colour.
dcmcjpls +en +md 2 +un "$src/mr_10frame_native.dcm" mr_jpegls_near2.dcm
dcmcjpls "$src/ct_small.dcm" ct_jpegls_signed.dcm
dcmcjpls +in "$tmp/rgb.dcm" rgb_jpegls_ilv0.dcm
dcmcjpls +il "$tmp/rgb.dcm" rgb_jpegls_ilv1.dcm
dcmcjpls +is "$tmp/rgb.dcm" rgb_jpegls_ilv2.dcm
dcmcjpls +in "$tmp/us_rgb.dcm" us_jpegls_ilv0.dcm

# RLE of signed 16-bit CT and of RGB.
dcmcrle "$src/ct_small.dcm" ct_rle_signed.dcm
dcmcrle "$tmp/rgb.dcm" rgb_rle.dcm

# JPEG 2000: GDCM's default coding of signed 16-bit CT, then OpenJPEG's own
# encoder (opj_compress, Debian libopenjp2-tools 2.5.0) for what DICOM writers
# may vary: progression orders, precincts, SOP/EPH, tiles and offsets, layers,
# every code-block style, no or many decomposition levels, 9/7, RCT, ICT.
# gdcmimg wraps each codestream in a DICOM file.
gdcmconv --j2k "$src/ct_small.dcm" ct_j2k_signed.dcm
gdcmraw -i "$src/ct_small.dcm" -o "$tmp/ct.rawl" -t 7fe0,0010
gdcmraw -i "$src/mr_10frame_native.dcm" -o "$tmp/mr.rawl" -t 7fe0,0010
head -c 8192 "$tmp/mr.rawl" >"$tmp/mr0.rawl"
dcm2pnm -q "$tmp/rgb.dcm" "$tmp/rgb.ppm"
j2k() { # name input options...
	out=$1 in=$2
	shift 2
	opj_compress -i "$in" -o "$tmp/$out.j2k" "$@" >/dev/null
	gdcmimg "$tmp/$out.j2k" "$out.dcm"
}
ct="$tmp/ct.rawl -F 128,128,1,16,s"
# shellcheck disable=SC2086
{
	j2k j2k_ct_rpcl_precincts_sop_eph $ct -p RPCL -c [32,32],[32,32],[32,32],[64,64] -n 4 -b 16,16 -SOP -EPH
	j2k j2k_ct_pcrl_tiles_offsets $ct -p PCRL -t 50,40 -T 7,3 -d 10,20 -n 3
	j2k j2k_ct_cprl_layers $ct -p CPRL -r 40,10,1
	j2k j2k_ct_rlcp_bypass_layers $ct -p RLCP -M 1 -r 20,5,1
	j2k j2k_ct_styles_reset_termall_vsc_pterm_segsym $ct -M 62
	j2k j2k_ct_styles_all $ct -M 63 -r 10,1
	j2k j2k_ct_97_tiles $ct -I -r 8 -t 64,64
	j2k j2k_mr_no_dwt "$tmp/mr0.rawl" -F 64,64,1,12,u -n 1 -b 64,64
	j2k j2k_mr_6levels_cb4 "$tmp/mr0.rawl" -F 64,64,1,12,u -n 6 -b 4,4
	j2k j2k_rgb_ict "$tmp/rgb.ppm" -I -mct 1 -r 15
	j2k j2k_rgb_rct_cprl "$tmp/rgb.ppm" -mct 1 -p CPRL -b 16,16
	j2k j2k_rgb_no_mct "$tmp/rgb.ppm" -mct 0
}

# High-Throughput JPEG 2000 (ITU-T T.814): OpenJPH 0.9.0's ojph_compress
# (Debian openjph-tools) codes the pixels, wrap.py (python3-pydicom) puts the
# codestreams into a copy of the source header with the HTJ2K transfer syntax
# (no installed tool writes HTJ2K DICOM). OpenJPH 0.9.0 reads 16-bit input
# samples as unsigned even when told they are signed, so signed codestreams are
# made from the values plus 2^15, coded as unsigned, with the sign flag then set
# in SIZ: a decoder then skips the DC level shift and gets the signed values
# back (opj_decompress does). Signed CT with negative values,
# 8, 12 and 16 bits, lossless and lossy, grey and colour (RCT, none, ICT), tiles,
# precincts, image and tile offsets, several resolutions and code-block sizes,
# every progression order, and ten frames.
py=${PYTHON:-/usr/bin/python3} # Debian's, with pydicom and numpy
cp "$tmp/mr0.rawl" "$tmp/mr0.raw"
ht() { # name source transfer-syntax photometric input ojph-options...
	out=$1 header=$2 ts=$3 pi=$4 in=$5
	shift 5
	ojph_compress -i "$in" -o "$tmp/$out.j2c" "$@" >/dev/null
	if [ "$in" = "$tmp/ctu.raw" ]; then # set the sign bit of Ssiz: signed 16-bit
		"$py" -c "
b = bytearray(open('$tmp/$out.j2c', 'rb').read())
i = b.find(b'\xff\x51')
b[i + 40] |= 0x80
open('$tmp/$out.j2c', 'wb').write(b)"
	fi
	"$py" wrap.py "$header" "1.2.840.10008.1.2.4.$ts" "$pi" "$out.dcm" "$tmp/$out.j2c"
}
"$py" -c "
import numpy as np
ct = np.fromfile('$tmp/ct.rawl', '<i2').astype(np.int32) - 1024  # HU: negative values
(ct + 32768).astype('<u2').tofile('$tmp/ctu.raw')
y, x = np.mgrid[0:80, 0:96]
u16 = (x * 680 + y * 3 + (x * y) % 97 * 17) % 65536   # full 16-bit range
u16.astype('<u2').tofile('$tmp/u16.raw')
"
gdcmconv --raw "$src/ot_jpeg_baseline_gray.dcm" "$tmp/g8.dcm"
gdcmraw -i "$tmp/g8.dcm" -o "$tmp/g8.raw" -t 7fe0,0010
dcm2pnm -q "$tmp/us_rgb.dcm" "$tmp/us_rgb.ppm"
ct16="-dims {128,128} -num_comps 1 -downsamp {1,1} -signed false -bit_depth 16"
mr12="-dims {64,64} -num_comps 1 -downsamp {1,1} -signed false -bit_depth 12"
# shellcheck disable=SC2086
{
	ht htj2k_ct_signed_tiles_lrcp "$src/ct_small.dcm" 201 MONOCHROME2 "$tmp/ctu.raw" $ct16 -reversible true -tile_size {64,64} -prog_order LRCP
	ht htj2k_ct_signed_rpcl_precincts "$src/ct_small.dcm" 202 MONOCHROME2 "$tmp/ctu.raw" $ct16 -reversible true -prog_order RPCL -num_decomps 3 -block_size {16,16} -precincts {16,16},{32,32},{64,64}
	ht htj2k_ct_signed_lossy "$src/ct_small.dcm" 203 MONOCHROME2 "$tmp/ctu.raw" $ct16 -qstep 0.002
	ht htj2k_ct_levels5_cb4x4 "$src/ct_small.dcm" 201 MONOCHROME2 "$tmp/ctu.raw" $ct16 -reversible true -num_decomps 5 -block_size {4,4} -prog_order RLCP
	ht htj2k_mr_12bit_nodwt_pcrl "$src/mr_10frame_native.dcm" 201 MONOCHROME2 "$tmp/mr0.raw" $mr12 -reversible true -num_decomps 0 -prog_order PCRL
	ht htj2k_mr_12bit_lossy "$src/mr_10frame_native.dcm" 203 MONOCHROME2 "$tmp/mr0.raw" $mr12 -qstep 0.01
	ht htj2k_u16_offsets "$src/ct_small.dcm" 201 MONOCHROME2 "$tmp/u16.raw" -dims {96,80} -num_comps 1 -downsamp {1,1} -signed false -bit_depth 16 -reversible true -image_offset {3,5} -tile_offset {1,2} -tile_size {40,33} -prog_order CPRL
	ht htj2k_gray8_cb64x16 "$src/ot_jpeg_baseline_gray.dcm" 201 MONOCHROME2 "$tmp/g8.raw" -dims {100,100} -num_comps 1 -downsamp {1,1} -signed false -bit_depth 8 -reversible true -block_size {16,64}
	ht htj2k_rgb_rct "$tmp/rgb.dcm" 201 YBR_RCT "$tmp/rgb.ppm" -reversible true -colour_trans true
	ht htj2k_rgb_no_colour_transform "$tmp/rgb.dcm" 201 RGB "$tmp/rgb.ppm" -reversible true -colour_trans false -prog_order LRCP
	ht htj2k_rgb_ict_lossy "$tmp/rgb.dcm" 203 YBR_ICT "$tmp/rgb.ppm" -qstep 0.01 -colour_trans true
	ht htj2k_us_rgb_tiles_rpcl "$tmp/us_rgb.dcm" 202 YBR_RCT "$tmp/us_rgb.ppm" -reversible true -tile_size {256,256} -prog_order RPCL
}
# Ten frames of 12-bit MR, each its own codestream.
frames=""
for k in 0 1 2 3 4 5 6 7 8 9; do
	"$py" -c "
import sys
b = open('$tmp/mr.rawl', 'rb').read()
open('$tmp/mr$k.raw', 'wb').write(b[$k*8192:($k+1)*8192])"
	# shellcheck disable=SC2086
	ojph_compress -i "$tmp/mr$k.raw" -o "$tmp/mr$k.j2c" $mr12 -reversible true -num_decomps 3 >/dev/null
	frames="$frames $tmp/mr$k.j2c"
done
# shellcheck disable=SC2086
"$py" wrap.py "$src/mr_10frame_native.dcm" 1.2.840.10008.1.2.4.201 MONOCHROME2 htj2k_mr_10frame.dcm $frames

# Progressive and spectral-selection DCT JPEG (processes 10/12 and 6/8) with
# DCMTK: 8-bit grey, 12-bit MR (ten frames), and colour 4:2:2 and 4:1:1.
dcmcjpeg +ep "$tmp/g8.dcm" jpeg_progressive_gray8.dcm
dcmcjpeg +ep +un "$src/mr_10frame_native.dcm" jpeg_progressive_mr12_10frame.dcm
dcmcjpeg +es +un "$src/mr_10frame_native.dcm" jpeg_spectral_mr12_10frame.dcm
dcmcjpeg +ep +s2 +un "$tmp/us_rgb.dcm" jpeg_progressive_us_ybr422.dcm
dcmcjpeg +ep +n1 "$tmp/rgb.dcm" jpeg_progressive_rgb_411.dcm
