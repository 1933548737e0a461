#!/usr/bin/env python3
"""Lab listener: TCP services on the given ADDR:PORT[=KIND] list (later items win).

    lab_listen.py SPEC SECONDS [CERT KEY]

KIND: close (the default: accept, close at once), ssh / smtp / mysql (greet, close), http,
ollama, openai, jupyter (answer one request), tls (TLS with CERT/KEY, then HTTP). Every
socket binds with SO_REUSEPORT, so an address-specific service takes that address from a
wildcard listener on the same port. Runs in the lab's target namespace; exits after SECONDS."""
import json, selectors, socket, ssl, sys, threading, time

GREETINGS = {
    "ssh": b"SSH-2.0-OpenSSH_9.6 synsweep-lab\r\n",
    "smtp": b"220 mail.lab ESMTP synsweep-lab\r\n",
    # MySQL v10 handshake: length 0x1c, sequence 0, protocol 10, version, NUL, thread id.
    "mysql": b"\x1c\x00\x00\x00\x0a8.0.36-lab\x00\x01\x00\x00\x00" + b"\x00" * 13,
}

def page(status, body, ctype="application/json", server="synsweep-lab/1"):
    if isinstance(body, (dict, list)):
        body = json.dumps(body)
    body = body.encode()
    head = f"HTTP/1.1 {status}\r\nServer: {server}\r\nContent-Type: {ctype}\r\n" \
           f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    return head.encode() + body

ROUTES = {
    "http": {"/": (200, "<html><head><title>Lab web server</title></head></html>", "text/html")},
    "ollama": {
        "/": (200, "Ollama is running", "text/plain"),
        "/api/version": (200, {"version": "0.5.7"}),
        "/api/tags": (200, {"models": [{"name": "llama3.2:1b"}, {"name": "qwen2.5:0.5b"}]}),
    },
    "openai": {
        "/": (404, {"detail": "Not Found"}),
        "/v1/models": (200, {"object": "list", "data": [
            {"id": "meta-llama/Llama-3.1-8B-Instruct", "object": "model", "owned_by": "vllm"}]}),
        "/version": (200, {"version": "0.6.3"}),
    },
    "jupyter": {
        "/": (302, "", "text/html"),
        "/api": (200, {"version": "2.14.2"}),
        "/api/kernels": (403, {"message": "Forbidden", "reason": None}),
    },
}

def respond(kind, request):
    line = request.split(b"\r\n", 1)[0].split()
    path = line[1].decode("ascii", "replace") if len(line) > 1 else "/"
    route = ROUTES.get(kind, ROUTES["http"]).get(path)
    if route is None:
        return page("404 Not Found", {"error": "not found"})
    status, body, *ctype = route
    text = {200: "200 OK", 302: "302 Found", 403: "403 Forbidden", 404: "404 Not Found"}[status]
    return page(text, body, *ctype)

def read_request(conn):
    data = b""
    while b"\r\n\r\n" not in data and len(data) < 8192:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    return data

def serve_tls(sock, cert, key, deadline):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    sock.settimeout(1.0)
    def one(conn):
        try:
            conn.settimeout(3)
            with ctx.wrap_socket(conn, server_side=True) as s:
                req = read_request(s)
                if req:
                    s.sendall(respond("http", req))
        except (OSError, ssl.SSLError):
            pass
    while time.monotonic() < deadline:
        try:
            conn, _ = sock.accept()
        except (socket.timeout, OSError):
            continue
        threading.Thread(target=one, args=(conn,), daemon=True).start()

def main():
    spec, seconds = sys.argv[1], float(sys.argv[2])
    cert, key = (sys.argv[3], sys.argv[4]) if len(sys.argv) > 4 else (None, None)
    services = {}
    for item in spec.split():
        where, _, kind = item.partition("=")
        services[where] = kind or "close"
    deadline = time.monotonic() + seconds
    sel = selectors.DefaultSelector()
    for where, kind in services.items():
        addr, port = where.rsplit(":", 1)
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        s.bind((addr, int(port)))
        s.listen(4096)
        if kind == "tls":
            threading.Thread(target=serve_tls, args=(s, cert, key, deadline), daemon=True).start()
            continue
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, ("listen", kind))
    while time.monotonic() < deadline:
        for key_, _ in sel.select(timeout=1.0):
            role, kind = key_.data
            if role == "conn":
                conn = key_.fileobj
                sel.unregister(conn)
                try:
                    conn.setblocking(True)
                    conn.settimeout(1)
                    req = read_request(conn)
                    if req:
                        conn.sendall(respond(kind, req))
                except OSError:
                    pass
                conn.close()
                continue
            while True:
                try:
                    conn, _ = key_.fileobj.accept()
                except (BlockingIOError, InterruptedError, OSError):
                    break
                if kind in GREETINGS:
                    try:
                        conn.send(GREETINGS[kind])
                    except OSError:
                        pass
                    conn.close()
                elif kind == "close":
                    conn.close()
                else:
                    conn.setblocking(False)
                    sel.register(conn, selectors.EVENT_READ, ("conn", kind))

if __name__ == "__main__":
    main()
