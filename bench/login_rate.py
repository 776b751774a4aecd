#!/usr/bin/python3
"""bench/login_rate.py URL USER PASSWORD [N] [CONCURRENCY] — logins per second
against a running server (Argon2id at libsodium's interactive limits)."""
import json, sys, time, urllib.request
from concurrent.futures import ThreadPoolExecutor

url, user, password = sys.argv[1:4]
n = int(sys.argv[4]) if len(sys.argv) > 4 else 60
conc = int(sys.argv[5]) if len(sys.argv) > 5 else 4
body = json.dumps({"username": user, "password": password}).encode()

def one(_):
    t = time.perf_counter()
    req = urllib.request.Request(url + "/api/auth/login", data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req) as r:
        assert r.status == 200 and "access_token" in json.load(r)
    return (time.perf_counter() - t) * 1000

one(0)  # warm-up
t0 = time.perf_counter()
with ThreadPoolExecutor(conc) as pool:
    lat = sorted(pool.map(one, range(n)))
wall = time.perf_counter() - t0
print(json.dumps({"logins": n, "concurrency": conc, "wall_s": round(wall, 2),
                  "per_second": round(n / wall, 1), "p50_ms": round(lat[len(lat) // 2], 1),
                  "p99_ms": round(lat[min(len(lat) - 1, int(len(lat) * 0.99))], 1)}))
