"""imap, the Eventlet peer: the same program as imap_ours.cpp:
GreenPool(1000).imap() of x -> x + 1 over the N numbers 0 .. N-1, the
results added up as they come, and the sum checked.

Usage: /usr/bin/python3 imap_eventlet.py [--peak-rss] [COUNT]
Prints calls per second or, with --peak-rss, after the same run, the
process's peak resident memory in bytes (VmHWM of /proc/self/status).
"""
import sys
import time

import eventlet

POOL_SIZE = 1_000


def peak_resident_bytes():
    """VmHWM of /proc/self/status, which the kernel gives in kB (KiB)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    sys.exit("bench: no VmHWM line in /proc/self/status")


def plus_one(x):
    return x + 1


def map_and_sum(count):
    """Maps x -> x + 1 over 0 .. count-1 through an imap of a fresh pool and
    adds the results up; returns the seconds it took."""
    start = time.perf_counter()
    pool = eventlet.GreenPool(POOL_SIZE)
    total = 0
    for result in pool.imap(plus_one, range(count)):
        total += result
    seconds = time.perf_counter() - start

    # 1 + 2 + ... + count
    expected = count * (count + 1) // 2
    if total != expected:
        sys.exit(f"bench: the results add up to {total}, not {expected}")
    return seconds


def main():
    args = sys.argv[1:]
    peak_rss = bool(args) and args[0] == "--peak-rss"
    if peak_rss:
        args = args[1:]
    count = int(args[0]) if args else 1_000_000
    map_and_sum(1_000)  # as in imap_ours.cpp: creates the hub first
    seconds = map_and_sum(count)
    if peak_rss:
        print(f"{peak_resident_bytes():.1f}")
    else:
        print(f"{count / seconds:.1f}")


if __name__ == "__main__":
    main()
