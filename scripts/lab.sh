#!/usr/bin/env bash
# The lab: two network namespaces joined by a veth pair.
#   NAME-t  the target: answers every address of $LAB_PREFIX (AnyIP), with listeners and
#           nftables rules giving the ground truth in scripts/lab.env.
#   NAME-s  the scanner: its only route leads to the target namespace.
# Lab rules (DESIGN.md): addresses only from 198.18.0.0/15; everything it starts is bounded
# in time; `down` removes all of it.
#
#   scripts/lab.sh deps              install iproute2, nftables, python3 when missing (root)
#   scripts/lab.sh up NAME [SECONDS] build the lab (listeners live SECONDS, default 900)
#   scripts/lab.sh down NAME         tear it down
#   scripts/lab.sh run NAME CMD...   run CMD in the scanner namespace
#   scripts/lab.sh probes NAME       SYNs and echo requests the target received (and reset)
#   scripts/lab.sh loss NAME PCT     drop PCT% of the target's replies at random (0 = none)
#   scripts/lab.sh icmp-limit NAME on|off  the target's ICMP error rate limit: on = Linux's
#                                    default global limit (1000/s, burst 50); off = none
#   scripts/lab.sh police NAME RATE [BURST]  a policer on the way in: probes (SYNs, echo
#                                    requests, UDP) beyond RATE/s (BURST deep, default 10 ms
#                                    worth) are dropped before the targets see them; replies
#                                    untouched; 0 = none
#   scripts/lab.sh sparse NAME on|off  on: only hosts 198.18.X.0-4 answer (2 %); probes and
#                                    pings to the others are dropped (after the policer)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lab.env
. "$here/lab.env"

piddir=/run/synsweep-lab

need_root() { [ "$(id -u)" = 0 ] || { echo "lab.sh: needs root (network namespaces)" >&2; exit 1; }; }

deps() {
  need_root
  local missing=()
  command -v ip >/dev/null || missing+=(iproute2)
  command -v nft >/dev/null || missing+=(nftables)
  command -v python3 >/dev/null || missing+=(python3)
  command -v prlimit >/dev/null || missing+=(util-linux)
  command -v openssl >/dev/null || missing+=(openssl)
  if [ ${#missing[@]} -gt 0 ]; then
    echo "lab.sh: installing ${missing[*]}" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

up() {
  need_root
  local name=$1 seconds=${2:-900}
  [ ${#name} -le 10 ] || { echo "lab.sh: NAME must be at most 10 characters" >&2; exit 1; }
  local t="$name-t" s="$name-s"
  down "$name" 2>/dev/null || true
  ip netns add "$t"
  ip netns add "$s"
  ip link add "${name}v0" netns "$s" type veth peer name "${name}v1" netns "$t"
  ip -n "$s" link set lo up
  ip -n "$t" link set lo up
  ip -n "$s" addr add "$LAB_SCANNER_ADDR/30" dev "${name}v0"
  ip -n "$t" addr add "$LAB_TARGET_ADDR/30" dev "${name}v1"
  ip -n "$s" link set "${name}v0" up
  ip -n "$t" link set "${name}v1" up
  ip -n "$s" route add "$LAB_PREFIX" via "$LAB_TARGET_ADDR"
  # The scanner's own hosts file (ip netns exec mounts /etc/netns/NS/hosts over /etc/hosts).
  mkdir -p "/etc/netns/$s"
  { echo "127.0.0.1 localhost"
    for entry in $LAB_HOST_NAMES; do
      for addr in $(echo "${entry#*=}" | tr , ' '); do echo "$addr ${entry%%=*}"; done
    done; } > "/etc/netns/$s/hosts"
  # Its resolver: the lab's DNS server in the target namespace (reverse DNS tests).
  printf 'nameserver %s\noptions timeout:1 attempts:1\n' "$LAB_TARGET_ADDR" > "/etc/netns/$s/resolv.conf"
  # AnyIP: every address of the prefix is local to the target namespace.
  ip -n "$t" route add local "$LAB_PREFIX" dev lo
  # Deterministic ICMP errors: no rate limit in the lab's target (see icmp_limit below).
  icmp_limit "$name" off
  # Many half-open connections at once must not look like a SYN flood.
  ip netns exec "$t" sysctl -qw net.ipv4.tcp_syncookies=0 net.ipv4.tcp_max_syn_backlog=65535 net.core.somaxconn=65535
  local silent_first=${LAB_SILENT_HOSTS%-*} silent_last=${LAB_SILENT_HOSTS#*-}
  ip netns exec "$t" nft -f - <<NFT
table inet lab {
  counter watched {}
  counter probes {}
  chain input {
    type filter hook input priority 0; policy accept;
    tcp flags & (syn | ack) == syn counter name probes
    icmp type echo-request counter name probes
    ip daddr $LAB_PREFIX meta l4proto udp counter name probes
    ip daddr $LAB_WATCHED counter name watched
    ip daddr $silent_first-$silent_last drop
    tcp dport { $(echo "$LAB_DROP_PORTS" | tr ' ' ,) } drop
    tcp dport { $(echo "$LAB_PROHIBIT_PORTS" | tr ' ' ,) } reject with icmp type admin-prohibited
    tcp dport { $(echo "$LAB_RESET_PORTS" | tr ' ' ,) } reject with tcp reset
    udp dport { $(echo "$LAB_UDP_DROP" | tr ' ' ,) } drop
    udp dport { $(echo "$LAB_UDP_PROHIBIT" | tr ' ' ,) } reject with icmp type admin-prohibited
  }
}
NFT
  local spec=""
  for p in $LAB_OPEN_PORTS $LAB_RESET_PORTS; do spec+=" 0.0.0.0:$p"; done
  spec+=" $LAB_HOST_OPEN $LAB_SERVICES"
  mkdir -p "$piddir"
  # The TLS service's certificate: self-signed, a year, the names of lab.env.
  openssl req -x509 -newkey rsa:2048 -nodes -days 365 -subj "/CN=$LAB_TLS_CN/O=synsweep lab" \
    -addext "subjectAltName=$LAB_TLS_SANS" -keyout "$piddir/$name.key" -out "$piddir/$name.crt" 2>/dev/null
  # Its own stdio: a caller capturing ours must not wait for the listener to end.
  ip netns exec "$t" python3 "$here/lab_listen.py" "$spec" "$seconds" "$piddir/$name.crt" "$piddir/$name.key" </dev/null >/dev/null 2>&1 &
  echo $! > "$piddir/$name.pid"
  ip netns exec "$t" python3 "$here/lab_dns.py" "$seconds" "$LAB_PTR_NONE" "$LAB_TARGET_ADDR" </dev/null >/dev/null 2>&1 &
  echo $! > "$piddir/$name.dns.pid"
  ip netns exec "$t" python3 "$here/lab_udp.py" "$seconds" "$LAB_UDP_OPEN" "$LAB_UDP_FORGED" </dev/null >/dev/null 2>&1 &
  echo $! > "$piddir/$name.udp.pid"
  # Ready when every port that should accept does (the reset ports never will).
  local ready=""
  for p in $LAB_OPEN_PORTS; do ready+=" 0.0.0.0:$p"; done
  ready+=" $LAB_HOST_OPEN"
  for _ in $(seq 50); do
    if ip netns exec "$t" python3 - "$ready" "$LAB_UDP_OPEN" <<'PY' 2>/dev/null; then return 0; fi
import socket, sys
for item in sys.argv[1].split():
    a, p = item.rsplit(":", 1)
    socket.create_connection(("127.0.0.1" if a == "0.0.0.0" else a, int(p)), timeout=1).close()
bound = {int(l.split()[1].split(":")[1], 16) for l in open("/proc/net/udp").readlines()[1:]}
sys.exit(0 if all(int(p) in bound for p in sys.argv[2].split()) else 1)
PY
    sleep 0.1
  done
  echo "lab.sh: listeners did not come up" >&2
  exit 1
}

down() {
  local name=$1 t="$1-t" s="$1-s"
  for f in "$piddir/$name.pid" "$piddir/$name.dns.pid" "$piddir/$name.udp.pid"; do
    if [ -f "$f" ]; then
      kill "$(cat "$f")" 2>/dev/null || true
      rm -f "$f"
    fi
  done
  rm -f "$piddir/$name.crt" "$piddir/$name.key"
  ip netns del "$s" 2>/dev/null || true
  ip netns del "$t" 2>/dev/null || true
  rm -rf "/etc/netns/$s"
}

# probes NAME: print the probe counter, then zero it.
probes() {
  ip netns exec "$1-t" nft reset counter inet lab probes | awk '/packets/ {print $2}'
}

# loss NAME PCT: the kernel here has no netem, so replies are dropped by nftables' random
# number generator on their way out of the target.
loss() {
  local t="$1-t" pct=$2
  ip netns exec "$t" nft delete table inet lab_loss 2>/dev/null || true
  [ "$pct" = 0 ] && return 0
  ip netns exec "$t" nft -f - <<NFT
table inet lab_loss {
  chain output {
    type filter hook output priority 0; policy accept;
    ip daddr $LAB_SCANNER_ADDR numgen random mod 100 < $pct drop
  }
}
NFT
}

# icmp-limit NAME on|off. Linux limits ICMP errors twice: globally (icmp_msgs_per_sec 1000,
# burst 50) and per destination (icmp_ratelimit: 6 at once, then 1/s to each peer). The lab's
# target is one kernel answering for every address, so a per-peer limit would be one bucket
# for the whole prefix, where a real network has one per host: "on" keeps it off and restores
# the global default, which bounds the whole prefix as one busy host would be bounded.
icmp_limit() {
  local t="$1-t"
  # "off" clears the rate mask rather than raising the limits: the global limiter's credit
  # only shrinks to a lowered burst as it is spent, so a lab that once had a huge burst would
  # answer its next million errors unlimited after "on".
  case "$2" in
    on) ip netns exec "$t" sysctl -qw net.ipv4.icmp_ratelimit=0 net.ipv4.icmp_ratemask=6168 net.ipv4.icmp_msgs_per_sec=1000 net.ipv4.icmp_msgs_burst=50 ;;
    off) ip netns exec "$t" sysctl -qw net.ipv4.icmp_ratelimit=0 net.ipv4.icmp_ratemask=0 ;;
    *) echo "lab.sh: icmp-limit takes on or off" >&2; exit 2 ;;
  esac
}

# police NAME RATE [BURST]: one token bucket for every probe, as a provider's policer counts
# every packet of a flow it throttles; at priority -10, before the lab's own rules, so what
# it drops no target sees (and the lab's probe counter counts what got through). Probes
# offered are counted before it (counter "offered").
police() {
  local t="$1-t" rate=$2 burst=${3:-$(( $2 / 100 > 5 ? $2 / 100 : 5 ))}
  ip netns exec "$t" nft delete table inet lab_police 2>/dev/null || true
  [ "$rate" = 0 ] && return 0
  ip netns exec "$t" nft -f - <<NFT
table inet lab_police {
  counter offered {}
  limit probes { rate over $rate/second burst $burst packets }
  chain input {
    type filter hook input priority -10; policy accept;
    tcp flags & (syn | ack) == syn counter name offered limit name "probes" drop
    icmp type echo-request counter name offered limit name "probes" drop
    ip daddr $LAB_PREFIX meta l4proto udp counter name offered limit name "probes" drop
  }
}
NFT
}

# sparse NAME on|off: a network where 2 % of hosts answer.
sparse() {
  local t="$1-t"
  ip netns exec "$t" nft delete table inet lab_sparse 2>/dev/null || true
  [ "$2" = on ] || return 0
  ip netns exec "$t" nft -f - <<NFT
table inet lab_sparse {
  chain input {
    type filter hook input priority -5; policy accept;
    ip daddr $LAB_PREFIX ip daddr & 0.0.0.255 > 0.0.0.4 meta l4proto { tcp, icmp, udp } drop
  }
}
NFT
}

case "${1:-}" in
  deps) deps ;;
  up) up "${2:?NAME}" "${3:-900}" ;;
  down) down "${2:?NAME}" ;;
  probes) probes "${2:?NAME}" ;;
  loss) loss "${2:?NAME}" "${3:?PCT}" ;;
  icmp-limit) icmp_limit "${2:?NAME}" "${3:?on|off}" ;;
  police) police "${2:?NAME}" "${3:?RATE}" "${4:-}" ;;
  sparse) sparse "${2:?NAME}" "${3:?on|off}" ;;
  run) name=${2:?NAME}; shift 2; exec ip netns exec "$name-s" "$@" ;;
  *) sed -n "2,24p" "$0" >&2; exit 2 ;;
esac
