"""The Eventlet peer of the http_hello row: the hello-world application of
Eventlet's own examples (examples/wsgi.py) on eventlet.wsgi.server, with
the access log off (log_output=False), as ours runs with a null log: the
row measures serving, not a line per request on stderr. Every other
argument is the server's default (a GreenPool of 1024, keep-alive on).

Usage: /usr/bin/python3 http_hello_eventlet.py [--host H] [--port P]
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


def hello_world(env, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"Hello, World!\r\n"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    args = parser.parse_args()

    # The backlog of the Asio peer and of ours (eventlet.listen's default is 50).
    server = eventlet.listen((args.host, args.port), backlog=1024)
    host, port = server.getsockname()[:2]
    stop = signal_wakeup()
    print(f"listening on {host}:{port}", flush=True)
    eventlet.spawn_n(wsgi.server, server, hello_world, log_output=False)
    trampoline(stop, read=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
