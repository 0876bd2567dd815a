#!/usr/bin/env python3
"""First visit of the search page in headless Chromium: bytes transferred, load time, and keystroke to results.

    .venv/bin/python bench/first_visit.py [--people 10000] [--keystrokes 30] [--rounds 3] [--bin target/release]

Budgets (address-book issue): first visit of the search page ≤ 100 KB transferred (compressed); first result on
screen ≤ 300 ms after the first keystroke, on a local run; fast on a slow link.

Starts fd-local (release, SQLite, with its development IdP at /dev-idp) pinned to one core, provisions N synthetic
people over SCIM (bench/search.py's company and people), and signs in as user0@bench.example in headless Chromium
through the development IdP, as a person does. Then:

1. First visit, cold cache: the browser's cache is cleared, and the search page `/` is loaded (signed in), on the
   loopback link and on an emulated slow link ("Slow 4G": 150 ms round trip, 1.6 Mbit/s down, 750 kbit/s up, by the
   DevTools protocol's Network.emulateNetworkConditions), each as the browser asks for it (Accept-Encoding: gzip,
   deflate, br, zstd) and with `Accept-Encoding: identity` forced (what was sent before compression). For every
   request: bytes on the wire (headers and body, Network.loadingFinished's encodedDataLength from the performance
   log), body bytes as sent and decoded (Resource Timing's encodedBodySize and decodedBodySize), Content-Encoding;
   and the page's timings (first contentful paint, DOMContentLoaded, load), median of `--rounds` cold loads.
2. Keystroke to results: on the loaded page, a few lines of script injected by this benchmark (not part of the app)
   note `performance.now()` at the search box's keydown and again when a MutationObserver sees the result list
   (`#results`) change, and after the next animation frame (the update painted). Each of `--keystrokes` samples
   types one key: a single letter into the empty box, or the last letter of a prefix (the box holding the rest).
   The first sample is the first keystroke after the cold first visit. p50/p95/max, local link; then 10 samples on
   the emulated slow link, with gzip and with identity. The app's own 120 ms debounce is part of every figure.

Prints tables and writes bench/results/first-visit-<N>.json. A benchmark, not a test: it asserts nothing about the
figures. Needs Chromium and chromedriver (/usr/bin, or FD_CHROMIUM / FD_CHROMEDRIVER) and selenium in .venv
(infra/scripts/venv.sh, then `.venv/bin/pip install -r infra/requirements/browser.txt`, or run
infra/scripts/browser-tests.sh once).
"""
import argparse
import http.client
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "browser"))
os.environ.setdefault("SE_OFFLINE", "true")  # selenium must never try to download a driver
os.environ.setdefault("SE_AVOID_STATS", "true")

import search  # noqa: E402 (bench/search.py: fd-local, the company and its people)
from helpers import chromium_arguments, path_of, search_box, wait_for  # noqa: E402 (tests/browser/helpers.py)
from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.options import Options  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402

SLOW_4G = {"offline": False, "latency": 150, "downloadThroughput": 1_600_000 / 8, "uploadThroughput": 750_000 / 8}
LOOPBACK = {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}
SINGLE = list("amsjklgcepfhnrdbtoiz")
PREFIXES = ["ad", "ma", "ste", "jo", "kh", "lov", "gar", "mül", "+31", "eng"]

# Injected by the benchmark (not shipped in the app): keydown time, then the first change of the result list after
# it, and the next animation frame (the change painted).
PROBE_JS = r"""
if (!window.__fv) {
  const fv = window.__fv = {samples: [], pending: null};
  document.getElementById('q').addEventListener('keydown', () => { fv.pending = performance.now(); }, true);
  new MutationObserver(() => {
    const t0 = fv.pending;
    if (t0 === null) return;
    fv.pending = null;
    const dom = performance.now() - t0;
    requestAnimationFrame(() => setTimeout(() => {
      fv.samples.push({dom: dom, frame: performance.now() - t0,
                       count: document.getElementById('results').children.length});
    }, 0));
  }).observe(document.getElementById('results'), {childList: true});
}
"""

TIMINGS_JS = r"""
const nav = performance.getEntriesByType('navigation')[0];
const fcp = performance.getEntriesByName('first-contentful-paint')[0];
const sizes = {};
for (const e of [nav, ...performance.getEntriesByType('resource')]) {
  sizes[e.name] = {encoded: e.encodedBodySize, decoded: e.decodedBodySize, transfer: e.transferSize};
}
return {fcp: fcp ? fcp.startTime : null, dcl: nav.domContentLoadedEventEnd, load: nav.loadEventEnd,
        response_end: nav.responseEnd, sizes: sizes};
"""


def browser(profile):
    options = Options()
    options.binary_location = os.environ.get("FD_CHROMIUM", "/usr/bin/chromium")
    for argument in chromium_arguments(profile):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    driver = webdriver.Chrome(service=Service(os.environ.get("FD_CHROMEDRIVER", "/usr/bin/chromedriver")),
                              options=options)
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(30)
    return driver


def sign_in(driver, url, directory, user):
    """Through the company's sign-in page and the development IdP, as a person does; lands on the search page."""
    driver.get(f"{url}/of/bench")
    driver.find_element(By.CSS_SELECTOR, f'a[href*="/saml/{directory}/login"]').click()
    box = wait_for(driver, lambda d: path_of(d) == "/dev-idp" and d.find_elements(By.ID, "user"),
                   "the development IdP's page", timeout=20)[0]
    box.send_keys(user)
    box.submit()
    wait_for(driver, lambda d: path_of(d) == "/" and d.find_elements(By.ID, "q"), "the search page", timeout=60)


def network_log(driver):
    """The requests in the performance log since it was last read: url → status, mime type, content-encoding,
    bytes on the wire (headers + body), decoded body bytes, served from the cache."""
    requests = {}
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        method, params = message.get("method"), message.get("params", {})
        rid = params.get("requestId")
        if method == "Network.requestWillBeSent":
            requests[rid] = {"url": params["request"]["url"], "wire": 0, "decoded": 0, "cached": False}
        elif rid in requests:
            r = requests[rid]
            if method == "Network.responseReceived":
                response = params["response"]
                headers = {k.lower(): v for k, v in response.get("headers", {}).items()}
                r.update(status=response.get("status"), mime=response.get("mimeType"),
                         encoding=headers.get("content-encoding", ""),
                         cached=r["cached"] or response.get("fromDiskCache") or response.get("fromPrefetchCache"))
            elif method == "Network.dataReceived":
                r["decoded"] += params.get("dataLength", 0)
            elif method == "Network.requestServedFromCache":
                r["cached"] = True
            elif method == "Network.loadingFinished":
                r["wire"] = params.get("encodedDataLength", 0)
                r["done"] = True
    return [r for r in requests.values() if r.get("done")]


def first_visit(driver, url, link, encoding):
    """One cold load of `/`: the cache cleared, the link and Accept-Encoding set. Returns (requests, timings)."""
    driver.get("about:blank")
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd("Network.clearBrowserCache", {})
    driver.execute_cdp_cmd("Network.emulateNetworkConditions", link)
    driver.execute_cdp_cmd("Network.setExtraHTTPHeaders",
                           {"headers": {"Accept-Encoding": "identity"} if encoding == "identity" else {}})
    network_log(driver)  # forget what came before
    driver.get(f"{url}/")
    wait_for(driver, lambda d: d.execute_script("return document.readyState") == "complete"
             and d.find_elements(By.ID, "results"), "the search page, loaded", timeout=60)
    time.sleep(0.5)  # a late request (the icon) still counts
    timings = driver.execute_script(TIMINGS_JS)
    requests = network_log(driver)
    for r in requests:
        size = timings["sizes"].get(r["url"], {})
        r["body_sent"] = size.get("encoded")
        r["body_decoded"] = size.get("decoded", r["decoded"])
    del timings["sizes"]
    return requests, timings


def keystrokes(driver, keys, timeout=10):
    """Types each sample's key; returns the samples (ms from keydown to the list's change, and to the next frame)."""
    driver.execute_script(PROBE_JS)
    box = search_box(driver)
    out = []
    for key in keys:
        before = driver.execute_script("return window.__fv.samples.length")
        driver.execute_script("arguments[0].value = arguments[1]; arguments[0].focus();", box, key[:-1])
        box.send_keys(key[-1])
        wait_for(driver, lambda d: d.execute_script("return window.__fv.samples.length") > before,
                 f"the result list to change after typing {key!r}", timeout=timeout)
        sample = driver.execute_script("return window.__fv.samples[window.__fv.samples.length - 1]")
        out.append({"query": key, **sample})
        time.sleep(0.25)
    return out


def percentiles(values):
    ordered = sorted(values)
    return {"p50": round(statistics.median(ordered), 1),
            "p95": round(ordered[min(len(ordered) - 1, int(round(len(ordered) * 0.95)) - 1)], 1),
            "max": round(ordered[-1], 1)}


def kb(n):
    return f"{n / 1000:.1f}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--people", type=int, default=10000)
    ap.add_argument("--keystrokes", type=int, default=30)
    ap.add_argument("--rounds", type=int, default=3, help="cold loads per link and encoding (median timings)")
    ap.add_argument("--bin", default="target/release")
    args = ap.parse_args()
    bin_dir = os.path.join(ROOT, args.bin)
    data = tempfile.mkdtemp(prefix="fd-first-visit-")
    port = 3000 + random.randint(1000, 4000)
    url = f"http://127.0.0.1:{port}"
    server = search.start_server(bin_dir, data, port,
                                 ["--dev-idp", "--dev-idp-key", os.path.join(data, "dev-idp-key.pem")])
    driver = None
    try:
        directory, token, _ = search.set_up_company(bin_dir, data, url)
        seeded = search.seed_people(http.client.HTTPConnection("127.0.0.1", port), token, args.people)
        driver = browser(os.path.join(data, "profile"))
        sign_in(driver, url, directory, "user0@bench.example")
        results = {"people": args.people, "seed_seconds": round(seeded, 1), "visits": {}, "keystrokes": {}}

        print(f"First visit of the search page, {args.people} people, cold cache (median of {args.rounds} loads)\n")
        print(f"{'link':8} {'encoding':8} {'requests':>8} {'wire KB':>8} {'body KB':>8} {'decoded KB':>10} "
              f"{'FCP ms':>7} {'DCL ms':>7} {'load ms':>8}")
        detail = {}
        for link_name, link in (("loopback", LOOPBACK), ("slow-4g", SLOW_4G)):
            for encoding in ("gzip", "identity"):
                runs = [first_visit(driver, url, link, encoding) for _ in range(args.rounds)]
                requests = runs[-1][0]
                med = {k: round(statistics.median(t[k] for _, t in runs if t[k] is not None), 1)
                       for k in ("fcp", "dcl", "load", "response_end")}
                cached = [r["url"] for r in requests if r["cached"]]
                row = {"requests": [{"path": urllib.parse.urlsplit(r["url"]).path, "status": r.get("status"),
                                     "content_encoding": r.get("encoding", ""), "wire_bytes": r["wire"],
                                     "body_bytes_sent": r.get("body_sent"), "body_bytes_decoded": r["body_decoded"]}
                                    for r in requests],
                       "wire_bytes": sum(r["wire"] for r in requests),
                       "body_bytes_sent": sum(r.get("body_sent") or 0 for r in requests),
                       "body_bytes_decoded": sum(r["body_decoded"] or 0 for r in requests),
                       "timings_ms": med, "served_from_cache": cached}
                results["visits"][f"{link_name} {encoding}"] = row
                detail[(link_name, encoding)] = row
                print(f"{link_name:8} {encoding:8} {len(requests):8} {kb(row['wire_bytes']):>8} "
                      f"{kb(row['body_bytes_sent']):>8} {kb(row['body_bytes_decoded']):>10} {med['fcp']:7.0f} "
                      f"{med['dcl']:7.0f} {med['load']:8.0f}" + ("  (CACHED: " + ", ".join(cached) + ")"
                                                                  if cached else ""))
        print("\nPer request (loopback):")
        print(f"{'path':34} {'coding':7} {'wire B (gzip)':>13} {'decoded B':>10} {'wire B (identity)':>17}")
        plain = {r["path"]: r for r in detail[("loopback", "identity")]["requests"]}
        for r in detail[("loopback", "gzip")]["requests"]:
            other = plain.get(r["path"], {})
            print(f"{r['path'][:34]:34} {r['content_encoding'] or '-':7} {r['wire_bytes']:13} "
                  f"{r['body_bytes_decoded'] or 0:10} {other.get('wire_bytes', 0):17}")

        # Keystroke to results: the first sample is the first keystroke after the last cold first visit.
        first_visit(driver, url, LOOPBACK, "gzip")
        keys = (SINGLE + PREFIXES) * (args.keystrokes // 30 + 1)
        keys = [keys[0]] + random.Random(3).sample(keys[1:], min(args.keystrokes, len(keys)) - 1)
        local = keystrokes(driver, keys[:args.keystrokes])
        network_log(driver)
        driver.execute_cdp_cmd("Network.emulateNetworkConditions", SLOW_4G)
        slow = keystrokes(driver, keys[:10], timeout=30)
        api = [r for r in network_log(driver) if "/api/" in r["url"]]
        driver.execute_cdp_cmd("Network.setExtraHTTPHeaders", {"headers": {"Accept-Encoding": "identity"}})
        slow_identity = keystrokes(driver, keys[:10], timeout=30)
        network_log(driver)
        driver.execute_cdp_cmd("Network.setExtraHTTPHeaders", {"headers": {}})
        driver.execute_cdp_cmd("Network.emulateNetworkConditions", LOOPBACK)
        runs = (("loopback", local), ("slow-4g", slow), ("slow-4g identity", slow_identity))
        results["keystrokes"] = dict(runs)
        print("\nKeystroke to first result list update (ms; includes the app's 120 ms debounce)")
        print(f"{'link':16} {'n':>3} {'first':>7} {'p50':>7} {'p95':>7} {'max':>7}   next frame p50 / p95 / max")
        for name, samples in runs:
            dom = percentiles([s["dom"] for s in samples])
            frame = percentiles([s["frame"] for s in samples])
            results[f"keystroke {name}"] = {"dom_ms": dom, "frame_ms": frame, "first_ms": round(samples[0]["dom"], 1)}
            print(f"{name:16} {len(samples):3} {samples[0]['dom']:7.1f} {dom['p50']:7.1f} {dom['p95']:7.1f} "
                  f"{dom['max']:7.1f}   {frame['p50']:.1f} / {frame['p95']:.1f} / {frame['max']:.1f}")
        if api:
            contacts = [r for r in api if "/api/contacts" in r["url"]]
            facets = [r for r in api if "/api/facets" in r["url"]]
            for label, rs in (("/api/contacts", contacts), ("/api/facets", facets)):
                if rs:
                    wire = statistics.median(r["wire"] for r in rs)
                    decoded = statistics.median(r["decoded"] for r in rs)
                    results[f"api {label} median bytes"] = {"wire": wire, "decoded": decoded}
                    print(f"{label}: median {kb(wire)} KB on the wire, {kb(decoded)} KB decoded "
                          f"({len(rs)} responses, coding {rs[0].get('encoding') or 'identity'})")
        print(f"\nseeding {seeded:.1f} s")
        os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
        out = os.path.join(ROOT, "bench", "results", f"first-visit-{args.people}.json")
        with open(out, "w") as f:
            json.dump(results, f, indent=2)
        print(f"wrote {os.path.relpath(out, ROOT)}")
    finally:
        if driver is not None:
            driver.quit()
        server.terminate()
        server.wait()
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
