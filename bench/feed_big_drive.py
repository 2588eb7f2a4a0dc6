"""Runs one side of the feed_big row: starts a feed scraper, POSTs it the
row's 50 feed URLs (5 of them feeds of 8 MB) several times, and while each
POST is under way GETs the scraper's cheap page again and again, timing each
GET; checks every answer, stops the scraper, and prints the 99th percentile
of the GETs' latency.

Usage: /usr/bin/python3 feed_big_drive.py --urls FILE --titles FILE
                                          [--interval MS] SERVER_COMMAND POSTS

SERVER_COMMAND is one string (split as a shell would, without a shell): the
scraper's command, to which this adds `--host 127.0.0.1 --port 0` (see
serving.py). Neither the scraper nor this driver is pinned: a scraper may
use both CPUs (threads of a pool, for one), and this driver is idle most of
the time; nginx, which serves the feeds, is pinned to the first CPU by the
row's fixture.

First a POST of the small feeds only, not timed, warms the scraper up (its
connections to nginx, its code paths). Then POSTS times: a POST of all 50
URLs, on a thread of this driver, checked as feed_drive.py checks its
POSTs (200, text/plain, feedparser's titles exactly); and meanwhile, on the
main thread, a GET of `/` every --interval milliseconds (default 2), each
on a new connection, timed from its send (the connect included) to the end
of the answer, until the POST has its answer. A GET may get any answer
below 500 (ours answers 405, Eventlet's 403: the cheap page of a scraper
that only takes POSTs), and must get it within 30 s.

A GET that takes longer than the interval delays the ones after it, which
then never see the stall: a prober that waits for each answer before it
sends the next measures the stall once, where a client every 2 ms would
have met it again and again (coordinated omission). So each GET also counts
the GETs it held back, with the latency each would have had, L - 2 ms,
L - 4 ms, ... down to 0 (as HdrHistogram's recordValueWithExpectedInterval
does).

Prints the 99th percentile of the GETs' latency in milliseconds, then
p50_ms=... max_ms=... gets=... (those sent) post_ms=... (the mean time of
a POST).
"""
import argparse
import socket
import threading
import time

from feed_drive import check, feed_arguments, post, read_feeds
from serving import fail, serving

GET_TIMEOUT = 30  # seconds a GET may take before the run fails


def get_once(host, port):
    """Milliseconds from connecting to the end of the answer of one
    `GET /` (with Connection: close, read to the end of the stream)."""
    started = time.perf_counter()
    with socket.create_connection((host, int(port)), timeout=GET_TIMEOUT) as connection:
        connection.sendall(b"GET / HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    elapsed = (time.perf_counter() - started) * 1e3
    status = answer.split(b" ", 2)[1] if answer.startswith(b"HTTP/1.") else b""
    if not status.isdigit() or int(status) >= 500:
        fail(f"GET / answered {answer[:200]!r}")
    return elapsed


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[int(fraction * (len(ordered) - 1))]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--interval", type=float, default=2.0,
                        help="milliseconds between the GETs' starts (default 2)")
    feed_arguments(parser)
    args = parser.parse_args()

    command, urls, titles = read_feeds(args)
    small = [(url, title) for url, title in zip(urls, titles) if "/big-" not in url]
    body = "".join(url + "\n" for url in urls).encode()
    expected = "\n".join(titles)
    latencies = []  # ms: the GETs', and those they held back
    sent = 0
    post_times = []
    with serving(command, None, args.server) as (host, port):
        url = f"http://{host}:{port}/"
        check(post(url, "".join(feed + "\n" for feed, _ in small).encode()),
              "\n".join(title for _, title in small))
        for _ in range(args.posts):
            answer = []

            def post_all():
                try:
                    answer.append(post(url, body))
                except SystemExit as failed:  # fail() in a thread ends only the thread
                    answer.append(failed)

            started = time.perf_counter()
            poster = threading.Thread(target=post_all)
            poster.start()
            next_get = time.perf_counter()
            while poster.is_alive():
                latency = get_once(host, port)
                sent += 1
                latencies.append(latency)
                held_back = latency - args.interval
                while held_back > 0:
                    latencies.append(held_back)
                    held_back -= args.interval
                next_get += args.interval / 1e3
                now = time.perf_counter()
                if next_get > now:
                    time.sleep(next_get - now)
                else:
                    next_get = now  # the GETs held back are counted above
            poster.join()
            post_times.append(time.perf_counter() - started)
            if isinstance(answer[0], SystemExit):
                fail(str(answer[0].code).removeprefix("bench: "))
            check(answer[0], expected)
    if not latencies:
        fail("no GET was answered while a POST was under way")
    print(f"{percentile(latencies, 0.99):.3f} p50_ms={percentile(latencies, 0.50):.3f} "
          f"max_ms={max(latencies):.3f} gets={sent} "
          f"post_ms={sum(post_times) / len(post_times) * 1e3:.1f}")


if __name__ == "__main__":
    main()
