"""The curl peer of the crawl_tls row: curl (Debian's, /usr/bin/curl) fetching
the first COUNT URLs of a file at once, `--parallel --parallel-max N`, over
the connections it keeps (its own connection cache: a connection whose
response is done is reused for a later URL of the same server), trusting the
CA certificates of --cacert (`--cacert FILE`: the server's certificate and
name checked). Timed from curl's start to its exit, as ours is in
crawl_drive.py: starting it and reading its URLs count against it.

Usage: /usr/bin/python3 crawl_tls_curl.py --urls FILE --size BYTES
                                          --cacert FILE [--concurrency N] COUNT

The URLs go to curl in a config file (`url = ...` and `output = /dev/null`
for each), and `--write-out` has curl print, for every transfer, its status,
its body's size, the HTTP version, how many new connections it made, and its
URL. The run fails unless curl exits with status 0 and every URL was fetched
exactly once, with status 200, over HTTP/1.1, with a body of BYTES bytes.

Prints URLs per second, then connections=... (the connections curl made).
"""
import argparse
import collections
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CURL = "/usr/bin/curl"


def fail(message):
    sys.exit(f"bench: {message}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--urls", required=True, help="a file of URLs, one a line")
    parser.add_argument("--size", type=int, required=True, help="every body's length")
    parser.add_argument("--cacert", required=True, help="the CA of the server's certificate")
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("count", type=int)
    args = parser.parse_args()

    if not Path(CURL).exists():
        fail(f"missing: {CURL} (tools/install-deps build installs curl)")
    urls = Path(args.urls).read_text().split()[:args.count]
    if len(urls) != args.count:
        fail(f"{args.urls} has {len(urls)} URLs, not {args.count}")

    with tempfile.NamedTemporaryFile("w", prefix="eventlet-bench-curl-", suffix=".conf") as config:
        config.write("".join(f'url = "{url}"\noutput = "/dev/null"\n' for url in urls))
        config.flush()
        # --max-time: each transfer within 30 s, as ours' default --timeout.
        command = [CURL, "--silent", "--show-error", "--max-time", "30", "--parallel",
                   "--parallel-max", str(args.concurrency), "--cacert", args.cacert,
                   "--config", config.name,
                   "--write-out", "%{http_code} %{size_download} %{http_version} %{num_connects} "
                                  "%{url_effective}\\n"]
        started = time.perf_counter()
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - started

    if result.returncode != 0:
        fail(f"curl exited with {result.returncode}; stderr {result.stderr.strip()[:500]!r}")
    # --parallel prints the transfers as they end, not in input order.
    seen = collections.Counter()
    connections = 0
    for line in result.stdout.splitlines():
        fields = line.split(" ", 4)
        if len(fields) != 5:
            fail(f"curl printed {line!r}, not 'STATUS SIZE VERSION CONNECTS URL'")
        status, size, version, connects, url = fields
        if status != "200" or int(size) != args.size or version != "1.1":
            fail(f"curl got {url} with status {status}, {size} bytes, HTTP/{version}; "
                 f"not 200, {args.size} bytes, HTTP/1.1")
        seen[url] += 1
        connections += int(connects)
    if seen != collections.Counter(urls):
        missing = set(urls) - set(seen)
        fail(f"curl fetched {sum(seen.values())} URLs for {len(urls)}"
             + (f"; missing {sorted(missing)[:3]}" if missing else "; some twice"))
    print(f"{len(urls) / seconds:.1f} connections={connections}")


if __name__ == "__main__":
    main()
