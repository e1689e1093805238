#!/bin/sh
# bench.sh — `make bench` (see bench/README.md): builds MedBox, the bench driver
# and the WAN emulator, then runs bench/medboxbench as root. Network namespaces
# and the emulator are removed on exit, also after an error or Ctrl-C.
#
#   sudo make bench                        everything (about 35 minutes on 2 cores)
#   sudo BENCH_QUICK=1 make bench          one link, smaller files (about 6 minutes)
#   sudo BENCH_LINKS=50M-120ms-1% make bench   only that link
#   BENCH_TUNE=0, BENCH_LOOPBACK=0         skip the tuning sweep, the loopback part
#   BENCH_READ_SECONDS=10                  a shorter audited-reads run (30 s)
#
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

cleanup() {
	bench/wanem/netns-down.sh >/dev/null 2>&1 || true
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM
# Audited reads (issue 14): SQLite, one instance, against PostgreSQL, two instances; see bench/README.md.
env MEDBOX_BENCH_OUT="$PWD/bench/results/audited-reads.json" MEDBOX_BENCH_SECONDS="${BENCH_READ_SECONDS:-30}" "$GO" test -tags bench,nodynamic -count=1 -timeout 30m -run '^TestAuditedReads$' -v ./cmd/medbox
bin/medbox-bench run -medbox bin/medbox -wanem bench/wanem -out bench/results "$@"
