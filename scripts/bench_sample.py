#!/usr/bin/env python3
"""Run inside the target namespace: watches its count of received IP packets (Ip InReceives
in /proc/net/snmp: probes and the scanner kernel's resets, never ARP) every 10 ms until
SIGTERM, then prints the seconds between the first and the last change, and the packets
seen. The benchmark's send duration is that span."""
import signal, sys, time

def read():
    lines = open("/proc/net/snmp").read().splitlines()
    names, values = [l.split() for l in lines if l.startswith("Ip:")][:2]
    return int(values[names.index("InReceives")])

stop = False
def done(*_):
    global stop
    stop = True
signal.signal(signal.SIGTERM, done)
base = read()
last_value, first, last = base, None, None
deadline = time.monotonic() + float(sys.argv[1])
while not stop and time.monotonic() < deadline:
    v = read()
    if v != last_value:
        now = time.monotonic()
        first = first if first is not None else now
        last = now
        last_value = v
    time.sleep(0.01)
print(f"{(last or 0) - (first or 0):.3f} {last_value - base}")
