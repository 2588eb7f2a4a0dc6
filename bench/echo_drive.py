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
other's CPU while it has work.

Prints echo_load's line: round trips per second, p50_us=... p99_us=...
"""
import argparse
import os
import re
import select
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LISTENING = re.compile(r"listening on (\S+):(\d+)$")
START_TIMEOUT = 20  # seconds for the server to listen (Python imports included)
STOP_TIMEOUT = 10   # seconds for the server to exit after SIGTERM


def cpus():
    """(server CPU, client CPU): the first two this process may run on."""
    allowed = sorted(os.sched_getaffinity(0))
    return allowed[0], allowed[1] if len(allowed) > 1 else allowed[0]


def pinned(cpu):
    return lambda: os.sched_setaffinity(0, {cpu})


def fail(message):
    sys.exit(f"bench: {message}")


def wait_for_listening(server, command, errors):
    """Reads the server's first line; returns (host, port)."""
    deadline = time.monotonic() + START_TIMEOUT
    line = b""
    while not line.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([server.stdout], [], [], left)[0]:
            fail(f"{command} did not print 'listening on HOST:PORT' in {START_TIMEOUT} s")
        chunk = os.read(server.stdout.fileno(), 1)
        if not chunk:
            server.wait()
            fail(f"{command} exited with {server.returncode} before listening; "
                 f"stderr {read_text(errors)!r}")
        line += chunk
    found = LISTENING.match(line.decode().strip())
    if not found:
        fail(f"{command} printed {line.decode().strip()!r}, not 'listening on HOST:PORT'")
    return found.group(1), found.group(2)


def read_text(file):
    file.seek(0)
    return file.read().decode(errors="replace").strip()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--load", required=True, help="the echo_load program")
    parser.add_argument("--seconds", default="2", help="measured window (default 2)")
    parser.add_argument("--warmup", default="0.5", help="warm-up before it (default 0.5)")
    parser.add_argument("server", help="the server's command, as one string")
    parser.add_argument("connections", type=int)
    args = parser.parse_args()

    command = shlex.split(args.server)
    if not Path(command[0]).exists():
        fail(f"missing: {command[0]} is not built")
    server_cpu, client_cpu = cpus()
    with tempfile.TemporaryFile() as errors:
        server = subprocess.Popen(command + ["--host", "127.0.0.1", "--port", "0"],
                                  stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=errors, preexec_fn=pinned(server_cpu))
        try:
            host, port = wait_for_listening(server, args.server, errors)
            load = subprocess.run([args.load, host, port, str(args.connections),
                                   args.seconds, args.warmup],
                                  capture_output=True, text=True, check=False,
                                  preexec_fn=pinned(client_cpu))
        finally:
            # Always stopped, even when the load failed: a server left behind
            # would hold its CPU through the next runs.
            if server.poll() is None:
                server.send_signal(signal.SIGTERM)
                try:
                    server.wait(timeout=STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    server.kill()
                    server.wait()
                    fail(f"{args.server} did not exit within {STOP_TIMEOUT} s of SIGTERM; "
                         f"stderr {read_text(errors)[-2000:]!r}")
        if load.returncode != 0:
            fail(f"echo_load exited with {load.returncode}: {load.stderr.strip()}")
        if server.returncode != 0:
            fail(f"{args.server} exited with {server.returncode} on SIGTERM, not 0; "
                 f"stderr {read_text(errors)!r}")
    print(load.stdout.strip())


if __name__ == "__main__":
    main()
