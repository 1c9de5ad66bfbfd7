"""pymemcache's side of memcrab's peer benchmark (benches/peers).

Runs one workload against one server for a while and prints one JSON
object: {"ops": N, "keys": N, "elapsed": seconds}. The key space is the
one the Rust side filled: PREFIX + 10 digits, KEYS keys, VALUE_SIZE bytes.
"""
import json
import random
import sys
import threading
import time

from pymemcache.client.base import Client

PREFIX = "peer:"
KEYS = 10_000
MANY = 100
VALUE = bytes(ord("a") + i % 26 for i in range(100))


def key(i):
    return "%s%010d" % (PREFIX, i)


def worker(server, workload, deadline, seed, out):
    host, port = server.rsplit(":", 1)
    client = Client((host, int(port)), no_delay=True)
    rng = random.Random(seed)
    ops = nkeys = 0
    while True:
        for _ in range(8):
            if workload == "get":
                client.get(key(rng.randrange(KEYS)))
            elif workload == "set":
                client.set(key(rng.randrange(KEYS)), VALUE, noreply=False)
            elif workload == "set_noreply":
                client.set(key(rng.randrange(KEYS)), VALUE, noreply=True)
            elif workload == "get_many_100":
                start = rng.randrange(KEYS - MANY)
                client.get_many([key(i) for i in range(start, start + MANY)])
                nkeys += MANY - 1
            else:  # mixed 9:1
                if rng.randrange(10) == 0:
                    client.set(key(rng.randrange(KEYS)), VALUE, noreply=False)
                else:
                    client.get(key(rng.randrange(KEYS)))
            ops += 1
            nkeys += 1
        if time.monotonic() >= deadline:
            break
    if workload == "set_noreply":
        client.version()
    out.append((ops, nkeys))


def main():
    server, workload, duration, connections = (
        sys.argv[1],
        sys.argv[2],
        float(sys.argv[3]),
        int(sys.argv[4]),
    )
    out = []
    start = time.monotonic()
    deadline = start + duration
    threads = [
        threading.Thread(target=worker, args=(server, workload, deadline, i, out))
        for i in range(connections)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - start
    print(json.dumps({
        "ops": sum(o for o, _ in out),
        "keys": sum(k for _, k in out),
        "elapsed": elapsed,
    }))


if __name__ == "__main__":
    main()
