"""tpool, the Eventlet peer: the same program as tpool_ours.cpp, with
eventlet.tpool.execute(): the calling green thread parks, one of the pool's
OS threads (20 by default, EVENTLET_THREADPOOL_SIZE) runs the function, and
the result comes back through the hub, which a byte on a socket wakes. The
function only adds 1 to an int.

Usage: /usr/bin/python3 tpool_eventlet.py [--green-threads G] [COUNT]
COUNT calls in all (a multiple of G), made by G green threads at once
(default 1), each calling execute() in a loop. Every result is checked, and
so is where each call ran: on an OS thread other than the hub's. Prints
calls per second.
"""
import argparse
import sys
import threading
import time

import eventlet
from eventlet import tpool

RAN_IN_PLACE = -1  # what a call returns when it ran on the hub's thread


def call(i, hub_thread):
    return RAN_IN_PLACE if threading.get_ident() == hub_thread else i + 1


def call_in_a_loop(first, calls, hub_thread):
    total = 0
    for i in range(first, first + calls):
        total += tpool.execute(call, i, hub_thread)
    return total


def run(calls, green_threads):
    """`calls` calls from `green_threads` green threads at once; checks the
    results and returns the seconds it took."""
    hub_thread = threading.get_ident()
    each = calls // green_threads
    start = time.perf_counter()
    threads = [eventlet.spawn(call_in_a_loop, g * each, each, hub_thread)
               for g in range(green_threads)]
    total = sum(thread.wait() for thread in threads)
    seconds = time.perf_counter() - start
    if total != calls * (calls + 1) // 2:
        sys.exit(f"bench: the {calls} results sum to {total}, not 1 + 2 + ... + {calls} "
                 "(a call that ran on the hub's thread returns -1)")
    return seconds


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--green-threads", type=int, default=1)
    parser.add_argument("count", type=int, nargs="?", default=20_000)
    args = parser.parse_args()
    if args.green_threads < 1 or args.count < 1 or args.count % args.green_threads:
        sys.exit("bench: the count must be a positive multiple of --green-threads")
    run(100 * args.green_threads, args.green_threads)  # starts the pool's threads first
    seconds = run(args.count, args.green_threads)
    print(f"{args.count / seconds:.1f}")


if __name__ == "__main__":
    main()
