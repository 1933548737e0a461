#!/usr/bin/env python3
"""Scores a scanner's output against the lab's ground truth (scripts/lab.env).

    bench_score.py FORMAT FILE NET PORTS     FORMAT: synsweep | masscan | nmap | zmap | zmapsyn
    BENCH_SPARSE=1: the lab's sparse mode (only hosts X.0-4 answer)
    PORTS: comma list, or 'ping' for a host sweep

Prints: found truth recall% false-positives"""
import ipaddress, json, os, re, sys

here = os.path.dirname(os.path.abspath(__file__))
env = {}
for line in open(os.path.join(here, "lab.env")):
    line = line.strip()
    if line and not line.startswith("#") and "=" in line:
        k, v = line.split("=", 1)
        env[k] = v.strip('"')

fmt, path, net, ports = sys.argv[1:5]
a, b = env["LAB_SILENT_HOSTS"].split("-")
silent = lambda ip: ipaddress.ip_address(a) <= ip <= ipaddress.ip_address(b)
hosts = [h for h in ipaddress.ip_network(net, strict=False)] if "/" in net else [ipaddress.ip_address(net)]
if os.environ.get("BENCH_SPARSE") == "1":
    # scripts/lab.sh sparse: only 198.18.X.0-4 answer.
    hosts = [h for h in hosts if int(h) & 255 <= 4]
if ports == "ping":
    truth = {(str(h), 0) for h in hosts if not silent(h)}
else:
    plist = [int(p) for p in ports.split(",")]
    openp = {int(p) for p in env["LAB_OPEN_PORTS"].split()}
    host_open = {(s.rsplit(":", 1)[0], int(s.rsplit(":", 1)[1])) for s in env["LAB_HOST_OPEN"].split()}
    truth = {(str(h), p) for h in hosts for p in plist
             if not silent(h) and (p in openp or (str(h), p) in host_open)}

found = set()
text = open(path, errors="replace").read() if os.path.exists(path) else ""
if fmt == "synsweep":
    for line in text.splitlines():
        v = json.loads(line)
        if v["type"] == "port" and v["state"] == "open":
            found.add((v["ip"], v["port"]))
        elif v["type"] == "host" and ports == "ping":
            found.add((v["ip"], 0))
elif fmt == "masscan":
    # masscan -oJ: one JSON object per line inside a list, with trailing commas.
    for line in text.splitlines():
        line = line.strip().rstrip(",")
        if line.startswith("{"):
            v = json.loads(line)
            for p in v.get("ports", []):
                if p.get("status") == "open":
                    found.add((v["ip"], p["port"]))
elif fmt == "nmap":
    for m in re.finditer(r"Host: (\S+) .*?Ports: (.*)", text):
        for p in m.group(2).split(","):
            f = p.strip().split("/")
            if len(f) > 1 and f[1] == "open":
                found.add((m.group(1), int(f[0])))
elif fmt == "zmapsyn":
    # zmap -M tcp_synscan's default CSV: saddr only, one line per SYN-ACK (the port is -p).
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("saddr"):
            found.add((line.split(",")[0], int(ports)))
elif fmt == "zmap":
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("saddr"):
            found.add((line.split(",")[0], 0))
hits = len(found & truth)
print(f"{len(found)} {len(truth)} {100.0 * hits / max(len(truth), 1):.3f} {len(found - truth)}")
