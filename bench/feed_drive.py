"""Runs one side of the feed row: starts a feed scraper, POSTs it the feed
URLs several times, checks every answer against feedparser's titles, stops
it, and prints the mean time of a POST.

Usage: /usr/bin/python3 feed_drive.py --urls FILE --titles FILE
                                      SERVER_COMMAND POSTS

SERVER_COMMAND is one string (split as a shell would, without a shell): the
scraper's command, to which this adds `--host 127.0.0.1 --port 0`; it must
print `listening on HOST:PORT` and exit with status 0 on SIGTERM (see
serving.py). The scraper runs on the client CPU, beside this driver, which
only waits while a POST is under way; nginx, which serves the feeds, has
the server CPU (bench/run's nginx_site).

Every POST is the same: the URLs of FILE, one a line, as the body (with
Content-Length, `Content-Type: text/plain`), on a connection of its own. The
answer must be 200, of a text/plain type, and its body, read as UTF-8, the
titles of --titles (a JSON list, what Python's feedparser reads from each
feed) joined by "\\n", exactly: any difference fails the run.

A first POST, not timed, warms the scraper up (its first connections to
nginx, the code paths run once); then POSTS POSTs are timed one after the
other, each from the start of the request to the last byte of the answer.

Prints the mean milliseconds per POST, then best_ms=... (the fastest).
"""
import argparse
import json
import time
import urllib.error
import urllib.request
from pathlib import Path

from serving import cpus, fail, server_command, serving


def post(url, body):
    """(status, content type, body) of one POST."""
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "text/plain"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.headers.get("Content-Type", ""), response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type", ""), error.read()
    except OSError as error:
        fail(f"POST {url} failed: {error}")


def check(answer, expected):
    status, content_type, body = answer
    if status != 200:
        fail(f"the scraper answered {status}: {body[:300]!r}")
    if not content_type.startswith("text/plain"):
        fail(f"the scraper answered with Content-Type {content_type!r}, not text/plain")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        fail(f"the scraper's answer is not UTF-8: {error}")
    if text != expected:
        got, want = text.split("\n"), expected.split("\n")
        for i, (line, title) in enumerate(zip(got, want)):
            if line != title:
                fail(f"title {i + 1} is {line!r}, feedparser reads {title!r}")
        fail(f"the scraper answered {len(got)} lines for {len(want)} feeds "
             f"(last line {got[-1]!r})")


def feed_arguments(parser):
    """Adds what every feed driver takes: --urls, --titles, the scraper's
    command and the count of POSTs."""
    parser.add_argument("--urls", required=True, help="a file of feed URLs, one a line")
    parser.add_argument("--titles", required=True, help="a JSON list of their titles")
    parser.add_argument("server", help="the scraper's command, as one string")
    parser.add_argument("posts", type=int)


def read_feeds(args):
    """(the scraper's command, the feed URLs, their titles) from the
    arguments of feed_arguments(); fails if the scraper is not built."""
    command = server_command(args.server)
    urls = Path(args.urls).read_text().split()
    titles = json.loads(Path(args.titles).read_text())
    return command, urls, titles


def main():
    parser = argparse.ArgumentParser()
    feed_arguments(parser)
    args = parser.parse_args()

    command, urls, titles = read_feeds(args)
    expected = "\n".join(titles)
    body = "".join(url + "\n" for url in urls).encode()
    _, client_cpu = cpus()
    times = []
    with serving(command, client_cpu, args.server) as (host, port):
        url = f"http://{host}:{port}/"
        check(post(url, body), expected)
        for _ in range(args.posts):
            started = time.perf_counter()
            answer = post(url, body)
            times.append(time.perf_counter() - started)
            check(answer, expected)
    print(f"{sum(times) / len(times) * 1e3:.3f} best_ms={min(times) * 1e3:.3f}")


if __name__ == "__main__":
    main()
