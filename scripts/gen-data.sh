#!/usr/bin/env bash
# Regenerates the tables embedded at build time (run by hand; the outputs are committed).
#   data/services.tsv       port<TAB>proto<TAB>name, from the netbase services file, which is
#                           Debian's copy of the IANA Service Name and Port Number registry's
#                           well-known entries.
#   data/top-tcp-ports.txt  the 1000 TCP ports most often found open, most frequent first, from
#                           nmap's frequency table (port numbers only).
#   data/top-udp-ports.txt  the same for UDP.
set -euo pipefail
cd "$(dirname "$0")/.."
services=${SERVICES:-/etc/services}
nmap_services=${NMAP_SERVICES:-/usr/share/nmap/nmap-services}
awk '!/^#/ && NF >= 2 { split($2, pp, "/"); if (pp[2] == "tcp" || pp[2] == "udp") print pp[1] "\t" pp[2] "\t" $1 }' \
  "$services" | sort -t$'\t' -k1,1n -k2,2 -u > data/services.tsv
awk '!/^#/ { split($2, pp, "/"); if (pp[2] == "tcp") print $3 "\t" pp[1] }' "$nmap_services" \
  | sort -t$'\t' -k1,1gr -k2,2n | awk -F"\t" 'NR <= 1000 { print $2 }' > data/top-tcp-ports.txt
awk '!/^#/ { split($2, pp, "/"); if (pp[2] == "udp") print $3 "\t" pp[1] }' "$nmap_services" \
  | sort -t$'\t' -k1,1gr -k2,2n | awk -F"\t" 'NR <= 1000 { print $2 }' > data/top-udp-ports.txt
wc -l data/services.tsv data/top-tcp-ports.txt data/top-udp-ports.txt
