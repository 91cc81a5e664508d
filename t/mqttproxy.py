#!/usr/bin/python3
"""mqttproxy LISTEN_PORT TARGET_PORT: forwards TCP connections on 127.0.0.1 (a broker that
"comes back" when the proxy starts, while the test's subscriber is on the broker already)."""
import socket
import sys
import threading

listen_port, target_port = int(sys.argv[1]), int(sys.argv[2])
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", listen_port))
srv.listen(16)


def pipe(a, b):
    try:
        while True:
            data = a.recv(65536)
            if not data:
                break
            b.sendall(data)
    except OSError:
        pass
    finally:
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


while True:
    c, _ = srv.accept()
    try:
        u = socket.create_connection(("127.0.0.1", target_port))
    except OSError:
        c.close()
        continue
    for a, b in ((c, u), (u, c)):
        threading.Thread(target=pipe, args=(a, b), daemon=True).start()
