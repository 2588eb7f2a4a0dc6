"""What the drivers of the server rows share (echo_drive.py, http_drive.py,
feed_drive.py): a server started pinned to a CPU, its `listening on
HOST:PORT` line read, and the server stopped with SIGTERM afterwards, which
it must answer by exiting with status 0.

    with serving(command, cpu) as (host, port):
        ... load it ...

Any failure ends the driver through fail(): a message on stderr and exit
status 1, which the runner reports as FAIL.
"""
import contextlib
import os
import re
import resource
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
    """(server CPU, client CPU): the first two CPUs this process may run on
    (the same one twice on a 1-CPU machine)."""
    allowed = sorted(os.sched_getaffinity(0))
    return allowed[0], allowed[1] if len(allowed) > 1 else allowed[0]


def pinned(cpu):
    """A preexec_fn that pins the child to `cpu`; None leaves it on every CPU
    this process may use (the echo_mt row's servers, which have threads for
    more than one)."""
    if cpu is None:
        return None
    return lambda: os.sched_setaffinity(0, {cpu})


def process_cpu_seconds(pid):
    """User plus system CPU time of every thread of process `pid` so far:
    fields 14 and 15 of /proc/PID/stat, in clock ticks."""
    with open(f"/proc/{pid}/stat") as stat:
        # The command name (field 2) may hold spaces: count from after it.
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# NAME=VALUE, as `env` takes it before the program.
ENVIRONMENT_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")


def children_cpu_seconds():
    """User plus system CPU time of this process's children waited for."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def fail(message):
    sys.exit(f"bench: {message}")


def server_command(text):
    """The argument list of a server's command given as one string (split
    as a shell would, without a shell); fails, with the "missing:" that the
    runner reports as such, when its program does not exist. The command
    may set the server's environment first, as `env NAME=VALUE PROGRAM ...`
    (the `ours_epoll` side of the echo rows)."""
    command = shlex.split(text)
    words = iter(command[1:] if command[0] == "env" else command)
    program = next((word for word in words if not ENVIRONMENT_ASSIGNMENT.match(word)), "")
    if not Path(program).exists():
        fail(f"missing: {program or text} is not built")
    return command


def read_text(file):
    file.seek(0)
    return file.read().decode(errors="replace").strip()


def wait_for_listening(server, name, errors):
    """Reads the server's first line; returns (host, port)."""
    deadline = time.monotonic() + START_TIMEOUT
    line = b""
    while not line.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([server.stdout], [], [], left)[0]:
            fail(f"{name} did not print 'listening on HOST:PORT' in {START_TIMEOUT} s")
        chunk = os.read(server.stdout.fileno(), 1)
        if not chunk:
            server.wait()
            fail(f"{name} exited with {server.returncode} before listening; "
                 f"stderr {read_text(errors)!r}")
        line += chunk
    found = LISTENING.match(line.decode().strip())
    if not found:
        fail(f"{name} printed {line.decode().strip()!r}, not 'listening on HOST:PORT'")
    return found.group(1), found.group(2)


@contextlib.contextmanager
def serving(command, cpu, name=None, with_pid=False):
    """Runs `command` plus `--host 127.0.0.1 --port 0`, pinned to `cpu` (None:
    not pinned), and yields (host, port) once it listens ((host, port, the
    server's process ID) with `with_pid`). On leaving, stops it with SIGTERM
    (also when the body failed: a server left behind would hold its CPU
    through the next runs) and, if the body succeeded, fails unless the
    server exited with status 0 within STOP_TIMEOUT."""
    name = name or " ".join(command)
    with tempfile.TemporaryFile() as errors:
        server = subprocess.Popen(list(command) + ["--host", "127.0.0.1", "--port", "0"],
                                  stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=errors, preexec_fn=pinned(cpu))
        body_ok = False
        try:
            host, port = wait_for_listening(server, name, errors)
            yield (host, port, server.pid) if with_pid else (host, port)
            body_ok = True
        finally:
            # Its stdout stays open, unread: a server may print a line as it
            # stops (build/bin/echo_server does), and closing the pipe would
            # kill it with SIGPIPE instead.
            if server.poll() is None:
                server.send_signal(signal.SIGTERM)
                try:
                    server.wait(timeout=STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    server.kill()
                    server.wait()
                    fail(f"{name} did not exit within {STOP_TIMEOUT} s of SIGTERM; "
                         f"stderr {read_text(errors)[-2000:]!r}")
            server.stdout.close()
        if body_ok and server.returncode != 0:
            fail(f"{name} exited with {server.returncode} on SIGTERM, not 0; "
                 f"stderr {read_text(errors)[-2000:]!r}")
