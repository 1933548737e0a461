#!/usr/bin/env bash
# Benchmarks in the lab (root): synsweep side by side with masscan, zmap and nmap when they
# are installed (Debian packages). Figures, not pass/fail: the tests check behaviour; this
# measures it.
#
#   scripts/bench.sh            everything below
#   scripts/bench.sh connect    connect scans (1 host x 65535 ports; /24 x top-100) vs nmap -sT
#   scripts/bench.sh raw        raw scans: /16 x 5 ports and /20 x 1-1000 (SYN), /16 ping
#                               sweep, 1% reply loss, and the generator alone
#   scripts/bench.sh banners    banners of 10,000 open ports (SSH greetings and HTTP pages)
#                               vs nmap -sV --version-light on the same ports
#   scripts/bench.sh udp        /24 x top-20 UDP with the target's ICMP limit off and on
#   scripts/bench.sh names      a /16 ping sweep with -n, and with names while the lab's name
#                               server answers, refuses (ICMP port unreachable) and is silent
#   scripts/bench.sh adaptive   the adaptive rate beside --rate-mode fixed, masscan and zmap at
#                               --rate 10M: the clean path, a policer at 20k/s and 60k/s, a
#                               sparse network (2 % of hosts answer) behind the 20k policer,
#                               1 % reply loss; then 3 interleaved clean runs, adaptive / fixed
#   scripts/bench.sh memory     peak RSS of /16 x 5 with -oD, with -oJ -oX -oG, and with
#                               1.3 M open ports, beside masscan and zmap
#   SYNSWEEP_BASELINE=BIN scripts/bench.sh baseline
#                               BIN (an older build) and this build, interleaved three times:
#                               /16 x 5 SYN, /16 ping sweep, 1 host x 65535 connect
#
# Raw rows: probes/s = probes the target counted / the time between the first and the last
# packet it received (sampled every 10 ms), so every tool is timed by the same clock and its
# own start-up and cool-down are left out; wall = the whole run, cool-down included.
set -euo pipefail
what=${1:-all}
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

connect_table() {
echo
echo "synsweep bench — connect scans in the lab ($(nproc) cores, $(uname -r))"
echo
row "scan" "open found" "wall" "peak RSS" "truth"
row "----" "----------" "----" "--------" "-----"

expected=$(expected_open 198.18.0.7 $(seq 1 65535))
measure "synsweep -sT 1 host x 65535" "grep -c '\"state\":\"open\"' $work/s1.ndjson" -- \
  "$bin" -n -sT 198.18.0.7 -p- -q -oD "$work/s1.ndjson"
if command -v nmap >/dev/null; then
  measure "nmap -sT -T5 -Pn -n 1 host x 65535" "grep -o '/open/' $work/n1.gnmap | wc -l" -- \
    nmap -sT -T5 -Pn -n -p- 198.18.0.7 -oG "$work/n1.gnmap"
fi

expected=$(expected_open 198.18.0.0/24 $ports100)
measure "synsweep -sT /24 x top-100" "grep -c '\"state\":\"open\"' $work/s2.ndjson" -- \
  "$bin" -n -sT 198.18.0.0/24 -p top100 -q -oD "$work/s2.ndjson"
if command -v nmap >/dev/null; then
  measure "nmap -sT -T5 -Pn -n /24 x top-100" "grep -o '/open/' $work/n2.gnmap | wc -l" -- \
    nmap -sT -T5 -Pn -n --top-ports 100 198.18.0.0/24 -oG "$work/n2.gnmap"
fi
echo
}

rrow() { printf '| %-44s | %9s | %10s | %8s | %8s | %7s | %5s |\n' "$@"; }
# rmeasure NAME FORMAT OUTFILE NET PORTS -- CMD...: one raw row (see the header for the clocks)
rmeasure() {
  local name=$1 fmt=$2 out=$3 net=$4 ports=$5; shift 6
  "$here/lab.sh" probes "$lab" >/dev/null
  ip netns exec "$lab-t" python3 "$here/bench_sample.py" 600 >"$work/sample" &
  local sampler=$!
  sleep 0.3
  /usr/bin/time -f "%e %M" -o "$work/time" "$here/lab.sh" run "$lab" "$@" >/dev/null 2>"$work/err" || true
  sleep 0.3
  kill -TERM "$sampler"; wait "$sampler" || true
  local secs kb span rx probes score
  read -r secs kb < "$work/time"
  read -r span rx < "$work/sample"
  probes=$("$here/lab.sh" probes "$lab")
  read -r found truth recall false <<<"$("$here/bench_score.py" "$fmt" "$out" "$net" "$ports")"
  rrow "$name" "$probes" "$(python3 -c "print(f'{$probes/max($span,1e-3):,.0f}')")" "${secs}s" \
    "$((kb / 1024)) MB" "$recall" "$false"
}

raw_table() {
  local gw
  gw=$(ip -n "$lab-t" link show "${lab}v1" | awk '/link\/ether/ {print $2}')
  local mas=(masscan -e "${lab}v0" --router-mac "$gw" --source-ip "$LAB_SCANNER_ADDR" --rate 10000000 --wait 1)
  echo
  echo "synsweep bench — raw scans in the lab ($(nproc) cores, $(uname -r))"
  echo
  rrow "scan" "probes" "probes/s" "wall" "peak RSS" "recall%" "false"
  rrow "----" "------" "--------" "----" "--------" "-------" "-----"
  local p5=22,25,80,443,3389
  rmeasure "synsweep -sS /16 x 5 (--retries 0)" synsweep "$work/r1.nd" 198.18.0.0/16 $p5 -- \
    "$bin" -n -sS 198.18.0.0/16 -p $p5 --rate 10000000 --retries 0 --wait 1s -q -oD "$work/r1.nd"
  rmeasure "synsweep -sS /16 x 5 (default --retries 1)" synsweep "$work/r2.nd" 198.18.0.0/16 $p5 -- \
    "$bin" -n -sS 198.18.0.0/16 -p $p5 --rate 10000000 --wait 1s -q -oD "$work/r2.nd"
  if command -v masscan >/dev/null; then
    rmeasure "masscan /16 x 5" masscan "$work/m1.json" 198.18.0.0/16 $p5 -- \
      "${mas[@]}" 198.18.0.0/16 -p $p5 -oJ "$work/m1.json"
  fi
  if command -v nmap >/dev/null; then
    rmeasure "nmap -sS -T5 --min-rate 100000 /16 x 5" nmap "$work/n1.gnmap" 198.18.0.0/16 $p5 -- \
      nmap -sS -T5 -Pn -n --min-rate 100000 --max-retries 0 -p $p5 198.18.0.0/16 -oG "$work/n1.gnmap"
  fi
  local p1000
  p1000=$(seq -s, 1 1000)
  rmeasure "synsweep -sS /20 x 1-1000 (--retries 0)" synsweep "$work/r3.nd" 198.18.0.0/20 "$p1000" -- \
    "$bin" -n -sS 198.18.0.0/20 -p 1-1000 --rate 10000000 --retries 0 --wait 1s -q -oD "$work/r3.nd"
  if command -v masscan >/dev/null; then
    rmeasure "masscan /20 x 1-1000" masscan "$work/m3.json" 198.18.0.0/20 "$p1000" -- \
      "${mas[@]}" 198.18.0.0/20 -p 1-1000 -oJ "$work/m3.json"
  fi
  rmeasure "synsweep -sn /16 (ICMP echo)" synsweep "$work/r4.nd" 198.18.0.0/16 ping -- \
    "$bin" -n -sn 198.18.0.0/16 --rate 10000000 --retries 0 --wait 1s -q -oD "$work/r4.nd"
  : >"$work/no-blocklist" # zmap's default blocklist covers 198.18.0.0/15, the lab's block
  if command -v zmap >/dev/null; then
    rmeasure "zmap -M icmp_echoscan /16" zmap "$work/z4.csv" 198.18.0.0/16 ping -- \
      zmap -M icmp_echoscan -i "${lab}v0" -G "$gw" -S "$LAB_SCANNER_ADDR" -r 10000000 -c 1 \
      -b "$work/no-blocklist" -q -o "$work/z4.csv" 198.18.0.0/16
  fi
  # 1% of the target's replies dropped; ports without a silent one, so retries go only to
  # the lost answers (and the ten silent hosts).
  local pl=22,25,80,443,8080
  "$here/lab.sh" loss "$lab" 1
  rmeasure "synsweep -sS /16 x 5, 1% loss, --retries 0" synsweep "$work/r5.nd" 198.18.0.0/16 $pl -- \
    "$bin" -n -sS 198.18.0.0/16 -p $pl --rate 10000000 --retries 0 --wait 1s -q -oD "$work/r5.nd"
  rmeasure "synsweep -sS /16 x 5, 1% loss, --retries 1" synsweep "$work/r6.nd" 198.18.0.0/16 $pl -- \
    "$bin" -n -sS 198.18.0.0/16 -p $pl --rate 10000000 --retries 1 --wait 1s -q -oD "$work/r6.nd"
  "$here/lab.sh" loss "$lab" 0
  echo
  echo "generator alone (synsweep bench: craft into no device, one sender thread):"
  "$bin" bench 198.18.0.0/15 -p 1-100 --seed 1 2>&1 | sed 's/^/  /'
  echo
}

# adaptive: the same scans through each path, every tool at --rate 10M (the path sets the
# pace, or loses what it cannot carry). Wall: the whole run, cool-down included; ideal: one
# pass's probes at the path's rate (policed rows), for the 1.3 x bound.
adaptive_table() {
  local gw
  gw=$(ip -n "$lab-t" link show "${lab}v1" | awk '/link\/ether/ {print $2}')
  # masscan through a lossy path can sit long past its --wait (its receive thread wakes on
  # traffic): it gets 120 s, then SIGINT, on which it writes its output and ends.
  local mas=(timeout -s INT 120 masscan -e "${lab}v0" --router-mac "$gw" --source-ip "$LAB_SCANNER_ADDR" --rate 10000000 --wait 1)
  : >"$work/no-blocklist"
  local zm=(zmap -i "${lab}v0" -G "$gw" -S "$LAB_SCANNER_ADDR" -r 10000000 -c 1 -b "$work/no-blocklist" -q)
  local p5=22,80,443,8080,11434
  echo
  echo "adaptive rate — /16 x 5 ports (327,680 probes) and /16 x port 80, every tool at --rate 10M"
  echo "($(nproc) cores, $(uname -r)); probes = what reached the targets"
  echo
  rrow "path / scan" "probes" "probes/s" "wall" "peak RSS" "recall%" "false"
  rrow "-----------" "------" "--------" "----" "--------" "-------" "-----"
  local path
  for path in clean police-20000 police-60000 sparse-20000 loss-1; do
    "$here/lab.sh" police "$lab" 0
    "$here/lab.sh" sparse "$lab" off
    "$here/lab.sh" loss "$lab" 0
    local score_net=198.18.0.0/16
    case $path in
      police-*) "$here/lab.sh" police "$lab" "${path#police-}" ;;
      sparse-*) "$here/lab.sh" police "$lab" "${path#sparse-}"; "$here/lab.sh" sparse "$lab" on ;;
      loss-*) "$here/lab.sh" loss "$lab" "${path#loss-}" ;;
    esac
    export BENCH_SPARSE=$([ "${path%%-*}" = sparse ] && echo 1 || echo 0)
    rmeasure "$path: synsweep (adaptive)" synsweep "$work/a1.nd" $score_net $p5 -- \
      "$bin" -n -sS 198.18.0.0/16 -p $p5 --rate 10000000 -q -oD "$work/a1.nd"
    rmeasure "$path: synsweep --rate-mode fixed" synsweep "$work/a2.nd" $score_net $p5 -- \
      "$bin" -n -sS 198.18.0.0/16 -p $p5 --rate 10000000 --rate-mode fixed -q -oD "$work/a2.nd"
    if command -v masscan >/dev/null; then
      rmeasure "$path: masscan" masscan "$work/a3.json" $score_net $p5 -- \
        "${mas[@]}" 198.18.0.0/16 -p $p5 -oJ "$work/a3.json"
    fi
    rmeasure "$path: synsweep (adaptive) x 80" synsweep "$work/a4.nd" $score_net 80 -- \
      "$bin" -n -sS 198.18.0.0/16 -p 80 --rate 10000000 -q -oD "$work/a4.nd"
    if command -v zmap >/dev/null; then
      rmeasure "$path: zmap -M tcp_synscan x 80" zmapsyn "$work/a5.csv" $score_net 80 -- \
        "${zm[@]}" -M tcp_synscan -p 80 -o "$work/a5.csv" 198.18.0.0/16
    fi
  done
  "$here/lab.sh" police "$lab" 0
  "$here/lab.sh" sparse "$lab" off
  "$here/lab.sh" loss "$lab" 0
  export BENCH_SPARSE=0
  echo
  echo "clean path, 3 interleaved runs: probes/s (what reached the targets / the span they came in)"
  local i mode
  for i in 1 2 3; do
    for mode in adaptive fixed; do
      rmeasure "clean: synsweep --rate-mode $mode ($i)" synsweep "$work/c.nd" 198.18.0.0/16 $p5 -- \
        "$bin" -n -sS 198.18.0.0/16 -p $p5 --rate 10000000 --rate-mode $mode -q -oD "$work/c.nd"
    done
  done
  echo
}

# memory: peak RSS (maximum resident set) of the same /16 x 5 with each output, then of a
# scan with 1.3 M open ports (the lab's listeners on 20 ports of every host), beside masscan
# and zmap on the /16 x 5.
memory_table() {
  local gw
  gw=$(ip -n "$lab-t" link show "${lab}v1" | awk '/link\/ether/ {print $2}')
  local p5=22,80,443,8080,11434
  echo
  echo "peak RSS, /16 x 5 ports at --rate 10M (327,630 open ports)"
  rrow "scan" "probes" "probes/s" "wall" "peak RSS" "recall%" "false"
  rrow "----" "------" "--------" "----" "--------" "-------" "-----"
  rmeasure "synsweep -oD" synsweep "$work/m1.nd" 198.18.0.0/16 $p5 -- \
    "$bin" -n -sS 198.18.0.0/16 -p $p5 --rate 10000000 -q -oD "$work/m1.nd"
  rmeasure "synsweep -oD -oJ -oX -oG" synsweep "$work/m2.nd" 198.18.0.0/16 $p5 -- \
    "$bin" -n -sS 198.18.0.0/16 -p $p5 --rate 10000000 -q -oD "$work/m2.nd" \
    -oJ "$work/m2.json" -oX "$work/m2.xml" -oG "$work/m2.gnmap"
  if command -v masscan >/dev/null; then
    rmeasure "masscan -oJ" masscan "$work/m3.json" 198.18.0.0/16 $p5 -- \
      masscan -e "${lab}v0" --router-mac "$gw" --source-ip "$LAB_SCANNER_ADDR" --rate 10000000 \
      --wait 1 198.18.0.0/16 -p $p5 -oJ "$work/m3.json"
  fi
  if command -v zmap >/dev/null; then
    : >"$work/no-blocklist"
    rmeasure "zmap -M tcp_synscan -p 80 (one port)" zmapsyn "$work/m4.csv" 198.18.0.0/16 80 -- \
      zmap -i "${lab}v0" -G "$gw" -S "$LAB_SCANNER_ADDR" -r 10000000 -c 1 -b "$work/no-blocklist" -q \
      -M tcp_synscan -p 80 -o "$work/m4.csv" 198.18.0.0/16
  fi
  # 15 more listening ports on every address: 20 open ports a host, 1,310,520 in all.
  local extra=2001,2002,2003,2004,2005,2006,2007,2008,2009,2010,2011,2012,2013,2014,2015
  ip netns exec "$lab-t" python3 -c "
import socket, sys, time
socks = []
for p in sys.argv[1].split(','):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(('0.0.0.0', int(p))); s.listen(65535); socks.append(s)
time.sleep(600)" "$extra" </dev/null >/dev/null 2>&1 &
  local listeners=$!
  sleep 1
  /usr/bin/time -f "%e %M" -o "$work/time" "$here/lab.sh" run "$lab" "$bin" -n -sS 198.18.0.0/16 \
    -p "$p5,$extra" --rate 10000000 -q -oD "$work/m5.nd" -oJ "$work/m5.json" >/dev/null 2>&1 || true
  kill "$listeners" 2>/dev/null || true
  local secs kb
  read -r secs kb < "$work/time"
  printf '| %-44s | %9s open | %8s | %8s |\n' "synsweep -oD -oJ, /16 x 20 ports" \
    "$(grep -c '"state":"open"' "$work/m5.nd")" "${secs}s" "$((kb / 1024)) MB"
  echo
}

# banners: 5,000 addresses x ports 22 (SSH greeting) and 80 (HTTP page) = 10,000 open ports.
banner_table() {
  local first=198.18.1.0 last=198.18.20.135
  python3 -c "
import ipaddress
a, b = ipaddress.ip_address('$first'), ipaddress.ip_address('$last')
print('\n'.join(str(ipaddress.ip_address(int(a) + i)) for i in range(int(b) - int(a) + 1)))" > "$work/hosts"
  echo "banners of 10,000 open ports ($first-$last x 22,80):"
  printf '| %-40s | %8s | %8s | %9s |\n' tool banners wall "peak RSS"
  /usr/bin/time -f "%e %M" -o "$work/time" "$here/lab.sh" run "$lab" \
    "$bin" -sS -n "$first-$last" -p 22,80 --banners -q -oD "$work/b.nd" >/dev/null 2>&1 || true
  read -r secs kb < "$work/time"
  printf '| %-40s | %8s | %8s | %9s |\n' "synsweep -sS --banners" "$(grep -c '"type":"banner"' "$work/b.nd")" "${secs}s" "$((kb / 1024)) MB"
  if command -v nmap >/dev/null; then
    /usr/bin/time -f "%e %M" -o "$work/time" "$here/lab.sh" run "$lab" \
      nmap -sS -sV --version-light -n -Pn -p 22,80 -T5 -iL "$work/hosts" -oX "$work/n.xml" >/dev/null 2>&1 || true
    read -r secs kb < "$work/time"
    printf '| %-40s | %8s | %8s | %9s |\n' "nmap -sV --version-light -T5" "$(grep -c '<service name="\(ssh\|http\)" product' "$work/n.xml")" "${secs}s" "$((kb / 1024)) MB"
  fi
  echo
}

udp_table() {
  echo "UDP /24 x top 20 (246 answering hosts; 1,475 open, 2,706 closed, 246 filtered, 693 open|filtered):"
  printf '| %-44s | %6s | %6s | %8s | %8s | %6s |\n' scan open closed filtered "o|f" wall
  for limit in off on; do
    "$here/lab.sh" icmp-limit "$lab" "$limit"
    for args in "--retries 0" "--retries 2" "--rate 900 --retries 2"; do
      /usr/bin/time -f "%e" -o "$work/time" "$here/lab.sh" run "$lab" \
        "$bin" -sU -n 198.18.0.0/24 --top-ports 20 --timeout 500ms $args --show-closed -q -oJ "$work/u.json" >/dev/null 2>&1 || true
      python3 - "$work/u.json" "ICMP limit $limit, $args" "$(cat "$work/time")" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
n = {}
for r in d["results"]:
    if r["type"] == "port":
        n[r["state"]] = n.get(r["state"], 0) + 1
print("| %-44s | %6d | %6d | %8d | %8d | %5ss |" % (sys.argv[2], n.get("open", 0), n.get("closed", 0),
      n.get("filtered", 0), n.get("open|filtered", 0), sys.argv[3]))
PY
    done
  done
  "$here/lab.sh" icmp-limit "$lab" off
  echo
}

# The lab's name server (the target's LAB_TARGET_ADDR:53) made to refuse or to stay silent.
dns_mode() {
  ip netns exec "$lab-t" nft delete table inet benchdns 2>/dev/null || true
  [ "$1" = answer ] && return
  local verdict="reject"
  [ "$1" = silent ] && verdict="drop"
  ip netns exec "$lab-t" nft -f - <<NFT
table inet benchdns {
  chain input {
    type filter hook input priority -10; policy accept;
    ip daddr $LAB_TARGET_ADDR udp dport 53 $verdict
  }
}
NFT
}

names_table() {
  echo "reverse DNS beside a /16 ping sweep (-sn --rate 100000; empty name cache each run):"
  printf '| %-44s | %8s | %6s |\n' scan wall names
  for mode in answer refuse silent; do
    dns_mode "$mode"
    for names in "-n" ""; do
      rm -rf "$work/cache"
      XDG_CACHE_HOME="$work/cache" /usr/bin/time -f "%e" -o "$work/time" "$here/lab.sh" run "$lab" \
        env XDG_CACHE_HOME="$work/cache" "$bin" $names -sn 198.18.0.0/16 --rate 100000 -q -oD "$work/dn.nd" >/dev/null 2>"$work/err" || true
      printf '| %-44s | %7ss | %6s |\n' "name server: $mode, ${names:-names}" "$(cat "$work/time")" \
        "$(grep -c '"type":"name"' "$work/dn.nd" || true)"
    done
  done
  dns_mode answer
  echo
}

baseline_table() {
  local base=${SYNSWEEP_BASELINE:?set SYNSWEEP_BASELINE to the older binary}
  echo "baseline ($base) and this build, interleaved:"
  rrow "scan" "probes" "probes/s" "wall" "peak RSS" "recall%" "false"
  local p5=22,25,80,443,3389
  for round in 1 2 3; do
    for b in "$base" "$bin"; do
      local tag=this
      [ "$b" = "$base" ] && tag=baseline
      rmeasure "$tag: -sS /16 x 5 (--retries 0)" synsweep "$work/b1.nd" 198.18.0.0/16 $p5 -- \
        "$b" -n -sS 198.18.0.0/16 -p $p5 --rate 10000000 --retries 0 --wait 1s -q -oD "$work/b1.nd"
      rmeasure "$tag: -sn /16" synsweep "$work/b2.nd" 198.18.0.0/16 ping -- \
        "$b" -n -sn 198.18.0.0/16 --rate 10000000 --retries 0 --wait 1s -q -oD "$work/b2.nd"
      expected=$(expected_open 198.18.0.7 $(seq 1 65535))
      measure "$tag: -sT 1 host x 65535" "grep -c '\"state\":\"open\"' $work/b3.nd" -- \
        "$b" -n -sT 198.18.0.7 -p- -q -oD "$work/b3.nd"
    done
  done
  echo
}

case "$what" in
  names) names_table ;;
  baseline) baseline_table ;;
  connect) connect_table ;;
  raw) raw_table ;;
  adaptive) adaptive_table ;;
  memory) memory_table ;;
  banners) banner_table ;;
  udp) udp_table ;;
  *) connect_table; raw_table; banner_table; udp_table ;;
esac
rm -rf "$work"
