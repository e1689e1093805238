#!/bin/sh
# bench.sh — `make bench` (see bench/README.md): builds MedBox, the bench driver
# and the WAN emulator, then runs bench/medboxbench as root. Network namespaces
# and the emulator are removed on exit, also after an error or Ctrl-C.
#
#   sudo make bench                        everything (about 35 minutes on 2 cores)
#   sudo BENCH_QUICK=1 make bench          the headline and phone links, smaller files (about 8 minutes)
#   sudo BENCH_LINKS=50M-120ms-1% make bench   only that link ("none": loopback only)
#   BENCH_TUNE=0, BENCH_LOOPBACK=0, BENCH_BODIES=0   skip the tuning sweep, the loopback part, the chunk-body test
#
# Needs: ip, iperf3, curl, squid, chromium; for the chunk-body test node, npm and
# firefox-esr (apt-get install iperf3 squid chromium fonts-noto-cjk firefox-esr nodejs npm).
# The last line printed is the headline for the 200 Mbit/s, 60 ms, 0.5 % link.
set -eu
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
	echo "make bench needs root (it creates network namespaces): sudo make bench" >&2
	exit 1
fi
GO=${GO:-go}
export GOTOOLCHAIN="${GOTOOLCHAIN:-auto}" GO
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
bin/medbox-bench run -medbox bin/medbox -wanem bench/wanem -out bench/results "$@"
