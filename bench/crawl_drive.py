"""Runs ours' side of the crawl row: build/bin/crawl over the first COUNT
URLs of a file, timed from its start to its exit, every line of its output
checked.

Usage: /usr/bin/python3 crawl_drive.py --urls FILE --size BYTES
                                       [--concurrency N] [--no-keep-alive]
                                       [--cacert FILE] CRAWLER COUNT

The crawler gets the URLs on stdin, one a line, `--concurrency N` (default
100), and `--no-keep-alive` and `--cacert FILE` (the CA of the https://
URLs' certificates, for the crawl_tls row) if given here. It must print,
for every URL in input order, `got body BYTES URL` with the size every page
has, and exit with status 0; anything else fails the run. The time is the whole process's, from its start to its exit:
starting it and writing its URLs to its stdin count against ours.

Prints URLs per second.
"""
import argparse
import subprocess
import sys
import time
from pathlib import Path


def fail(message):
    sys.exit(f"bench: {message}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--urls", required=True, help="a file of URLs, one a line")
    parser.add_argument("--size", type=int, required=True, help="every body's length")
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--no-keep-alive", action="store_true",
                        help="a connection per URL, as Eventlet's urlopen")
    parser.add_argument("--cacert", help="trust the CA certificates of this file (https://)")
    parser.add_argument("crawler")
    parser.add_argument("count", type=int)
    args = parser.parse_args()

    if not Path(args.crawler).exists():
        fail(f"missing: {args.crawler} is not built")
    urls = Path(args.urls).read_text().split()[:args.count]
    if len(urls) != args.count:
        fail(f"{args.urls} has {len(urls)} URLs, not {args.count}")

    started = time.perf_counter()
    command = [args.crawler, "--concurrency", str(args.concurrency)]
    if args.no_keep_alive:
        command.append("--no-keep-alive")
    if args.cacert:
        command += ["--cacert", args.cacert]
    result = subprocess.run(command,
                            input="".join(url + "\n" for url in urls),
                            capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started

    if result.returncode != 0:
        fail(f"{args.crawler} exited with {result.returncode}; stderr "
             f"{result.stderr.strip()[:500]!r}; first lines {result.stdout.splitlines()[:3]!r}")
    lines = result.stdout.splitlines()
    if len(lines) != len(urls):
        fail(f"{args.crawler} printed {len(lines)} lines for {len(urls)} URLs")
    for url, line in zip(urls, lines):
        expected = f"got body {args.size} {url}"
        if line != expected:
            fail(f"{args.crawler} printed {line!r}, not {expected!r}")
    print(f"{len(urls) / seconds:.1f}")


if __name__ == "__main__":
    main()
