"""The Eventlet peer of the crawl row: the crawler of Eventlet's own
examples (examples/webcrawler.py): a GreenPool whose imap() maps fetch()
over the URLs, fetch() being eventlet.green.urllib.request.urlopen(url)
.read(). The pool has 100 green threads, the row's concurrency (the example
has 200), and every body's length is checked against the size every page has.

Usage: /usr/bin/python3 crawl_eventlet.py --urls FILE --size BYTES
                                          [--cacert FILE] COUNT
Crawls the first COUNT URLs of FILE (one a line) and prints URLs per second.
With --cacert (the crawl_tls row, whose URLs are https://), urlopen() gets
context=eventlet.green.ssl.create_default_context(cafile=FILE): the
certificates of that file trusted, the server's certificate and name
checked. It must be green ssl's context: the standard library's would wrap
the green socket in a blocking ssl.SSLSocket, and each handshake would stop
the hub.
The clock runs from the pool's creation to the last body, after a first
crawl of 100 URLs that creates the hub: the interpreter's start and the
imports are not counted.
"""
import argparse
import functools
import sys
import time
from pathlib import Path

import eventlet
from eventlet.green import ssl
from eventlet.green.urllib.request import urlopen

CONCURRENCY = 100


def fetch(url, context=None):
    with urlopen(url, context=context) as response:
        return url, response.read()


def crawl(urls, size, context=None):
    """Fetches every URL through the pool's imap; returns the seconds it took."""
    start = time.perf_counter()
    pool = eventlet.GreenPool(CONCURRENCY)
    fetched = 0
    for url, body in pool.imap(functools.partial(fetch, context=context), urls):
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
    parser.add_argument("--cacert", help="trust the CA certificates of this file (https://)")
    parser.add_argument("count", type=int)
    args = parser.parse_args()

    urls = Path(args.urls).read_text().split()[:args.count]
    if len(urls) != args.count:
        sys.exit(f"bench: {args.urls} has {len(urls)} URLs, not {args.count}")
    context = ssl.create_default_context(cafile=args.cacert) if args.cacert else None
    crawl(urls[:100], args.size, context)
    seconds = crawl(urls, args.size, context)
    print(f"{len(urls) / seconds:.1f}")


if __name__ == "__main__":
    main()
