#!/bin/sh
# install-versitygw.sh installs the S3 server the blob tests run against,
# versitygw at a pinned version, into $(go env GOPATH)/bin. Running it again when
# that version is already installed does nothing.
set -eu

VERSION=v1.8.0
export GOTOOLCHAIN="${GOTOOLCHAIN:-auto}"

bin="$(go env GOPATH)/bin/versitygw"
if [ -x "$bin" ] && go version -m "$bin" 2>/dev/null | grep -q "mod[[:space:]]*github.com/versity/versitygw[[:space:]]*$VERSION"; then
	echo "versitygw $VERSION already installed at $bin"
	exit 0
fi

echo "installing versitygw $VERSION into $(dirname "$bin")"
# Built outside any module so the project's go.mod is neither read nor changed.
cd "${TMPDIR:-/tmp}"
GOFLAGS=-buildvcs=false go install "github.com/versity/versitygw/cmd/versitygw@$VERSION"
echo "installed $bin"
