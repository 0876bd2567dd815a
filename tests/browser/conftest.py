"""Fixtures of the real-browser tests.

One session builds one world, as in production but on this machine only:
  - a fresh SQLite data directory; `fd-admin` creates company "acme" with two directories ("Okta EU", "Okta US"),
    an access key for each, and each directory's SAML sign-in pointing at `idp`;
  - `idp`: a development IdP login endpoint run here (`http.server` on a free loopback port). It answers the
    HTTP-Redirect binding (`GET /sso?SAMLRequest=…&RelayState=…`) with the auto-posting page `fd-dev-idp` signs,
    for whoever the test chose (`world.idp.next_user`), in response to that very AuthnRequest;
  - `fd-local` on a free loopback port over that data directory;
  - people provisioned over SCIM as Okta provisions them (a manager and her report, accents, a deactivated person,
    people of the second directory, a hostile profile);
  - headless Chromium through `/usr/bin/chromedriver`, each browser with its own fresh profile.

Binaries come from FD_BIN_DIR (default target/debug), as for the Rust end-to-end tests; screenshots go to
FD_BROWSER_ARTIFACTS (default target/browser-artifacts).
"""

from __future__ import annotations

import base64
import contextlib
import ctypes
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import urllib.parse
import zlib
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from xml.etree import ElementTree

import pytest
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

import helpers
from helpers import (ARTIFACTS, COMPANY, COMPANY_NAME, DESKTOP, IMG, JS_URL, LONG_TITLE, PHONE, REPO, RLO, SCRIPT,
                     WAIT, describe, path_of, wait_for)

BIN_DIR = Path(os.environ.get("FD_BIN_DIR") or REPO / "target" / "debug")
CHROMIUM = os.environ.get("FD_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("FD_CHROMEDRIVER", "/usr/bin/chromedriver")

# Selenium must never try to download a driver or a browser (the machine has no network but loopback).
os.environ.setdefault("SE_OFFLINE", "true")
os.environ.setdefault("SE_AVOID_STATS", "true")

# The processes run with a clean environment: no store or URL settings leak in from the caller's shell.
CHILD_ENV = {k: v for k, v in os.environ.items()
             if k not in {"FD_DATA_DIR", "FD_DYNAMODB_TABLE", "FD_SECRET_ID", "FD_SESSION_SECRET_ID",
                          "FD_PUBLIC_URL", "FD_DEV_IDP_KEY"}}


# --------------------------------------------------------------------------------------------------------------
# The binaries


def _dep_info(path: Path) -> list[Path]:
    """The repository's files cargo built the binary from, as its dep-info file (`NAME.d` beside it) lists them."""
    try:
        text = (path.parent / f"{path.name}.d").read_text()
    except OSError:
        return []
    _, _, deps = text.partition(": ")
    files = [Path(p.replace("\\ ", " ")) for p in re.split(r"(?<!\\) ", deps.split("\n")[0]) if p]
    return [p for p in files if REPO in p.parents]


def binary(name: str) -> Path:
    """A binary from FD_BIN_DIR; one older than a source it was built from is refused (a leftover is never tested),
    unless FD_BROWSER_ALLOW_STALE=1."""
    path = BIN_DIR / name
    if not path.is_file():
        pytest.fail(f"{path} is missing: build it first (cargo build -p fd-local -p fd-admin -p fd-dev-idp), or "
                    f"point FD_BIN_DIR at the binaries", pytrace=False)
    if os.environ.get("FD_BROWSER_ALLOW_STALE") != "1":
        built = path.stat().st_mtime
        newer = [p for p in _dep_info(path) if p.exists() and p.stat().st_mtime > built]
        if newer:
            newest = max(newer, key=lambda p: p.stat().st_mtime)
            pytest.fail(f"{path} is older than {newest.relative_to(REPO)}: rebuild it (cargo build -p fd-local "
                        f"-p fd-admin -p fd-dev-idp) so the pages tested are this tree's", pytrace=False)
    return path


def run(command: list, *, timeout: float = 30) -> str:
    try:
        done = subprocess.run([str(c) for c in command], capture_output=True, text=True, timeout=timeout,
                              env=CHILD_ENV, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"{' '.join(map(str, command))} did not finish within {timeout:.0f} s") from None
    if done.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, command))} failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout


class Admin:
    """`fd-admin --data-dir DIR …`."""

    def __init__(self, data_dir: Path):
        self.bin = binary("fd-admin")
        self.data_dir = data_dir

    def __call__(self, *args: str) -> str:
        return run([self.bin, "--data-dir", self.data_dir, *args])

    def json(self, *args: str):
        out = self(*args, "--json")
        try:
            return json.loads(out)
        except ValueError:
            raise AssertionError(f"fd-admin {' '.join(args)} --json printed no JSON: {out!r}") from None


# --------------------------------------------------------------------------------------------------------------
# The development IdP login endpoint


@dataclass
class IdpEvent:
    directory: str
    user: str | None
    request_id: str
    relay_state: str | None
    error: str | None = None


class DevIdp:
    """Answers `GET /sso?SAMLRequest=…` (HTTP-Redirect binding) with `fd-dev-idp`'s auto-posting page, signing
    in `next_user` (chosen by the test) in response to that AuthnRequest."""

    def __init__(self, key: Path):
        self.bin = binary("fd-dev-idp")
        self.key = key
        self.public_url: str | None = None  # fd-local's origin, once it runs
        self.next_user: str | None = None
        self.events: list[IdpEvent] = []
        self._lock = threading.Lock()
        idp = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                idp._answer(self)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/sso"
        self.thread = threading.Thread(target=self.server.serve_forever, name="dev-idp", daemon=True)

    def start(self):
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def certificate(self) -> str:
        return run([self.bin, "--key", self.key, "certificate"])

    def log(self) -> str:
        return "; ".join(f"{e.user}@{e.directory} id={e.request_id} relay={e.relay_state!r}"
                         + (f" ERROR {e.error}" if e.error else "") for e in self.events) or "(no requests)"

    def _answer(self, handler: BaseHTTPRequestHandler):
        split = urllib.parse.urlsplit(handler.path)
        params = urllib.parse.parse_qs(split.query)
        if split.path != "/sso" or "SAMLRequest" not in params:
            self._send(handler, 404, "text/plain", "not a SAML request")
            return
        relay = params.get("RelayState", [None])[0]
        try:
            xml = zlib.decompress(base64.b64decode(params["SAMLRequest"][0]), -15).decode("utf-8")
            root = ElementTree.fromstring(xml)
            request_id = root.get("ID") or ""
            acs = root.get("AssertionConsumerServiceURL") or ""
            issuer = "".join(el.text or "" for el in root.iter() if el.tag.endswith("}Issuer"))
            m = re.search(r"/saml/([^/]+)/acs$", acs) or re.search(r"/saml/([^/]+)/metadata$", issuer)
            if not request_id or not m:
                raise ValueError(f"no ID or no directory in the AuthnRequest: {xml[:300]}")
            directory = urllib.parse.unquote(m.group(1))
        except (ValueError, zlib.error, ElementTree.ParseError) as error:
            self.events.append(IdpEvent("?", self.next_user, "?", relay, f"bad AuthnRequest: {error}"))
            self._send(handler, 400, "text/plain", f"bad AuthnRequest: {error}")
            return
        with self._lock:
            user = self.next_user
        event = IdpEvent(directory, user, request_id, relay)
        self.events.append(event)
        if not user:
            event.error = "no user chosen"
            self._send(handler, 403, "text/html", "<h1>Development IdP: no user chosen by the test</h1>")
            return
        command = [self.bin, "--key", self.key, "response", "--directory", directory, "--user", user,
                   "--in-response-to", request_id, "--format", "html", "--public-url", self.public_url]
        if relay is not None:
            command += ["--relay-state", relay]
        try:
            page = run(command)
        except AssertionError as error:
            event.error = str(error)
            self._send(handler, 500, "text/plain", str(error))
            return
        self._send(handler, 200, "text/html; charset=utf-8", page)

    @staticmethod
    def _send(handler, status: int, content_type: str, body: str):
        data = body.encode("utf-8")
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(data)))
        handler.send_header("Cache-Control", "no-store")
        handler.end_headers()
        handler.wfile.write(data)


# --------------------------------------------------------------------------------------------------------------
# fd-local


try:
    _LIBC = ctypes.CDLL(None, use_errno=True)
except OSError:  # not Linux: no parent-death signal
    _LIBC = None


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM when the test process dies, however it dies (PR_SET_PDEATHSIG)."""
    if _LIBC is not None:
        _LIBC.prctl(1, signal.SIGTERM)


class LocalServer:
    """`fd-local --addr 127.0.0.1:0 --data-dir DIR`, its log (stderr) in a file."""

    def __init__(self, data_dir: Path, log: Path):
        self.log = log
        with open(log, "wb") as stderr:
            self.process = subprocess.Popen(
                [str(binary("fd-local")), "--addr", "127.0.0.1:0", "--data-dir", str(data_dir)],
                stdout=subprocess.PIPE, stderr=stderr, stdin=subprocess.DEVNULL, env=CHILD_ENV, text=True,
                preexec_fn=_die_with_parent)
        lines: queue.Queue = queue.Queue()

        def drain():  # keep reading stdout so the server never blocks on a full pipe
            for line in self.process.stdout:
                lines.put(line)
            lines.put(None)

        threading.Thread(target=drain, name="fd-local-stdout", daemon=True).start()
        try:
            first = lines.get(timeout=30)
        except queue.Empty:
            self.stop()
            raise AssertionError(f"fd-local printed nothing within 30 s; log: {self.log_tail()}") from None
        if first is None or not first.startswith("SCIM base URL: "):
            self.stop()
            raise AssertionError(f"fd-local did not start (first line {first!r}); log: {self.log_tail()}")
        self.scim_base = first.strip().removeprefix("SCIM base URL: ")
        self.origin = self.scim_base.removesuffix("/scim/v2")

    def log_tail(self, chars: int = 2000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return "(no log)"

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


# --------------------------------------------------------------------------------------------------------------
# SCIM, as Okta calls it


class Scim:
    def __init__(self, base: str, token: str):
        self.base = base
        self.token = token

    def call(self, method: str, path: str, body=None):
        reply = helpers.http(
            method, self.base + path, body=None if body is None else json.dumps(body).encode("utf-8"),
            headers={"Authorization": f"Bearer {self.token}", "Accept": "application/scim+json",
                     "Content-Type": "application/scim+json; charset=utf-8", "User-Agent": "Okta SCIM Client 1.0.0"})
        return reply.status, (reply.json() if reply.body else None)

    def create(self, user: dict) -> dict:
        status, body = self.call("POST", "/Users", user)
        assert status == 201, f"SCIM POST /Users for {user['userName']} answered {status}: {body}"
        return body

    def set_active(self, user_id: str, active: bool) -> dict:
        status, body = self.call("PATCH", f"/Users/{user_id}", {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "value": {"active": active}}],
        })
        assert status == 200, f"SCIM PATCH active={active} answered {status}: {body}"
        assert body["active"] is active, body
        return body


USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def okta_user(user_name: str, display: str, given: str, family: str, *, title=None, department=None, division=None,
              phone=None, mobile=None, address=None, profile_url=None, manager=None, active=True, **extra) -> dict:
    """A user as Okta's SCIM client sends it (see docs/okta-mapping.md)."""
    user = {
        "schemas": [USER, ENTERPRISE],
        "userName": user_name,
        "displayName": display,
        "name": {"givenName": given, "familyName": family},
        "emails": [{"value": user_name, "type": "work", "primary": True}],
        "active": active,
        "externalId": "00u" + re.sub(r"[^a-z0-9]", "", user_name.lower())[:14],
    }
    if title is not None:
        user["title"] = title
    if profile_url is not None:
        user["profileUrl"] = profile_url
    phones = []
    if phone:
        phones.append({"value": phone, "type": "work", "primary": True})
    if mobile:
        phones.append({"value": mobile, "type": "mobile"})
    if phones:
        user["phoneNumbers"] = phones
    if address:
        user["addresses"] = [{"type": "work", "primary": True, **address}]
    enterprise = {}
    if department is not None:
        enterprise["department"] = department
    if division is not None:
        enterprise["division"] = division
    if manager is not None:
        enterprise["manager"] = {"displayName": manager}
    enterprise.update(extra.pop("enterprise", {}))
    if enterprise:
        user[ENTERPRISE] = enterprise
    user.update(extra)
    return user


@dataclass
class Person:
    key: str
    user_name: str
    display_name: str
    directory: str  # "eu" or "us"
    sent: dict
    id: str = ""


@dataclass
class World:
    tmp: Path
    data_dir: Path
    admin: Admin
    idp: DevIdp
    server: LocalServer
    directories: dict[str, str]  # "eu"/"us" → directory id
    directory_names: dict[str, str]
    scim: dict[str, Scim]  # "eu"/"us" → client
    people: dict[str, Person] = field(default_factory=dict)
    hostile_notes: list[str] = field(default_factory=list)

    @property
    def origin(self) -> str:
        return self.server.origin

    def url(self, path: str) -> str:
        return self.origin + path

    def __getitem__(self, key: str) -> Person:
        return self.people[key]

    # ---- sign-in through the IdP, as a person does it in the browser

    def sign_in_control(self, driver, person: Person):
        """The "Sign in with Okta" link or button of the person's directory on the company's sign-in page."""
        directory = self.directories[person.directory]
        candidates = []
        for element in driver.find_elements(By.CSS_SELECTOR, "a, button, input[type=submit]"):
            label = " ".join((element.text or element.get_attribute("value") or "").split())
            if "Sign in with Okta" not in label:
                continue
            target = element.get_attribute("href") if element.tag_name == "a" else \
                driver.execute_script("const e = arguments[0]; return e.formAction || (e.form && e.form.action);",
                                      element)
            candidates.append((label, target))
            if target and urllib.parse.urlsplit(target).path == f"/saml/{directory}/login":
                return element
        raise AssertionError(f"no 'Sign in with Okta' control leading to /saml/{directory}/login (directory "
                             f"{self.directory_names[person.directory]!r}); found {candidates}; {describe(driver)}")

    def sign_in(self, driver, person: Person, *, expect_path: str = "/") -> None:
        """From the sign-in start page (`/of`) or the company's sign-in page (`/of/acme`), signs `person` in
        through the IdP and waits to land on `expect_path`."""
        if path_of(driver) == "/of":
            box = driver.find_elements(By.CSS_SELECTOR, 'input[name="company"]')
            assert box, f"no input named company on /of; {describe(driver)}"
            box[0].clear()
            box[0].send_keys(COMPANY)
            helpers.submit_form_of(driver, box[0])
        wait_for(driver, lambda d: path_of(d) == f"/of/{COMPANY}", f"the company's sign-in page /of/{COMPANY}")
        control = self.sign_in_control(driver, person)
        self.idp.next_user = person.user_name
        before = len(self.idp.events)
        control.click()
        try:
            wait_for(driver, lambda d: path_of(d) == expect_path and urllib.parse.urlsplit(d.current_url).netloc
                     == urllib.parse.urlsplit(self.origin).netloc,
                     f"{person.display_name} to land on {expect_path} after signing in", timeout=WAIT + 6)
        except AssertionError as error:
            raise AssertionError(f"{error}\nIdP requests: {self.idp.log()}\nfd-local log: "
                                 f"{self.server.log_tail(800)}") from None
        assert len(self.idp.events) > before, "signed in without going through the IdP?"
        assert not self.idp.events[-1].error, f"the IdP failed: {self.idp.log()}"

    def sign_in_fresh(self, driver, person: Person) -> None:
        """Opens `/` (not signed in: redirected to sign-in), signs `person` in, lands on `/`."""
        driver.get(self.url("/"))
        wait_for(driver, lambda d: path_of(d).startswith("/of"), "the redirect to sign-in (/of…)")
        self.sign_in(driver, person, expect_path="/")


def _provision(world: World) -> None:
    address = {"streetAddress": "Keizersgracht 123", "locality": "Amsterdam", "region": "Noord-Holland",
               "postalCode": "1015 CJ", "country": "NL"}
    people = [
        # Managers first, so the links resolve when their reports arrive.
        Person("charles", "charles@acme.example", "Charles Babbage", "eu", okta_user(
            "charles@acme.example", "Charles Babbage", "Charles", "Babbage", title="Director of Engineering",
            department="Engineering", division="R&D", phone="+31 20 555 0100")),
        Person("ada", "ada@acme.example", "Ada Lovelace", "eu", okta_user(
            "ada@acme.example", "Ada Lovelace", "Ada", "Lovelace", title="Analyst", department="Engineering",
            division="R&D", phone="+31 20 555 0101", mobile="+31 6 5555 0101", address=address,
            profile_url="https://intranet.acme.example/people/ada", manager="Charles Babbage",
            nickName="Ada", preferredLanguage="en-GB", locale="en-GB", timezone="Europe/Amsterdam",
            userType="Employee", enterprise={"employeeNumber": "1815", "costCenter": "CC-42"})),
        Person("jose", "jose@acme.example", "José Müller", "eu", okta_user(
            "jose@acme.example", "José Müller", "José", "Müller", title="Engineer", department="Engineering",
            division="R&D", phone="+31 20 555 0102", manager="Charles Babbage")),
        Person("grace", "grace@acme.example", "Grace Hopper", "eu", okta_user(
            "grace@acme.example", "Grace Hopper", "Grace", "Hopper", title="Rear Admiral", department="Navy",
            division="R&D", phone="+31 20 555 0199", active=False)),
        Person("dorothy", "dorothy@acme.example", "Dorothy Vaughan", "us", okta_user(
            "dorothy@acme.example", "Dorothy Vaughan", "Dorothy", "Vaughan", title="Supervisor",
            department="Research", division="Americas", phone="+1 757 555 0124")),
        Person("katherine", "katherine@acme.example", "Katherine Johnson", "us", okta_user(
            "katherine@acme.example", "Katherine Johnson", "Katherine", "Johnson", title="Mathematician",
            department="Research", division="Americas", phone="+1 757 555 0123", manager="Dorothy Vaughan")),
        Person("margaret", "margaret@acme.example", "Margaret Hamilton", "us", okta_user(
            "margaret@acme.example", "Margaret Hamilton", "Margaret", "Hamilton", title="Software Engineer",
            department="Engineering", division="Americas", phone="+1 617 555 0150")),
    ]
    for person in people:
        created = world.scim[person.directory].create(person.sent)
        person.id = created["id"]
        world.people[person.key] = person

    # The hostile profile: every string a payload, then what to do when the server refuses one (string hygiene
    # may refuse the RTL override; the rest must be accepted and rendered inert).
    hostile_display = f"Mallory {RLO}exe.gnp {SCRIPT}"
    hostile = okta_user(
        "mallory@acme.example", hostile_display, IMG, "Mallory", title=LONG_TITLE, department=IMG,
        division=SCRIPT, phone="+31 20 555 0666", profile_url=JS_URL, manager=IMG,
        address={"streetAddress": SCRIPT, "locality": IMG, "postalCode": "1000 AA", "country": "NL"},
        nickName=SCRIPT)
    status, body = world.scim["eu"].call("POST", "/Users", hostile)
    if status == 400 and RLO in hostile_display:
        world.hostile_notes.append(f"the server refused U+202E in displayName ({body.get('detail')}); "
                                   f"provisioned without it")
        hostile["displayName"] = hostile_display.replace(RLO, "")
        status, body = world.scim["eu"].call("POST", "/Users", hostile)
    assert status == 201, f"SCIM POST of the hostile profile answered {status}: {body}"
    world.people["mallory"] = Person("mallory", "mallory@acme.example", hostile["displayName"], "eu", hostile,
                                     body["id"])
    for key, sent_value in (("title", LONG_TITLE), ("profileUrl", JS_URL)):
        assert body.get(key) == sent_value, f"the server changed the hostile {key}: {str(body.get(key))[:80]!r}"
    # A deactivated person whose name holds an RTL override (and nothing else hostile): what follows the name on
    # the page (the Deactivated mark, the title) must still read left to right.
    trudy = okta_user("trudy@acme.example", f"Trudy {RLO}Trojan", "Trudy", "Trojan", title="Reviewer",
                      department="Research", division="Americas", active=False)
    status, body = world.scim["us"].call("POST", "/Users", trudy)
    if status == 201:
        world.people["trudy"] = Person("trudy", "trudy@acme.example", trudy["displayName"], "us", trudy, body["id"])
    else:
        world.hostile_notes.append(f"the server refused U+202E in Trudy's displayName ({status}: {body})")


@pytest.fixture(scope="session")
def world():
    with contextlib.ExitStack() as cleanup:
        tmp = Path(tempfile.mkdtemp(prefix="fd-browser-"))
        cleanup.callback(shutil.rmtree, tmp, ignore_errors=True)
        data_dir = tmp / "data"
        data_dir.mkdir()
        admin = Admin(data_dir)
        company = admin.json("company", "create", COMPANY, "--name", COMPANY_NAME)
        assert company.get("shortName", COMPANY) == COMPANY, company
        directories, names, tokens = {}, {}, {}
        for key, name in (("eu", "Okta EU"), ("us", "Okta US")):
            created = admin.json("directory", "create", name, "--company", COMPANY)
            assert created["name"] == name and created["company"] == COMPANY, created
            directories[key], names[key] = created["id"], name
            tokens[key] = admin.json("key", "create", "--directory", created["id"], "--name", "Okta")["token"]

        idp = DevIdp(data_dir / "dev-idp-key.pem")
        idp.start()
        cleanup.callback(idp.stop)
        certificate = tmp / "dev-idp-cert.pem"
        certificate.write_text(idp.certificate())
        server = LocalServer(data_dir, tmp / "fd-local.log")
        cleanup.callback(_keep_log, server.log)  # runs after the server stopped (callbacks run last in, first out)
        cleanup.callback(server.stop)
        idp.public_url = server.origin
        world = World(tmp, data_dir, admin, idp, server, directories, names,
                      {k: Scim(server.scim_base, t) for k, t in tokens.items()})
        for key in directories.values():
            admin("saml", "set", "--directory", key, "--login-url", idp.url, "--certificate", str(certificate),
                  "--public-url", server.origin)
        _provision(world)
        yield world


def _keep_log(log: Path) -> None:
    """fd-local's log goes to the artefacts folder, for CI."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(log, ARTIFACTS / "fd-local.log")


# --------------------------------------------------------------------------------------------------------------
# Browsers


class Browsers:
    """Headless Chromium, each with a fresh profile; all quit at the end of the session."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.open: list = []

    def new(self, name: str, size=DESKTOP, *, phone: bool = False):
        for path in (CHROMIUM, CHROMEDRIVER):
            if not os.access(path, os.X_OK):
                pytest.fail(f"{path} is missing: install Debian's chromium and chromium-driver "
                            f"(infra/scripts/browser-tests.sh does)", pytrace=False)
        profile = tempfile.mkdtemp(prefix=f"profile-{name}-", dir=self.tmp)
        options = Options()
        options.binary_location = CHROMIUM
        for argument in helpers.chromium_arguments(profile, size):
            options.add_argument(argument)
        service = Service(CHROMEDRIVER, log_output=str(self.tmp / f"chromedriver-{name}.log"))
        try:
            driver = webdriver.Chrome(service=service, options=options)
        except WebDriverException as error:
            pytest.fail(f"Chromium did not start: {error.msg}", pytrace=False)
        driver.fd_name = name
        driver.set_page_load_timeout(15)
        driver.set_script_timeout(15)
        driver.implicitly_wait(0)
        driver.fd_width = size[0] if phone else None
        if phone:
            driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
                "width": size[0], "height": size[1], "deviceScaleFactor": 1, "mobile": True})
        self.open.append(driver)
        return driver

    @staticmethod
    def reset(driver) -> None:
        """Forgets every cookie (a browser as new), and leaves the page."""
        driver.execute_cdp_cmd("Network.clearBrowserCookies", {})
        driver.get("about:blank")

    def close(self, driver) -> None:
        if driver in self.open:
            self.open.remove(driver)
        try:
            driver.quit()
        except WebDriverException:
            pass

    def close_all(self) -> None:
        for driver in list(self.open):
            self.close(driver)


@pytest.fixture(scope="session")
def browsers(world):
    factory = Browsers(world.tmp)
    yield factory
    factory.close_all()


@pytest.fixture(scope="session")
def ada(world, browsers):
    """A desktop browser (1280×900) signed in as Ada Lovelace."""
    driver = browsers.new("ada")
    world.sign_in_fresh(driver, world["ada"])
    return driver


@pytest.fixture(scope="session")
def ada_phone(world, browsers):
    """A phone-sized browser (360×740), signed in as Ada Lovelace separately."""
    driver = browsers.new("phone", PHONE, phone=True)
    world.sign_in_fresh(driver, world["ada"])
    return driver


@pytest.fixture(scope="session")
def _guest_browser(browsers):
    return browsers.new("guest")


@pytest.fixture
def guest(_guest_browser, browsers):
    """A desktop browser that has never signed in (no cookies)."""
    browsers.reset(_guest_browser)
    return _guest_browser


@pytest.fixture(scope="session")
def axe_js() -> str:
    return helpers.axe_source()


# --------------------------------------------------------------------------------------------------------------
# Artefacts: clean at the start; on a failure, a screenshot of every open browser


def pytest_configure(config):
    # A CI timeout's SIGTERM interrupts like Ctrl-C, so the fixtures still stop fd-local and quit the browsers.
    def interrupt(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, interrupt)


def pytest_sessionstart(session):
    # Missing or stale binaries stop the run at once, with one message (not one error per test).
    try:
        for name in ("fd-local", "fd-admin", "fd-dev-idp"):
            binary(name)
    except pytest.fail.Exception as problem:
        pytest.exit(str(problem), returncode=1)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for old in list(ARTIFACTS.glob("*.png")) + list(ARTIFACTS.glob("failures/*")):
        old.unlink()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed:
        factory = item.funcargs.get("browsers")
        if factory:
            target = ARTIFACTS / "failures"
            target.mkdir(parents=True, exist_ok=True)
            stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", item.name)[:80]
            for driver in factory.open:
                try:
                    driver.save_screenshot(str(target / f"{stem}.{driver.fd_name}.png"))
                except WebDriverException:
                    pass
