#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A TCP proxy that breaks one blob download.

  drop-proxy.py LISTEN_PORT UPSTREAM_PORT CUT_AFTER LOGFILE

Forwards 127.0.0.1:LISTEN_PORT to 127.0.0.1:UPSTREAM_PORT.  The first blob
response (GET /blobs/) that grows past CUT_AFTER bytes is cut there: its
connection is closed (once in the proxy's life; smaller blobs pass).  Requests are
forwarded unchanged (so Range requests reach the registry); every request
line and Range header is appended to LOGFILE.
"""
import socket
import sys
import threading

listen_port, upstream_port, cut_after, log_path = (int(sys.argv[1]), int(sys.argv[2]),
                                                   int(sys.argv[3]), sys.argv[4])
lock = threading.Lock()
state = {"cut_done": False}


def log(line):
    with lock, open(log_path, "a") as f:
        f.write(line + "\n")


def handle(client):
    up = socket.create_connection(("127.0.0.1", upstream_port))
    conn = {"blob": False, "sent": 0, "cut": False}

    def c2u():
        try:
            while True:
                data = client.recv(65536)
                if not data:
                    break
                for line in data.split(b"\r\n"):
                    if line.startswith((b"GET ", b"HEAD ", b"PUT ", b"POST ", b"PATCH ")) or \
                            line.lower().startswith(b"range:"):
                        log(line.decode(errors="replace"))
                    if line.startswith(b"GET ") and b"/blobs/" in line:
                        # arm every blob response until one was long enough to cut
                        with lock:
                            if not state["cut_done"]:
                                conn["cut"] = True
                                conn["sent"] = 0
                up.sendall(data)
        except OSError:
            pass
        finally:
            try:
                up.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    t = threading.Thread(target=c2u, daemon=True)
    t.start()
    try:
        while True:
            data = up.recv(65536)
            if not data:
                break
            if conn["cut"]:
                room = cut_after - conn["sent"]
                if len(data) >= room:
                    with lock:
                        first = not state["cut_done"]
                        state["cut_done"] = True
                    conn["cut"] = False
                    if first:
                        client.sendall(data[:room])
                        log("CUT after %d bytes" % cut_after)
                        break
                else:
                    conn["sent"] += len(data)
            client.sendall(data)
    except OSError:
        pass
    finally:
        for s in (client, up):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()


srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", listen_port))
srv.listen(16)
while True:
    c, _ = srv.accept()
    threading.Thread(target=handle, args=(c,), daemon=True).start()
