#!/usr/bin/env python3
"""gen_adapter_seeds.py FIXTURES OUT — the seed corpus of fuzz_adapters.c.

Turns every recorded answer in tests/fixtures/adapters/<platform>/*.http into
inputs in fuzz_adapters.c's format (header comment there): one classify at
each step, a whole attempt, a token refresh; plus a few multi-answer
Instagram attempts (happy path, resume, unknown publish).  Deterministic:
file names are the case names, so regenerating gives the same corpus.
"""
import os
import struct
import sys

ROWS = {"x": 0, "linkedin": 1, "instagram": 2}
IG_STEPS = range(1, 6)  # CREATE, STATUS, PUBLISH, RECHECK, PERMALINK
REFRESH_CASES = ("refresh_", "token_expired", "rate_limited", "malformed")


def response(path):
    raw = open(path, "rb").read().replace(b"\r\n", b"\n")
    head, _, body = raw.partition(b"\n\n")
    lines = head.split(b"\n")
    status = int(lines[0].split(b" ")[1])
    return struct.pack("<HB", status, 1) + b"\n".join(lines[1:]) + b"\n\n" + body


def seed(row, mode, ref, responses):
    return bytes([row, mode, ref]) + b"\n--\n".join(responses)


def main(fixtures, out):
    os.makedirs(out, exist_ok=True)
    seeds = {}
    for platform, row in ROWS.items():
        d = os.path.join(fixtures, platform)
        for name in sorted(os.listdir(d)):
            if not name.endswith(".http"):
                continue
            case = name[:-5]
            r = response(os.path.join(d, name))
            steps = IG_STEPS if platform == "instagram" else [0]
            for step in steps:
                seeds[f"{platform}-{case}-step{step}"] = seed(row, step << 2, 0, [r])
            seeds[f"{platform}-{case}-attempt"] = seed(row, 1, 0, [r])
            if case.startswith(REFRESH_CASES):
                seeds[f"{platform}-{case}-refresh"] = seed(row, 2, 0, [r])
    ig = lambda c: response(os.path.join(fixtures, "instagram", c + ".http"))
    seeds["instagram-happy-path"] = seed(2, 1, 0, [
        ig("container_created"), ig("status_in_progress"), ig("status_finished"),
        ig("published"), ig("permalink")])
    seeds["instagram-resume-expired"] = seed(2, 1, 1, [
        ig("status_expired"), ig("container_created")])
    seeds["instagram-unknown-publish"] = seed(2, 1, 1, [
        ig("status_finished"), struct.pack("<HB", 0, 3), ig("status_finished"),
        ig("server_error"), ig("status_published")])
    seeds["parsers-http-date"] = bytes([0, 3, 0]) + b"Thu, 01 Jan 2026 00:02:00 GMT"
    for name, data in seeds.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
    print(f"{len(seeds)} seeds in {out}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
