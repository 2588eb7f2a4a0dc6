#!/usr/bin/python3
"""Echo servers measured in turn: the servers stay up, and the load runs against
each of them, one after the other, round after round. On a shared machine whose
speed drifts by tens of per cent from one minute to the next, the ratio of two
servers measured seconds apart means more than either rate: this prints, for
each server, the median of its rate, of its rate divided by the last server's
in the same round, and of its CPU time per round trip.

usage: bench/pair.py [--connections N] [--rounds R] [--seconds S] LABEL=COMMAND...

COMMAND is an echo server and its arguments, split as a shell would; it gets
--host 127.0.0.1 --port 0 and must print "listening on HOST:PORT" first. The
servers run on CPU 0, the load (build/release/bench/echo_load, 64-byte round
trips, one in flight per connection) on CPU 1. Example, the hub with and without
its ring against plain Asio:

    bench/pair.py ours=build/bin/echo_server \\
        "ours_epoll=env EVENTLET_HUB=epoll build/bin/echo_server" \\
        asio=build/release/bench/echo_asio
"""
import argparse
import os
import shlex
import signal
import statistics
import subprocess
from pathlib import Path

TOP = Path(__file__).resolve().parent.parent
LOAD = Path(os.environ.get("BENCH_PROGRAMS", TOP / "build" / "release" / "bench")) / "echo_load"
WARMUP_SECONDS = 0.3


def cpu_seconds(pid):
    """User and system time of process `pid` so far, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("servers", nargs="+", metavar="LABEL=COMMAND")
    args = parser.parse_args()
    specs = [spec.split("=", 1) for spec in args.servers]
    if any(len(spec) != 2 for spec in specs):
        parser.error("each server is LABEL=COMMAND")

    servers, ports = [], []
    try:
        for _, command in specs:
            server = subprocess.Popen(["taskset", "-c", "0", *shlex.split(command),
                                       "--host", "127.0.0.1", "--port", "0"],
                                      stdout=subprocess.PIPE, text=True)
            servers.append(server)
            ports.append(server.stdout.readline().strip().rsplit(":", 1)[1])
        rates = {label: [] for label, _ in specs}
        cpu = {label: [] for label, _ in specs}
        for _ in range(args.rounds):
            for (label, _), server, port in zip(specs, servers, ports):
                before = cpu_seconds(server.pid)
                result = subprocess.run(["taskset", "-c", "1", str(LOAD), "127.0.0.1", port,
                                         str(args.connections), str(args.seconds), str(WARMUP_SECONDS)],
                                        capture_output=True, text=True, check=True)
                rate = float(result.stdout.split()[0])
                round_trips = rate * (args.seconds + WARMUP_SECONDS)
                rates[label].append(rate)
                cpu[label].append((cpu_seconds(server.pid) - before) / round_trips * 1e6)
    finally:
        for server in servers:
            server.send_signal(signal.SIGTERM)
            server.wait()

    last = specs[-1][0]
    print(f"{args.connections} connections, {args.rounds} rounds of {args.seconds} s; "
          f"ratios to {last}, round by round")
    for label, _ in specs:
        ratios = [ours / theirs for ours, theirs in zip(rates[label], rates[last])]
        print(f"{label:12s} {statistics.median(rates[label]):9.0f} round trips/s   "
              f"ratio {statistics.median(ratios):.3f} ({min(ratios):.3f}-{max(ratios):.3f})   "
              f"server CPU {statistics.median(cpu[label]):.2f} us per round trip")


if __name__ == "__main__":
    main()
