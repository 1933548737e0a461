#!/usr/bin/env python3
"""Lab listener: accepts TCP connections on the given ADDR:PORT list and closes them at once.

Runs inside the lab's target namespace (scripts/lab.sh). Bounded: exits after --seconds.
"""
import selectors, socket, sys, time

def main():
    spec, seconds = sys.argv[1], float(sys.argv[2])
    sel = selectors.DefaultSelector()
    for item in spec.split():
        addr, port = item.rsplit(":", 1)
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((addr, int(port)))
        s.listen(4096)
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for key, _ in sel.select(timeout=1.0):
            while True:
                try:
                    conn, _ = key.fileobj.accept()
                except (BlockingIOError, InterruptedError):
                    break
                except OSError:
                    break
                conn.close()

if __name__ == "__main__":
    main()
