"""Small helpers for the browser tests: bounded waits, plain HTTP with a session cookie, the result list of the
search page, vCard parsing and axe-core.

Every wait here is bounded (a few seconds): when the pages misbehave, a test fails with a message that says what
it waited for, where the browser was and what it showed, never hangs.
"""

from __future__ import annotations

import json
import os
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from selenium.common.exceptions import JavascriptException, WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

# How long a wait for the page may take, in seconds (fd-local is a debug build on a 2-core machine).
WAIT = float(os.environ.get("FD_BROWSER_WAIT", "6"))

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("FD_BROWSER_ARTIFACTS", REPO / "target" / "browser-artifacts"))

COMPANY = "acme"
COMPANY_NAME = "Acme Corp"
DESKTOP = (1280, 900)
PHONE = (360, 740)

# The hostile profile's strings.
SCRIPT = "<script>window.__pwned=1</script>"
IMG = '"><img src=x onerror="window.__pwned=1">'
JS_URL = "javascript:window.__pwned=1"
RLO = "\u202e"
LONG_TITLE = ("Chief" + "".join(f"Synergy{i:04d}" for i in range(400)))[:4000]


# --------------------------------------------------------------------------------------------------------------
# Chromium


def chromium_arguments(profile: Path | str, size: tuple[int, int] = DESKTOP) -> list[str]:
    """The command-line flags of a headless Chromium with its own fresh profile directory, quiet, that resolves
    nothing but loopback (the tests and bench/first_visit.py start Chromium with these)."""
    return ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--no-first-run", "--no-default-browser-check", "--disable-extensions",
            "--disable-features=Translate,OptimizationHints,MediaRouter",
            # Nothing but loopback resolves: a page can never load anything remote.
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            f"--user-data-dir={profile}", f"--window-size={size[0]},{size[1]}", "--lang=en-US"]


# --------------------------------------------------------------------------------------------------------------
# Waiting and describing what the browser shows


def describe(driver) -> str:
    """Where the browser is and the start of what it shows, for assertion messages."""
    try:
        url = driver.current_url
        title = driver.title
        text = driver.execute_script("return document.body ? document.body.innerText : ''") or ""
    except WebDriverException as error:  # the browser itself is gone or stuck
        return f"(browser state unavailable: {error.msg})"
    text = " ".join(text.split())
    if len(text) > 400:
        text = text[:400] + "…"
    return f"at {url} (title {title!r}), page text: {text!r}"


def wait_for(driver, condition, what: str, timeout: float = WAIT, poll: float = 0.1):
    """Polls `condition(driver)` until it returns something truthy, and returns that; fails after `timeout`
    seconds with a message naming `what` was awaited and what the browser showed."""
    deadline = time.monotonic() + timeout
    last_error = None
    while True:
        try:
            value = condition(driver)
            if value:
                return value
        except (JavascriptException, WebDriverException, LookupError, ValueError) as error:
            last_error = error
        if time.monotonic() >= deadline:
            detail = f"; last error: {getattr(last_error, 'msg', None) or last_error}" if last_error else ""
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}{detail}; {describe(driver)}")
        time.sleep(poll)


def one(driver, css: str, what: str | None = None):
    """The first element matching `css`; fails with what the browser shows when there is none."""
    found = driver.find_elements(By.CSS_SELECTOR, css)
    assert found, f"no {what or css} on the page; {describe(driver)}"
    return found[0]


def path_of(driver) -> str:
    return urllib.parse.urlsplit(driver.current_url).path


def query_of(driver) -> dict[str, list[str]]:
    return urllib.parse.parse_qs(urllib.parse.urlsplit(driver.current_url).query)


def served(driver) -> bool:
    """Whether the browser shows a page the server sent (not one of its own error pages)."""
    return driver.execute_script("return location.protocol") in ("http:", "https:")


def wait_for_path(driver, expected: str, timeout: float = WAIT) -> None:
    wait_for(driver, lambda d: path_of(d) == expected and served(d), f"the browser to show {expected}", timeout)


def h1_text(driver) -> str:
    """The first `<h1>`'s text, whitespace collapsed."""
    headings = driver.find_elements(By.TAG_NAME, "h1")
    assert headings, f"no <h1> on the page; {describe(driver)}"
    return " ".join(headings[0].text.split())


def set_marker(driver, value: str) -> None:
    """Puts a marker on `window`: it survives only as long as no page load happens."""
    driver.execute_script("window.__fdMarker = arguments[0];", value)


def marker(driver):
    return driver.execute_script("return window.__fdMarker === undefined ? null : window.__fdMarker;")


# --------------------------------------------------------------------------------------------------------------
# The search page


RESULTS_JS = r"""
const out = [];
for (const a of document.querySelectorAll('li a[href]')) {
  let url;
  try { url = new URL(a.href, document.baseURI); } catch (e) { continue; }
  if (url.origin !== location.origin) continue;
  const m = /^\/contacts\/([^\/]+)$/.exec(url.pathname);
  if (!m || m[1].endsWith('.vcf')) continue;
  const li = a.closest('li');
  out.push({id: decodeURIComponent(m[1]), text: a.innerText, item: li ? li.innerText : a.innerText});
}
return out;
"""


@dataclass
class Result:
    id: str
    text: str  # the link's text
    item: str  # the whole list item's text

    @property
    def deactivated(self) -> bool:
        return "deactivated" in self.item.lower()


def results(driver) -> list[Result]:
    """The search results shown: links to /contacts/{id} inside list items."""
    return [Result(r["id"], " ".join(r["text"].split()), " ".join(r["item"].split()))
            for r in driver.execute_script(RESULTS_JS)]


def result_names(driver) -> list[str]:
    return [r.text for r in results(driver)]


def search_box(driver):
    boxes = driver.find_elements(By.CSS_SELECTOR, 'input[type="search"][name="q"]')
    assert boxes, f'no <input type="search" name="q"> on the page; {describe(driver)}'
    return boxes[0]


def result_count_text(driver) -> str:
    elements = driver.find_elements(By.ID, "result-count")
    assert elements, f"no element with id result-count; {describe(driver)}"
    return " ".join(elements[0].text.split())


def type_query(driver, text: str) -> None:
    """Replaces the search box's text by typing, as a person does (select all, then type)."""
    box = search_box(driver)
    box.click()
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(Keys.BACKSPACE)
    if text:
        box.send_keys(text)


def wait_for_results(driver, predicate, what: str, timeout: float = WAIT) -> list[Result]:
    """Waits until the result list satisfies `predicate(list of Result)` in a loaded document, twice in a row a
    moment apart (a list caught half-way through a page load or an update does not count); returns the list."""
    state = {"since": None}

    def check(d):
        ready = d.execute_script("return document.readyState") == "complete"
        found = results(d) if ready else []
        if not (ready and predicate(found)):
            state["since"] = None
            return None
        if state["since"] is None:
            state["since"] = time.monotonic()
            return None
        return (found,) if time.monotonic() - state["since"] >= 0.3 else None
    try:
        return wait_for(driver, check, what, timeout)[0]
    except AssertionError as error:
        shown = [r.item for r in results(driver)]
        raise AssertionError(f"{error}\nresults shown: {shown}") from None


def find_result(found: list[Result], display_name: str) -> Result | None:
    return next((r for r in found if display_name in r.text), None)


def submit_form_of(driver, element) -> None:
    """Submits the form an element belongs to, as its submit button would (script may handle it in place)."""
    driver.execute_script(
        "const f = arguments[0].form; if (!f) throw new Error('not in a form');"
        " if (f.requestSubmit) f.requestSubmit(); else f.submit();",
        element,
    )


def reveal(driver, element):
    """Makes a control visible as a person would: opens the closed `<details>` disclosures it sits in by clicking
    their `<summary>`. Returns the element."""
    for _ in range(5):
        if element.is_displayed():
            return element
        summary = driver.execute_script(
            "const d = arguments[0].closest('details:not([open])');"
            "return d ? d.querySelector(':scope > summary') : null;", element)
        if summary is None:
            break
        summary.click()
    assert element.is_displayed(), f"{element.tag_name} {element.get_attribute('name')!r} is not visible; " \
        f"{describe(driver)}"
    return element


FACET_OPTION = re.compile(r"^(?P<value>.+) \((?P<count>\d+)\)$")


def facet_options(driver, name: str) -> list[tuple[str, int, object]]:
    """(value, count, option element) of the options of `<select name=NAME>` whose text is "value (count)"."""
    selects = driver.find_elements(By.CSS_SELECTOR, f'select[name="{name}"]')
    assert selects, f'no <select name="{name}"> on the search page; {describe(driver)}'
    reveal(driver, selects[0])
    out = []
    for option in selects[0].find_elements(By.TAG_NAME, "option"):
        text = " ".join((option.get_attribute("textContent") or "").split())
        m = FACET_OPTION.match(text)
        if m:
            out.append((m["value"], int(m["count"]), option))
    return out


# --------------------------------------------------------------------------------------------------------------
# Plain HTTP (urllib), with or without the browser's session cookie


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes
    all_headers: list[tuple[str, str]] = field(default_factory=list)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError:
            raise AssertionError(f"not JSON (status {self.status}): {self.text()[:300]!r}") from None


def http(method: str, url: str, *, cookie: str | None = None, body: bytes | None = None,
         headers: dict[str, str] | None = None, timeout: float = 10) -> Reply:
    """One request, redirects not followed; any status is returned, not raised."""
    request = urllib.request.Request(url, data=body, method=method)
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    if cookie:
        request.add_header("Cookie", cookie)
    try:
        response = _OPENER.open(request, timeout=timeout)
    except urllib.error.HTTPError as error:  # 3xx (not followed), 4xx, 5xx
        response = error
    with response:
        data = response.read()
        pairs = list(response.headers.items())
        status = getattr(response, "status", None) or response.code
        return Reply(status, {k.lower(): v for k, v in pairs}, data, pairs)


def session_cookie(driver) -> str:
    """The browser's session cookie as a `Cookie` header value (WebDriver sees HttpOnly cookies too)."""
    cookies = driver.get_cookies()
    session = [c for c in cookies if c["name"] == "fd_session" and c.get("value")]
    assert session, f"the browser holds no fd_session cookie (cookies: {[c['name'] for c in cookies]})"
    return f"fd_session={session[0]['value']}"


# --------------------------------------------------------------------------------------------------------------
# vCard (RFC 6350 / 2426)


@dataclass
class VCard:
    raw: bytes
    lines: list[tuple[str, dict[str, list[str]], str]]  # (NAME, params, value) in order

    def values(self, name: str) -> list[str]:
        return [value for n, _, value in self.lines if n == name.upper()]

    def first(self, name: str) -> str:
        found = self.values(name)
        assert found, f"vCard has no {name}: {self.raw.decode('utf-8', 'replace')}"
        return found[0]


def parse_vcard(raw: bytes) -> VCard:
    """Checks the physical format (CRLF only, lines of at most 75 octets), unfolds at the byte level (a fold may
    fall inside a UTF-8 sequence: RFC 6350 §3.2), and splits each content line into name, parameters, value."""
    assert raw, "empty vCard"
    assert raw.endswith(b"\r\n"), f"vCard does not end with CRLF: {raw[-20:]!r}"
    physical = raw[:-2].split(b"\r\n")
    for number, line in enumerate(physical, 1):
        assert b"\n" not in line and b"\r" not in line, f"vCard line {number} has a bare CR or LF: {line[:80]!r}"
        assert len(line) <= 75, f"vCard line {number} is {len(line)} octets (at most 75): {line[:80]!r}…"
    logical: list[bytes] = []
    for line in physical:
        if line[:1] in (b" ", b"\t") and logical:
            logical[-1] += line[1:]
        else:
            logical.append(line)
    parsed = []
    for line in logical:
        text = line.decode("utf-8")  # strict: the unfolded vCard must be UTF-8
        head, sep, value = _split_unquoted(text, ":")
        assert sep, f"vCard content line without ':': {text[:80]!r}"
        parts = _split_all_unquoted(head, ";")
        name = parts[0].split(".")[-1].upper()  # drop a group prefix
        params: dict[str, list[str]] = {}
        for part in parts[1:]:
            key, _, val = part.partition("=")
            params.setdefault(key.upper(), []).extend(v.strip('"') for v in val.split(",") if val)
        parsed.append((name, params, value))
    card = VCard(raw, parsed)
    assert card.lines[0][0] == "BEGIN" and card.lines[0][2].upper() == "VCARD", "vCard does not start with BEGIN:VCARD"
    assert card.lines[-1][0] == "END" and card.lines[-1][2].upper() == "VCARD", "vCard does not end with END:VCARD"
    return card


def _split_unquoted(text: str, sep: str) -> tuple[str, str, str]:
    quoted = False
    for i, ch in enumerate(text):
        if ch == '"':
            quoted = not quoted
        elif ch == sep and not quoted:
            return text[:i], sep, text[i + 1:]
    return text, "", ""


def _split_all_unquoted(text: str, sep: str) -> list[str]:
    out = []
    while True:
        head, found, rest = _split_unquoted(text, sep)
        out.append(head)
        if not found:
            return out
        text = rest


def vcard_components(value: str, sep: str = ";") -> list[str]:
    """Splits a structured value (N, ADR) on unescaped separators and unescapes each component."""
    parts, current, i = [], "", 0
    while i < len(value):
        ch = value[i]
        if ch == "\\" and i + 1 < len(value):
            current += ch + value[i + 1]
            i += 2
            continue
        if ch == sep:
            parts.append(vcard_unescape(current))
            current = ""
        else:
            current += ch
        i += 1
    parts.append(vcard_unescape(current))
    return parts


def vcard_unescape(value: str) -> str:
    return re.sub(r"\\(.)", lambda m: "\n" if m.group(1) in "nN" else m.group(1), value)


def digits(phone: str) -> str:
    """A phone number's '+' and digits only (what a tel: URI or a vCard may normalise it to)."""
    return "".join(ch for ch in phone if ch.isdigit() or ch == "+")


# --------------------------------------------------------------------------------------------------------------
# axe-core


def axe_source() -> str:
    """axe.min.js, from FD_AXE_JS (the test script sets it) or the script's install place."""
    configured = os.environ.get("FD_AXE_JS")
    candidates = [Path(configured)] if configured else sorted(
        (REPO / "tests" / "browser" / ".cache").glob("axe-core-*/node_modules/axe-core/axe.min.js"))
    for candidate in candidates:
        if candidate.is_file():
            return candidate.read_text(encoding="utf-8")
    raise AssertionError("axe.min.js not found: run infra/scripts/browser-tests.sh (it installs axe-core with npm), "
                         "or set FD_AXE_JS to its path")


def run_axe(driver, source: str) -> list[dict]:
    """Runs axe-core on the current page; returns its violations."""
    if not driver.execute_script("return typeof window.axe === 'object' && typeof window.axe.run === 'function';"):
        driver.execute_script(source)
    result = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {resultTypes: ['violations']})"
        "  .then(r => done({ok: true, violations: r.violations}))"
        "  .catch(e => done({ok: false, error: String(e)}));"
    )
    assert result and result.get("ok"), f"axe-core failed to run: {result}"
    return result["violations"]


def format_violations(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        targets = [" ".join(map(str, node.get("target", []))) for node in v.get("nodes", [])][:5]
        lines.append(f"- [{v.get('impact')}] {v.get('id')}: {v.get('help')} ({len(v.get('nodes', []))} nodes: "
                     f"{targets}) {v.get('helpUrl', '')}")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------------------------
# Screenshots


def screenshot(driver, name: str) -> Path:
    """Saves a PNG of what the browser shows to the artefacts folder; returns its path."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    assert driver.save_screenshot(str(path)), f"screenshot {name} failed"
    return path
