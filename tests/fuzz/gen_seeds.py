#!/usr/bin/env python3
"""Writes the seed corpus for fuzz_jwt (corpus/jwt/), signed with the
target's fixed key (bytes 0x41..0x60) so the valid seed verifies."""
import base64, hashlib, hmac, json, os, sys

KEY = bytes(range(0x41, 0x61))
NOW = 1800000000
out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus", "jwt")
os.makedirs(out, exist_ok=True)

def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()

def tok(hdr, pl, md=hashlib.sha256):
    si = b64u(json.dumps(hdr, separators=(",", ":")).encode()) + "." + \
         b64u(json.dumps(pl, separators=(",", ":")).encode())
    return si + "." + b64u(hmac.new(KEY, si.encode(), md).digest())

H = {"alg": "HS256", "typ": "at+jwt", "kid": "k1"}
P = {"iss": "https://caas.test", "aud": "caas-api",
     "sub": "0b9c3a1e-5f4d-4c2b-9a8e-7d6c5b4a3f21",
     "iat": NOW, "nbf": NOW, "exp": NOW + 900, "jti": "00" * 16}
seeds = {
    "valid": tok(H, P),
    "aud_array": tok(H, dict(P, aud=["x", "caas-api"])),
    "expired": tok(H, dict(P, exp=NOW - 100)),
    "alg_none": tok(dict(H, alg="none"), P).rsplit(".", 1)[0] + ".",
    "hs512": tok(dict(H, alg="HS512"), P, hashlib.sha512),
    "crit": tok(dict(H, crit=["exp"]), P),
    "header_json": json.dumps(H),
    "payload_json": json.dumps(P),
}
for name, s in seeds.items():
    with open(os.path.join(out, name), "w") as f:
        f.write(s)
