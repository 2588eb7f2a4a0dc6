"""The Eventlet peer of the http_hello_tls row: the hello-world application
of http_hello_eventlet.py (Eventlet's examples/wsgi.py) on
eventlet.wsgi.server, over TLS as Eventlet's documentation serves HTTPS:
the listening socket wrapped with eventlet.wrap_ssl(..., certfile=,
keyfile=, server_side=True), so that each accepted connection is a green
SSL socket, whose handshake runs at its first read, in the green thread
that serves the connection (GreenSSLSocket.accept() leaves it for then).
The access log is off (log_output=False); every other argument is the
server's default.

Usage: /usr/bin/python3 http_hello_tls_eventlet.py --cert FILE --key FILE
                                                   [--host H] [--port P]
Prints "listening on H:P" once it listens (P chosen by the OS for --port 0);
exits 0 on SIGTERM or SIGINT (through the interpreter's wakeup fd, as
echo_eventlet.py does: see signal_wakeup() there).
"""
import argparse
import sys

import eventlet
from eventlet import wsgi
from eventlet.hubs import trampoline

from echo_eventlet import signal_wakeup
from http_hello_eventlet import hello_world


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cert", required=True, help="the server's certificate (PEM)")
    parser.add_argument("--key", required=True, help="its private key (PEM)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    args = parser.parse_args()

    # The backlog of the Asio peer and of ours (eventlet.listen's default is 50).
    server = eventlet.wrap_ssl(eventlet.listen((args.host, args.port), backlog=1024),
                               certfile=args.cert, keyfile=args.key, server_side=True)
    host, port = server.getsockname()[:2]
    stop = signal_wakeup()
    print(f"listening on {host}:{port}", flush=True)
    eventlet.spawn_n(wsgi.server, server, hello_world, log_output=False)
    trampoline(stop, read=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
