#!/usr/bin/env python3
"""The lab's DNS server (UDP/53 in the target namespace), for reverse-DNS tests.

    lab_dns.py SECONDS NONE [ADDR]

Answers PTR queries for 198.18.C.D with hC-D.lab (NXDOMAIN for the addresses in NONE, a
space-separated list, and for anything else); other queries get NOTIMP. Listens on ADDR (the
resolver address; lab_udp.py serves port 53 of every other address). Exits after SECONDS."""
import socket, struct, sys, time

seconds, none = float(sys.argv[1]), set(sys.argv[2].split())
addr = sys.argv[3] if len(sys.argv) > 3 else "0.0.0.0"
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
# Beside lab_udp.py's wildcard socket on the same port: the kernel prefers this exact one.
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((addr, 53))
s.settimeout(0.5)
end = time.monotonic() + seconds

def name_of(q):
    labels, i = [], 12
    while i < len(q) and q[i]:
        n = q[i]
        labels.append(q[i + 1:i + 1 + n].decode("ascii", "replace"))
        i += 1 + n
    return labels, i + 1

def encode(name):
    return b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"

while time.monotonic() < end:
    try:
        q, peer = s.recvfrom(512)
    except socket.timeout:
        continue
    if len(q) < 12:
        continue
    labels, at = name_of(q)
    if at + 4 > len(q):
        continue
    qtype, = struct.unpack("!H", q[at:at + 2])
    question = q[12:at + 4]
    tid = q[:2]
    flags_rd = q[2] & 1
    rev = labels[:4][::-1]
    addr = ".".join(rev)
    is_ptr = qtype == 12 and labels[4:] == ["in-addr", "arpa"] and len(labels) == 6
    if is_ptr and addr.startswith("198.18.") and addr not in none:
        c, d = rev[2], rev[3]
        rdata = encode(f"h{c}-{d}.lab")
        answer = b"\xc0\x0c" + struct.pack("!HHIH", 12, 1, 300, len(rdata)) + rdata
        head = tid + bytes([0x84 | flags_rd, 0x80]) + struct.pack("!HHHH", 1, 1, 0, 0)
        s.sendto(head + question + answer, peer)
    else:
        rcode = 3 if qtype == 12 else 4  # NXDOMAIN / NOTIMP
        head = tid + bytes([0x84 | flags_rd, 0x80 | rcode]) + struct.pack("!HHHH", 1, 0, 0, 0)
        s.sendto(head + question, peer)
