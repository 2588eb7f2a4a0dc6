"""Runs one side of an echo row: starts an echo server, loads it with
echo_load, stops it, and prints what echo_load measured.

Usage: /usr/bin/python3 echo_drive.py --load PATH [--seconds S] [--warmup S]
                                      SERVER_COMMAND CONNECTIONS

SERVER_COMMAND is one string (split as a shell would, without a shell): the
server's command, to which this adds `--host 127.0.0.1 --port 0`. The server
must print `listening on HOST:PORT` on stdout once it listens, and exit with
status 0 on SIGTERM: build/bin/echo_server, echo_eventlet.py and echo_asio
all do, and a server that does not fails the run.

The server is pinned to the first CPU this process may use, the load client
to the second (the same CPU on a 1-CPU machine), so that neither steals the
other's CPU while it has work. With --shared-cpus (the echo_mt row, whose
servers have several threads), neither is pinned: the server's threads and
the load share every CPU this process may use, as the scheduler places
them.

After echo_load's fields the line says what the round trips cost:
server_cpus=... and load_cpus=..., the CPU time each process used while the
load ran (warm-up included), divided by that wall time (how many CPUs each
kept busy on average), and server_cpu_us=... and load_cpu_us=..., those
divided by the rate: each side's CPU time per round trip, in microseconds.
When the load keeps its CPU busy, the rate is as much the client's as the
server's, and a server that makes its client work harder shows in
load_cpu_us.

Starting, pinning and stopping the server is serving.py's, shared with the
other server rows' drivers.

Prints echo_load's line (round trips per second, p50_us=... p99_us=...),
then the four fields above.
"""
import argparse
import subprocess
import time

from serving import (children_cpu_seconds, cpus, fail, pinned, process_cpu_seconds,
                     server_command, serving)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--load", required=True, help="the echo_load program")
    parser.add_argument("--seconds", default="2", help="measured window (default 2)")
    parser.add_argument("--warmup", default="0.5", help="warm-up before it (default 0.5)")
    parser.add_argument("--shared-cpus", action="store_true",
                        help="pin neither server nor load; report the CPUs each kept busy")
    parser.add_argument("server", help="the server's command, as one string")
    parser.add_argument("connections", type=int)
    args = parser.parse_args()

    command = server_command(args.server)
    server_cpu, client_cpu = (None, None) if args.shared_cpus else cpus()
    with serving(command, server_cpu, args.server, with_pid=True) as (host, port, pid):
        server_before, load_before = process_cpu_seconds(pid), children_cpu_seconds()
        started = time.monotonic()
        load = subprocess.run([args.load, host, port, str(args.connections),
                               args.seconds, args.warmup],
                              capture_output=True, text=True, check=False,
                              preexec_fn=pinned(client_cpu))
        wall = time.monotonic() - started
        server_used, load_used = process_cpu_seconds(pid) - server_before, \
            children_cpu_seconds() - load_before
        if load.returncode != 0:
            fail(f"echo_load exited with {load.returncode}: {load.stderr.strip()}")
    line = load.stdout.strip()
    rate = float(line.split()[0])
    server_cpus, load_cpus = server_used / wall, load_used / wall

    def per_round_trip(cpus_busy):
        return f"{cpus_busy / rate * 1e6:.2f}" if rate > 0 else "nan"

    line += (f" server_cpus={server_cpus:.2f} load_cpus={load_cpus:.2f}"
             f" server_cpu_us={per_round_trip(server_cpus)} load_cpu_us={per_round_trip(load_cpus)}")
    print(line)


if __name__ == "__main__":
    main()
