#!/bin/sh
# bench.sh — `make bench` (see bench/README.md): builds MedBox, the bench driver
# and the WAN emulator, then runs bench/medboxbench as root. Network namespaces
# and the emulator are removed on exit, also after an error or Ctrl-C.
#
#   sudo make bench                        everything (about 35 minutes on 2 cores)
#   sudo BENCH_QUICK=1 make bench          the headline and phone links, smaller files (about 8 minutes)
#   sudo BENCH_LINKS=50M-120ms-1% make bench   only that link ("none": loopback only)
#   BENCH_TUNE=0, BENCH_LOOPBACK=0, BENCH_BODIES=0   skip the tuning sweep, the loopback part, the chunk-body test
#   BENCH_READ_SECONDS=10                  a shorter audited-reads run (30 s)
#
# Needs: ip, iperf3, curl, squid, chromium; for the chunk-body test node, npm and
# firefox-esr (apt-get install iperf3 squid chromium fonts-noto-cjk firefox-esr nodejs npm).
# The last line printed is the headline for the 200 Mbit/s, 60 ms, 0.5 % link.
#   BENCH_DEID_ONLY=1 make bench           only the browser's DICOM de-identification (no root needed)
#
# After the upload figures it measures the browser's DICOM de-identification
# (bench/deidbench: a 500-file CT series and a 1000-frame file in headless
# Chromium) and prints its MB/s next to the headline upload rate.
set -eu
cd "$(dirname "$0")/.."
GO=${GO:-go}
export GOTOOLCHAIN="${GOTOOLCHAIN:-auto}" GO
deid_bench() {
	mkdir -p bin
	"$GO" build -tags bench -o bin/medbox-deidbench ./bench/deidbench
	"$GO" vet -tags bench ./bench/deidbench
	bin/medbox-deidbench -work "${BENCH_WORK:-/var/tmp}"
}
if [ "${BENCH_DEID_ONLY:-0}" = 1 ]; then
	deid_bench
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "make bench needs root (it creates network namespaces): sudo make bench" >&2
	exit 1
fi
mkdir -p bin
"$GO" build -o bin/medbox ./cmd/medbox
"$GO" build -tags bench -o bin/medbox-bench ./bench/medboxbench
"$GO" vet -tags bench ./bench/medboxbench
if [ "${BENCH_BODIES:-1}" != 0 ] && command -v npm >/dev/null && [ ! -d bench/bodies/node_modules/puppeteer-core ]; then
	npm ci --prefix bench/bodies --no-audit --no-fund || echo "bench.sh: npm ci failed; the chunk-body test is skipped" >&2
fi

cleanup() {
	bench/wanem/netns-down.sh >/dev/null 2>&1 || true
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM
# Audited reads (issue 14): SQLite, one instance, against PostgreSQL, two instances; see bench/README.md.
env MEDBOX_BENCH_OUT="$PWD/bench/results/audited-reads.json" MEDBOX_BENCH_SECONDS="${BENCH_READ_SECONDS:-30}" "$GO" test -tags bench,nodynamic -count=1 -timeout 30m -run '^TestAuditedReads$' -v ./cmd/medbox
out=$(mktemp)
bin/medbox-bench run -medbox bin/medbox -wanem bench/wanem -out bench/results "$@" | tee "$out"
headline=$(tail -n 1 "$out")
rm -f "$out"
# The de-identification runs before upload, in the browser: it must be faster.
deid_bench
echo "$headline"
