"""The Eventlet peer of the crawl row: the crawler of Eventlet's own
examples (examples/webcrawler.py): a GreenPool whose imap() maps fetch()
over the URLs, fetch() being eventlet.green.urllib.request.urlopen(url)
.read(). The pool has 100 green threads, the row's concurrency (the example
has 200), and every body's length is checked against the size every page has.

Usage: /usr/bin/python3 crawl_eventlet.py --urls FILE --size BYTES COUNT
Crawls the first COUNT URLs of FILE (one a line) and prints URLs per second.
The clock runs from the pool's creation to the last body, after a first
crawl of 100 URLs that creates the hub: the interpreter's start and the
imports are not counted.
"""
import argparse
import sys
import time
from pathlib import Path

import eventlet
from eventlet.green.urllib.request import urlopen

CONCURRENCY = 100


def fetch(url):
    with urlopen(url) as response:
        return url, response.read()


def crawl(urls, size):
    """Fetches every URL through the pool's imap; returns the seconds it took."""
    start = time.perf_counter()
    pool = eventlet.GreenPool(CONCURRENCY)
    fetched = 0
    for url, body in pool.imap(fetch, urls):
        if len(body) != size:
            sys.exit(f"bench: {url} has a body of {len(body)} bytes, not {size}")
        fetched += 1
    seconds = time.perf_counter() - start
    if fetched != len(urls):
        sys.exit(f"bench: {fetched} bodies for {len(urls)} URLs")
    return seconds


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--urls", required=True)
    parser.add_argument("--size", type=int, required=True)
    parser.add_argument("count", type=int)
    args = parser.parse_args()

    urls = Path(args.urls).read_text().split()[:args.count]
    if len(urls) != args.count:
        sys.exit(f"bench: {args.urls} has {len(urls)} URLs, not {args.count}")
    crawl(urls[:100], args.size)
    seconds = crawl(urls, args.size)
    print(f"{len(urls) / seconds:.1f}")


if __name__ == "__main__":
    main()
