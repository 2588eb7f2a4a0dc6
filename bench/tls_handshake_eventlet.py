"""The Eventlet peer of the tls_handshake row: new TLS connections per
second to nginx. N green threads of a GreenPool(N) each loop, while
handshakes are left: eventlet.connect() to the server's address, then
wrap_socket(sock, server_hostname=NAME) of eventlet.green.ssl's default
context trusting the row's test CA alone (create_default_context(cafile=):
the certificate chain and its name checked, SNI sent), which runs the
handshake, then close(). Every connection must agree on TLS 1.3, a fresh
handshake (not a resumed session).

Usage: /usr/bin/python3 tls_handshake_eventlet.py --host H --port P
           --cacert FILE [--name NAME] [--concurrency N] [--server-pid PID]
           COUNT
A warm-up of N handshakes first (the hub, the imports' caches), then COUNT
timed. Prints handshakes per second, then client_cpu=... server_cpu=...
(the CPU time of this process, and of nginx's worker, the only child of
PID, over the timed part, as shares of one CPU: see tls_handshake.hpp).
"""
import argparse
import os
import sys
import time

import eventlet
from eventlet.green import ssl


# Seconds one wait of a handshake may take before the run fails: a server
# that stops answering ends the run instead of hanging it.
LIMIT = 10


def fail(message):
    sys.exit(f"bench: {message}")


def cpu_seconds_of(pid):
    """User and system CPU seconds of process `pid` (/proc/PID/stat)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def only_child(pid):
    with open(f"/proc/{pid}/task/{pid}/children") as children:
        found = children.read().split()
    if not found:
        fail(f"cannot find the child of process {pid} in /proc")
    return int(found[0])


def handshakes(address, name, context, count, concurrency):
    left = [count]
    errors = []

    def worker():
        while left[0] > 0 and not errors:
            left[0] -= 1
            try:
                sock = eventlet.connect(address)
                sock.settimeout(LIMIT)
                tls = context.wrap_socket(sock, server_hostname=name)
                if tls.version() != "TLSv1.3" or tls.session_reused:
                    errors.append(f"the handshake agreed on {tls.version()}"
                                  f"{', resumed' if tls.session_reused else ''}, not a new TLSv1.3 session")
                tls.close()
            except OSError as error:
                errors.append(repr(error))

    pool = eventlet.GreenPool(concurrency)
    for _ in range(concurrency):
        pool.spawn_n(worker)
    pool.waitall()
    if errors:
        fail(f"a handshake failed: {errors[0]}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--cacert", required=True)
    parser.add_argument("--name", default="localhost")
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--server-pid", type=int)
    parser.add_argument("count", type=int)
    args = parser.parse_args()

    context = ssl.create_default_context(cafile=args.cacert)
    address = (args.host, args.port)
    handshakes(address, args.name, context, args.concurrency, args.concurrency)

    server = only_child(args.server_pid) if args.server_pid else None
    server_start = cpu_seconds_of(server) if server else 0
    own_start = sum(os.times()[:2])
    start = time.perf_counter()
    handshakes(address, args.name, context, args.count, args.concurrency)
    seconds = time.perf_counter() - start
    fields = f" client_cpu={(sum(os.times()[:2]) - own_start) / seconds:.2f}"
    if server:
        fields += f" server_cpu={(cpu_seconds_of(server) - server_start) / seconds:.2f}"
    print(f"{args.count / seconds:.1f}{fields}")


if __name__ == "__main__":
    main()
