#!/usr/bin/env bash
# The test command (README): unit, property and CLI tests everywhere; the lab tests too when
# run as root (it installs what they need first if missing: iproute2, nftables, python3,
# openssl, libpcap-dev, strace, nmap, ndiff, xmllint, python-libnmap), and the raw lab tests a
# second time with the libpcap backend (`--features pcap`).
set -euo pipefail
cd "$(dirname "$0")/.."
features=()
if [ "$(id -u)" = 0 ]; then
  scripts/lab.sh deps
  # libpcap's headers, for the `pcap` feature's backend (the default build needs none).
  if ! [ -e /usr/include/pcap.h ] && command -v apt-get >/dev/null; then
    apt-get install -y -qq libpcap-dev >/dev/null 2>&1 ||
      { apt-get update -qq && apt-get install -y -qq libpcap-dev >/dev/null; }
  fi
  # strace, for the check that every file synsweep creates is opened O_EXCL|O_NOFOLLOW.
  if ! command -v strace >/dev/null && command -v apt-get >/dev/null; then
    apt-get install -y -qq strace >/dev/null 2>&1 ||
      { apt-get update -qq && apt-get install -y -qq strace >/dev/null; }
  fi
  # -oX's checks and the nmap hand-off: nmap (its DTD, nmap-services, the scanner to compare
  # with), ndiff, xmllint, and python-libnmap (PyPI) for the python3 the tests run.
  missing=()
  for tool in nmap ndiff xmllint pip3; do command -v "$tool" >/dev/null || missing+=("$tool"); done
  if [ ${#missing[@]} -gt 0 ] && command -v apt-get >/dev/null; then
    pkgs="nmap ndiff libxml2-utils python3-pip"
    apt-get install -y -qq $pkgs >/dev/null 2>&1 ||
      { apt-get update -qq && apt-get install -y -qq $pkgs >/dev/null; }
  fi
  if ! python3 -c "import libnmap" 2>/dev/null; then
    python3 -m pip install -q python-libnmap 2>/dev/null ||
      python3 -m pip install -q --break-system-packages python-libnmap
  fi
  # As root the lab tests must run: a skip would be a silent pass.
  export SYNSWEEP_REQUIRE_LAB=1
else
  echo "test.sh: not root: the lab tests will be skipped (run with sudo to include them)" >&2
fi
# Everything once in the default build (AF_PACKET, no system library)…
cargo test --release --locked "$@"
# …and the raw engine's lab tests again with the libpcap backend, where libpcap is there.
if [ -e /usr/include/pcap.h ]; then
  cargo test --release --locked --features pcap --test lab_raw "$@"
else
  echo "test.sh: no libpcap headers: the pcap backend's tests are skipped" >&2
fi
