"""Runs one side of the http_hello rows: starts an HTTP server, checks one
response by hand, loads the server with wrk, stops it, and prints what wrk
measured.

Usage: /usr/bin/python3 http_drive.py [--seconds S] [--threads T]
                                      [--cacert FILE] SERVER_COMMAND CONNECTIONS

SERVER_COMMAND is one string (split as a shell would, without a shell): the
server's command, to which this adds `--host 127.0.0.1 --port 0`; it must
print `listening on HOST:PORT` and exit with status 0 on SIGTERM (see
serving.py, which starts, pins and stops it as for the echo rows).

Before the load, one GET must get 200 and the body `Hello, World!\\r\\n`
(wrk checks no body). Then `wrk -t T -c CONNECTIONS -d S --latency
http://HOST:PORT/` (Debian's wrk, /usr/bin/wrk), pinned to the client CPU
while the server has the first one. The run fails if wrk reports any socket
error (connect, read, write, timeout) or any response with a status of 400
or more ("Non-2xx or 3xx responses"), or no request at all.

With --cacert FILE (the http_hello_tls row), the server speaks HTTPS: the
GET goes over TLS, verifying the server's certificate against the CA
certificate of FILE and the name of HOST, and wrk loads
`https://HOST:PORT/` instead (wrk verifies no certificate; each of its
connections makes one handshake at its start, then is kept).

Prints requests per second, then p50_us=... p99_us=... (wrk's latency
distribution, in microseconds), then what each side of the load cost while
wrk ran: server_cpus=... and load_cpus=..., the CPU time of the server's
process and of wrk divided by wrk's wall time (how many CPUs each kept busy),
and server_cpu_us=..., the server's CPU time per request in microseconds.
With wrk's one thread near 1.00 CPUs the row measures the load as much as
the server: the server's CPU time per request then says what it costs.
"""
import argparse
import re
import ssl
import subprocess
import time
import urllib.request
from pathlib import Path

from serving import (children_cpu_seconds, cpus, fail, pinned, process_cpu_seconds,
                     server_command, serving)

WRK = "/usr/bin/wrk"
EXPECTED_BODY = b"Hello, World!\r\n"

REQUESTS_PER_SECOND = re.compile(r"^Requests/sec:\s+([0-9.]+)\s*$", re.M)
TOTAL = re.compile(r"^\s*(\d+) requests in ", re.M)
PERCENTILE = re.compile(r"^\s*(50|99)%\s+([0-9.]+)(us|ms|s)\s*$", re.M)
SOCKET_ERRORS = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")
NON_2XX = re.compile(r"Non-2xx or 3xx responses: (\d+)")
MICROSECONDS = {"us": 1.0, "ms": 1e3, "s": 1e6}


def check_one_response(host, port, cacert=None):
    url = f"{'https' if cacert else 'http'}://{host}:{port}/"
    context = ssl.create_default_context(cafile=cacert) if cacert else None
    try:
        with urllib.request.urlopen(url, timeout=10, context=context) as response:
            status, body = response.status, response.read()
    except OSError as error:
        fail(f"GET {url} failed: {error}")
    if status != 200 or body != EXPECTED_BODY:
        fail(f"GET {url} answered {status} {body[:100]!r}, not 200 {EXPECTED_BODY!r}")


def parse_wrk(output):
    """(requests/s, {"p50_us": ..., "p99_us": ...}) from wrk's report, after
    checking that it counted no error (and that it made a request)."""
    errors = SOCKET_ERRORS.search(output)
    if errors and any(int(count) for count in errors.groups()):
        fail(f"wrk had socket errors: {errors.group(0)}")
    bad = NON_2XX.search(output)
    if bad and int(bad.group(1)):
        fail(f"wrk got {bad.group(1)} responses with a status of 400 or more")
    rate, total = REQUESTS_PER_SECOND.search(output), TOTAL.search(output)
    percentiles = {f"p{p}_us": float(value) * MICROSECONDS[unit]
                   for p, value, unit in PERCENTILE.findall(output)}
    if not rate or not total or set(percentiles) != {"p50_us", "p99_us"}:
        fail(f"cannot read wrk's report: {output!r}")
    if int(total.group(1)) == 0:
        fail("wrk made no request")
    return float(rate.group(1)), percentiles


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", default="5", help="wrk's duration (default 5)")
    parser.add_argument("--threads", default="1", help="wrk's threads (default 1)")
    parser.add_argument("--cacert", help="the server speaks HTTPS, with a certificate of this CA")
    parser.add_argument("server", help="the server's command, as one string")
    parser.add_argument("connections", type=int)
    args = parser.parse_args()

    command = server_command(args.server)
    if not Path(WRK).exists():
        fail(f"missing: {WRK} (tools/install-deps bench installs wrk)")
    server_cpu, client_cpu = cpus()
    with serving(command, server_cpu, args.server, with_pid=True) as (host, port, pid):
        check_one_response(host, port, args.cacert)
        scheme = "https" if args.cacert else "http"
        server_before, load_before = process_cpu_seconds(pid), children_cpu_seconds()
        started = time.monotonic()
        load = subprocess.run([WRK, "-t", args.threads, "-c", str(args.connections),
                               "-d", f"{args.seconds}s", "--latency", f"{scheme}://{host}:{port}/"],
                              capture_output=True, text=True, check=False,
                              preexec_fn=pinned(client_cpu))
        wall = time.monotonic() - started
        server_used, load_used = process_cpu_seconds(pid) - server_before, \
            children_cpu_seconds() - load_before
        if load.returncode != 0:
            fail(f"wrk exited with {load.returncode}: {load.stderr.strip()} {load.stdout.strip()}")
        rate, percentiles = parse_wrk(load.stdout)
        requests = int(TOTAL.search(load.stdout).group(1))
    costs = (f"server_cpus={server_used / wall:.2f} load_cpus={load_used / wall:.2f} "
             f"server_cpu_us={server_used / requests * 1e6:.2f}")
    print(f"{rate:.1f} " + " ".join(f"{key}={value:.1f}" for key, value in percentiles.items()) + " " + costs)


if __name__ == "__main__":
    main()
