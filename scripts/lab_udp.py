#!/usr/bin/env python3
"""The lab's UDP services (target namespace), answering from the address each probe was sent
to (IP_PKTINFO), as a real host would: the target namespace owns the whole prefix (AnyIP).

    lab_udp.py SECONDS PORTS FORGED

PORTS: space-separated ports to serve (protocols below). FORGED: ADDR:PORT items that answer
with a wrong id (a forgery the scanner must reject). Exits after SECONDS."""
import selectors, socket, struct, sys, time

IP_PKTINFO = 8

def ntp(q, forged):
    if len(q) < 48:
        return None
    origin = q[40:48] if not forged else bytes(8)
    return bytes([0x24, 2, 6, 0xe9]) + bytes(20) + origin + bytes(16)

def ber(b, i):
    """(tag, start, end) of the element at i."""
    tag, n = b[i], b[i + 1]
    i += 2
    if n & 0x80:
        k = n & 0x7f
        n = int.from_bytes(b[i:i + k], "big")
        i += k
    return tag, i, i + n

def tlv(tag, body):
    return bytes([tag, len(body)]) + body if len(body) < 128 else bytes([tag, 0x81, len(body)]) + body

def snmp(q, forged):
    try:
        _, s, _ = ber(q, 0)
        _, vs, ve = ber(q, s)          # version
        _, cs, ce = ber(q, ve)         # community
        _, ps, _ = ber(q, ce)          # PDU
        _, rs, re_ = ber(q, ps)        # request id
    except IndexError:
        return None
    rid = q[rs:re_] if not forged else bytes(x ^ 0xff for x in q[rs:re_])
    oid = bytes([0x2b, 6, 1, 2, 1, 1, 1, 0])
    varbind = tlv(0x30, tlv(0x06, oid) + tlv(0x04, b"synsweep lab agent"))
    pdu = tlv(0x02, rid) + tlv(0x02, b"\0") + tlv(0x02, b"\0") + tlv(0x30, varbind)
    return tlv(0x30, q[s:ve] + q[ve:ce] + tlv(0xa2, pdu))

def dns_like(q, forged):
    """DNS and NetBIOS NS: the question back with QR set and NOTIMP."""
    if len(q) < 12:
        return None
    tid = q[:2] if not forged else bytes([q[0] ^ 0xff, q[1]])
    return tid + bytes([0x84, 0x84]) + q[4:6] + bytes(6) + q[12:]

def ike(q, forged):
    if len(q) < 28:
        return None
    spi = q[:8] if not forged else bytes(8)
    # A notification (NO-PROPOSAL-CHOSEN) is what a responder sends a proposal it rejects.
    notify = struct.pack("!BBHIBBH", 0, 0, 12, 1, 1, 0, 14)
    return spi + b"\x11\x22\x33\x44\x55\x66\x77\x88" + bytes([11, 0x10, 5, 0]) + bytes(4) \
        + struct.pack("!I", 28 + len(notify)) + notify

def ssdp(q, forged):
    if not q.startswith(b"M-SEARCH"):
        return None
    return b"HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=1800\r\nST: upnp:rootdevice\r\n" \
        b"USN: uuid:synsweep-lab::upnp:rootdevice\r\nSERVER: lab/1.0 UPnP/1.1 synsweep/1\r\n\r\n"

def memcached(q, forged):
    if len(q) < 8:
        return None
    rid = q[:2] if not forged else bytes([q[0] ^ 0xff, q[1]])
    return rid + b"\0\0\0\1\0\0" + b"VERSION 1.6.21\r\n"

HANDLERS = {53: dns_like, 123: ntp, 137: dns_like, 161: snmp, 500: ike, 1900: ssdp,
            11211: memcached}

def main():
    seconds, ports = float(sys.argv[1]), [int(p) for p in sys.argv[2].split()]
    forged = set(sys.argv[3].split()) if len(sys.argv) > 3 else set()
    sel = selectors.DefaultSelector()
    for port in ports:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
        s.bind(("0.0.0.0", port))
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, port)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for key, _ in sel.select(timeout=1.0):
            s, port = key.fileobj, key.data
            while True:
                try:
                    q, anc, _, peer = s.recvmsg(2048, socket.CMSG_SPACE(12))
                except (BlockingIOError, InterruptedError):
                    break
                dst = next((socket.inet_ntoa(d[8:12]) for lvl, typ, d in anc
                            if lvl == socket.IPPROTO_IP and typ == IP_PKTINFO), None)
                if dst is None:
                    continue
                reply = HANDLERS[port](q, f"{dst}:{port}" in forged)
                if reply is None:
                    continue
                info = struct.pack("!I4s4s", 0, socket.inet_aton(dst), bytes(4))
                try:
                    s.sendmsg([reply], [(socket.IPPROTO_IP, IP_PKTINFO, info)], 0, peer)
                except OSError:
                    pass

if __name__ == "__main__":
    main()
