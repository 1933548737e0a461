#!/usr/bin/env bash
# The test command (README): unit, property and CLI tests everywhere; the lab tests too when
# run as root (they install iproute2, nftables and python3 first if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" = 0 ]; then
  scripts/lab.sh deps
  # As root the lab tests must run: a skip would be a silent pass.
  export SYNSWEEP_REQUIRE_LAB=1
else
  echo "test.sh: not root: the lab tests will be skipped (run with sudo to include them)" >&2
fi
cargo test --release --locked "$@"
