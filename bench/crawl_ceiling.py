"""The server's side of the crawl rows: how many pages per second nginx
itself can serve, in the way a crawler fetches them, measured by wrk (Debian's
/usr/bin/wrk) with as many connections as the crawlers' concurrency. No
crawler can fetch faster than this: it is the ceiling the crawlers' numbers
are read against.

Usage: /usr/bin/python3 crawl_ceiling.py --url URL [--close] [--seconds S]
                                         CONNECTIONS

--close sends `Connection: close` with every request, so that each request
has a connection of its own, as Eventlet's urlopen (and `crawl
--no-keep-alive`) does; without it, wrk keeps its connections alive, as a
Session does. The run fails on any socket error or error status. Prints
requests per second.
"""
import argparse
import subprocess
from pathlib import Path

from http_drive import WRK, parse_wrk
from serving import fail


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True, help="a page nginx serves")
    parser.add_argument("--close", action="store_true", help="a connection per request")
    parser.add_argument("--seconds", default="2", help="wrk's duration (default 2)")
    parser.add_argument("connections", type=int)
    args = parser.parse_args()

    if not Path(WRK).exists():
        fail(f"missing: {WRK} (tools/install-deps bench installs wrk)")
    headers = ["-H", "Connection: close"] if args.close else []
    load = subprocess.run([WRK, "-t", "1", "-c", str(args.connections), "-d", f"{args.seconds}s",
                           "--latency", *headers, args.url],
                          capture_output=True, text=True, check=False)
    if load.returncode != 0:
        fail(f"wrk exited with {load.returncode}: {load.stderr.strip()} {load.stdout.strip()}")
    rate, _ = parse_wrk(load.stdout)
    print(f"{rate:.1f}")


if __name__ == "__main__":
    main()
