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
