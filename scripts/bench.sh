#!/usr/bin/env bash
# Benchmarks in the lab (root): synsweep side by side with nmap when it is installed.
# Prints one table: wall time, peak RSS, open ports found vs the lab's ground truth.
# Figures, not pass/fail: the tests check behaviour; this measures it.
#
#   scripts/bench.sh            connect-scan figures (1 host x 65535 ports; /24 x top-100)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
. "$here/lab.env"
[ "$(id -u)" = 0 ] || { echo "bench.sh: needs root (network namespaces)" >&2; exit 1; }
"$here/lab.sh" deps
command -v /usr/bin/time >/dev/null || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }
(cd "$root" && cargo build --release --locked -q)
bin="$root/target/release/synsweep"
lab=bench$$
lab=${lab:0:10}
"$here/lab.sh" up "$lab" 1800
trap '"$here/lab.sh" down "$lab"' EXIT
work=$(mktemp -d)

# expected_open HOSTS_SPEC PORTS...: how many open ports the lab has there
expected_open() {
  python3 - "$@" <<'PY'
import ipaddress, sys, os
env = {}
for line in open(os.path.join(os.environ["HERE"], "lab.env")):
    line = line.strip()
    if line and not line.startswith("#") and "=" in line:
        k, v = line.split("=", 1); env[k] = v.strip('"')
net, ports = sys.argv[1], [int(p) for p in sys.argv[2:]]
a, b = env["LAB_SILENT_HOSTS"].split("-")
silent = lambda ip: ipaddress.ip_address(a) <= ip <= ipaddress.ip_address(b)
openp = {int(p) for p in env["LAB_OPEN_PORTS"].split()}
host_open = {(ipaddress.ip_address(s.rsplit(":",1)[0]), int(s.rsplit(":",1)[1])) for s in env["LAB_HOST_OPEN"].split()}
hosts = list(ipaddress.ip_network(net, strict=False)) if "/" in net else [ipaddress.ip_address(net)]
print(sum(1 for h in hosts for p in ports if not silent(h) and (p in openp or (h, p) in host_open)))
PY
}
export HERE="$here"

row() { printf '| %-34s | %-9s | %8s | %8s | %9s |\n' "$@"; }
# measure NAME OPEN_COUNT_CMD -- CMD...: runs CMD in the scanner namespace under /usr/bin/time
measure() {
  local name=$1 count_cmd=$2; shift 3
  /usr/bin/time -f "%e %M" -o "$work/time" "$here/lab.sh" run "$lab" "$@" >/dev/null 2>"$work/err" || true
  read -r secs kb < "$work/time"
  row "$name" "$(eval "$count_cmd")" "${secs}s" "$((kb / 1024)) MB" "$expected"
}

ports100=$("$bin" --help >/dev/null; python3 -c "
import sys
ranked=[]
try:
    for l in open('/usr/share/nmap/nmap-services'):
        if l.startswith('#'): continue
        f=l.split()
        if f[1].endswith('/tcp'): ranked.append((-float(f[2]), int(f[1].split('/')[0])))
    ranked.sort(); print(' '.join(str(p) for _,p in ranked[:100]))
except FileNotFoundError:
    print(' '.join(open('$root/data/top-tcp-ports.txt').read().split()[:100]))
")

echo
echo "synsweep bench — connect scans in the lab ($(nproc) cores, $(uname -r))"
echo
row "scan" "open found" "wall" "peak RSS" "truth"
row "----" "----------" "----" "--------" "-----"

expected=$(expected_open 198.18.0.7 $(seq 1 65535))
measure "synsweep -sT 1 host x 65535" "grep -c '\"state\":\"open\"' $work/s1.ndjson" -- \
  "$bin" -sT 198.18.0.7 -p- -q -oD "$work/s1.ndjson"
if command -v nmap >/dev/null; then
  measure "nmap -sT -T5 -Pn -n 1 host x 65535" "grep -o '/open/' $work/n1.gnmap | wc -l" -- \
    nmap -sT -T5 -Pn -n -p- 198.18.0.7 -oG "$work/n1.gnmap"
fi

expected=$(expected_open 198.18.0.0/24 $ports100)
measure "synsweep -sT /24 x top-100" "grep -c '\"state\":\"open\"' $work/s2.ndjson" -- \
  "$bin" -sT 198.18.0.0/24 -p top100 -q -oD "$work/s2.ndjson"
if command -v nmap >/dev/null; then
  measure "nmap -sT -T5 -Pn -n /24 x top-100" "grep -o '/open/' $work/n2.gnmap | wc -l" -- \
    nmap -sT -T5 -Pn -n --top-ports 100 198.18.0.0/24 -oG "$work/n2.gnmap"
fi
echo
rm -rf "$work"
