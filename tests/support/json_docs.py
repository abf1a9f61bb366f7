#!/usr/bin/env python3
"""json_docs.py SEED COUNT [FILE...]: prints JSON objects, one per line, for
test_content_hash.sh: every line of the given .jsonl files with an event_id
added, then COUNT generated documents meant to find where a jsonb text
written in C could differ from PostgreSQL's: nested objects and arrays,
keys of every length (ASCII, Vietnamese, equal lengths differing late),
strings with every control character but NUL, quotes, backslashes, DEL,
non-ASCII; integers at the limits; reals of every magnitude and sign."""
import json
import random
import sys

seed, count = int(sys.argv[1]), int(sys.argv[2])
rng = random.Random(seed)

for path in sys.argv[3:]:
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line.startswith("{"):
                doc = json.loads(line)
                doc["event_id"] = "evt-%d" % rng.randrange(10**9)
                print(json.dumps(doc, ensure_ascii=False))

ALPHABET = ["a", "b", "Z", "_", "0", "ễ", "Đ", "ư", "\u00e9", "\U0001F600", " ", "/"]
CONTROLS = [chr(c) for c in range(1, 32)] + ['"', "\\", "\x7f"]


def text():
    n = rng.choice([0, 1, 2, 3, 8, 30])
    return "".join(rng.choice(ALPHABET + CONTROLS) if rng.random() < 0.3 else rng.choice(ALPHABET)
                   for _ in range(n))


def real():
    kind = rng.randrange(6)
    if kind == 0:
        return rng.uniform(-1e6, 1e6)
    if kind == 1:
        return rng.choice([0.0, -0.0, 0.1, 1.0, 100.0, 1e20, 1e-5, 1.5e-7, 2.5e-5])
    if kind == 2:
        return rng.choice([5e-324, 2.2250738585072014e-308, 1.7976931348623157e308])
    if kind == 3:
        return float(rng.randrange(-10**6, 10**6))
    return rng.uniform(-1, 1) * 10 ** rng.randrange(-320, 308)


def value(depth):
    kind = rng.randrange(10 if depth < 4 else 7)
    if kind == 0:
        return text()
    if kind == 1:
        return rng.choice([0, 1, -1, 2**63 - 1, -2**63, rng.randrange(-10**12, 10**12)])
    if kind == 2:
        return real()
    if kind == 3:
        return rng.choice([True, False])
    if kind in (4, 5, 6):
        return None if kind == 4 else text()
    if kind in (7, 8):
        return obj(depth + 1)
    return [value(depth + 1) for _ in range(rng.randrange(4))]


def obj(depth):
    d = {}
    for _ in range(rng.randrange(7)):
        d[text()] = value(depth)
    if rng.random() < 0.3:  # keys of one length differing in the last byte
        d["key_a"], d["key_B"], d["key_\u00e0"] = 1, 2, 3
    return d


for i in range(count):
    doc = obj(0)
    if rng.random() < 0.8:
        doc["event_id"] = "evt-%d" % i
    print(json.dumps(doc, ensure_ascii=rng.random() < 0.5, allow_nan=False))
