#!/usr/bin/env python3
"""Address-book search latency over HTTP: fd-local (release, SQLite) with N people in one company.

    python3 bench/search.py [--people 10000] [--rounds 200] [--bin target/release]

Starts fd-local pinned to one core (taskset -c 1 when available), creates a company with one directory, provisions
N synthetic people over SCIM (as Okta would), signs in through fd-dev-idp, then times GET /api/contacts and
GET /api/facets for 1-, 2- and 3-letter prefixes and multi-word queries, sequentially on one keep-alive
connection from this process (on the other core). The first request of each query (which may build the company's
index) is left out of the figures and reported separately as the cold build. Prints p50/p99 per query class and writes
bench/results/search.json. A benchmark, not a test: it asserts nothing about the figures.
"""
import argparse
import http.client
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse

GIVEN = ["Ada", "Alan", "Grace", "Charles", "Emmy", "Sofia", "José", "Maria", "Jan", "Pieter", "Anna", "Lars",
         "Mei", "Hiroshi", "Fatima", "Omar", "Priya", "Ravi", "Chloé", "Zoë", "Björn", "Søren", "Łukasz", "Ines"]
FAMILY = ["Lovelace", "Turing", "Hopper", "Babbage", "Noether", "Kovalevskaya", "Müller", "García", "de Vries",
          "Jansen", "Smith", "Nakamura", "Khan", "Haddad", "Patel", "Iyer", "Dubois", "Straße", "Nowak", "Rossi"]
TITLES = ["Engineer", "Analyst", "Manager", "Director", "Designer", "Accountant", "Recruiter", "Scientist"]
DEPARTMENTS = ["Engineering", "Finance", "Sales", "Marketing", "Research", "Support", "Legal", "People"]


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw).stdout


def start_server(bin_dir, data, port, extra_args=()):
    """fd-local on 127.0.0.1:`port` over the SQLite data directory `data`, pinned to core 1 when there are two or
    more; returns once it listens. `bench/first_visit.py` uses this too."""
    pin = ["taskset", "-c", "1"] if shutil.which("taskset") and os.cpu_count() and os.cpu_count() > 1 else []
    server = subprocess.Popen(pin + [os.path.join(bin_dir, "fd-local"), "--data-dir", data, "--addr",
                                     f"127.0.0.1:{port}", *extra_args],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    server.stdout.readline()
    return server


def set_up_company(bin_dir, data, url):
    """Company "bench" with directory "Okta", its SCIM token, and SAML sign-in through the development IdP at
    `url`/dev-idp (fd-dev-idp's key in `data`). Returns (directory id, token, environment for fd-dev-idp)."""
    admin = [os.path.join(bin_dir, "fd-admin"), "--data-dir", data]
    run(admin + ["company", "create", "bench", "--name", "Bench Corp"])
    directory = json.loads(run(admin + ["directory", "create", "Okta", "--company", "bench", "--json"]))["id"]
    token = json.loads(run(admin + ["key", "create", "--directory", directory, "--name", "Okta", "--json"]))["token"]
    env = dict(os.environ, FD_DEV_IDP_KEY=os.path.join(data, "dev-idp-key.pem"))
    cert = os.path.join(data, "idp.pem")
    with open(cert, "w") as f:
        f.write(run([os.path.join(bin_dir, "fd-dev-idp"), "certificate"], env=env))
    run(admin + ["saml", "set", "--directory", directory, "--login-url", f"{url}/dev-idp", "--certificate", cert,
                 "--public-url", url])
    return directory, token, env


def synthetic_person(i, rng):
    """The i-th synthetic person (userName user{i}@bench.example), as Okta provisions one."""
    given, family = rng.choice(GIVEN), rng.choice(FAMILY)
    return {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "userName": f"user{i}@bench.example", "displayName": f"{given} {family}",
        "name": {"givenName": given, "familyName": family}, "title": rng.choice(TITLES), "active": True,
        "emails": [{"value": f"user{i}@bench.example", "type": "work", "primary": True}],
        "phoneNumbers": [{"value": f"+31 20 {rng.randint(100, 999)} {rng.randint(1000, 9999)}", "type": "work"}],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": rng.choice(DEPARTMENTS)},
    }


def seed_people(conn, token, people):
    """Creates `people` synthetic people over SCIM on `conn` (always the same ones); returns the seconds taken."""
    rng = random.Random(7)
    started = time.time()
    for i in range(people):
        conn.request("POST", "/scim/v2/Users", json.dumps(synthetic_person(i, rng)),
                     {"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"})
        response = conn.getresponse()
        response.read()
        if response.status != 201:
            sys.exit(f"create {i}: {response.status}")
    return time.time() - started


def memory_kb(pid):
    """The process's anonymous resident memory (RssAnon: the heap, so the book and SQLite's page cache, not the
    memory-mapped database file) and its peak resident set (VmHWM), in KiB, from /proc."""
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("RssAnon", "VmHWM"):
                fields[key] = int(value.split()[0])
    return fields.get("RssAnon", 0), fields.get("VmHWM", 0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--people", type=int, default=10000)
    ap.add_argument("--rounds", type=int, default=200)
    ap.add_argument("--bin", default="target/release")
    args = ap.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    bin_dir = os.path.join(root, args.bin)
    data = tempfile.mkdtemp(prefix="fd-search-bench-")
    port = 3000 + random.randint(1000, 4000)
    url = f"http://127.0.0.1:{port}"
    server = start_server(bin_dir, data, port)
    try:
        directory, token, env = set_up_company(bin_dir, data, url)
        conn = http.client.HTTPConnection("127.0.0.1", port)
        seeded = seed_people(conn, token, args.people)

        form = run([os.path.join(bin_dir, "fd-dev-idp"), "response", "--directory", directory, "--user",
                    "user0@bench.example", "--public-url", url, "--format", "form"], env=env)
        conn.request("POST", f"/saml/{directory}/acs", form, {"Content-Type": "application/x-www-form-urlencoded"})
        response = conn.getresponse()
        response.read()
        cookie = response.getheader("Set-Cookie").split(";")[0]

        def timed(path):
            t = time.perf_counter()
            conn.request("GET", path, headers={"Cookie": cookie})
            r = conn.getresponse()
            r.read()
            if r.status != 200:
                sys.exit(f"{path}: {r.status}")
            return (time.perf_counter() - t) * 1000

        rss_before, _ = memory_kb(server.pid)
        cold = timed("/api/contacts?q=a")
        rss_after, _ = memory_kb(server.pid)
        classes = {
            "1 letter": ["a", "m", "s", "j", "k"],
            "2 letters": ["ad", "ma", "st", "jo", "ku"],
            "3 letters": ["ada", "mar", "str", "jos", "mül"],
            "multi-word": ["ada love", "maria gar", "jan de", "engineer sales", "+31 20"],
        }
        results = {"people": args.people, "seed_seconds": round(seeded, 1), "cold_first_search_ms": round(cold, 2)}
        for endpoint in ["contacts", "facets"]:
            for name, queries in classes.items():
                samples = []
                for q in queries:
                    path = f"/api/{endpoint}?q={urllib.parse.quote(q)}"
                    timed(path)
                    samples += [timed(path) for _ in range(args.rounds)]
                samples.sort()
                p50 = statistics.median(samples)
                p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))]
                results[f"{endpoint} {name}"] = {"p50_ms": round(p50, 3), "p99_ms": round(p99, 3)}
                print(f"{endpoint:9} {name:11} p50 {p50:7.3f} ms   p99 {p99:7.3f} ms")
        # A write, then the next search: the book applies the one changed person (no rebuild).
        after_write = []
        for i in range(30):
            patch = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                     "Operations": [{"op": "replace", "path": "title", "value": f"Title {i}"}]}
            conn.request("GET", f"/scim/v2/Users?filter=userName%20eq%20%22user{i + 1}%40bench.example%22",
                         headers={"Authorization": f"Bearer {token}"})
            user_id = json.loads(conn.getresponse().read())["Resources"][0]["id"]
            conn.request("PATCH", f"/scim/v2/Users/{user_id}", json.dumps(patch),
                         {"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"})
            r = conn.getresponse()
            r.read()
            if r.status != 200:
                sys.exit(f"patch {i}: {r.status}")
            after_write.append(timed("/api/contacts?q=a"))
        after_write.sort()
        results["search after one write"] = {"p50_ms": round(statistics.median(after_write), 3),
                                             "max_ms": round(after_write[-1], 3)}
        _, peak = memory_kb(server.pid)
        results["memory"] = {"anon_before_first_search_mb": round(rss_before / 1024, 1),
                             "anon_after_first_search_mb": round(rss_after / 1024, 1),
                             "book_mb": round((rss_after - rss_before) / 1024, 1),
                             "book_bytes_per_person": round((rss_after - rss_before) * 1024 / args.people),
                             "peak_rss_mb": round(peak / 1024, 1)}
        print(f"search after one write: p50 {statistics.median(after_write):.3f} ms, max {after_write[-1]:.3f} ms")
        print(f"memory: the book took {(rss_after - rss_before) / 1024:.1f} MB of heap "
              f"({(rss_after - rss_before) * 1024 / args.people:.0f} bytes a person; heap {rss_after / 1024:.1f} MB), "
              f"peak resident {peak / 1024:.1f} MB")
        print(f"cold first search (index build) {cold:.1f} ms; seeding {seeded:.1f} s")
        os.makedirs(os.path.join(root, "bench", "results"), exist_ok=True)
        with open(os.path.join(root, "bench", "results", f"search-{args.people}.json"), "w") as f:
            json.dump(results, f, indent=2)
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
