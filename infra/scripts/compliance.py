"""Runs one SCIM compliance checker against a running server and reports what applies.

    .venv/bin/python infra/scripts/compliance.py scim2-tester URL [--transcript FILE]
    .venv/bin/python infra/scripts/compliance.py scim-sanity URL

URL is the SCIM base URL (http://127.0.0.1:PORT/scim/v2); the Bearer token is read from the environment variable
FD_COMPLIANCE_TOKEN, so that it never shows in a process listing. infra/scripts/compliance.sh starts a throwaway
fd-local and runs both; this driver is the part that talks to the checkers:

- scim2-tester is a library (scim2_tester.check_server); it is driven here over an httpx2 client, and every HTTP
  exchange it makes can be written to a transcript file.
- scim-sanity's probe is run in-process (scim_sanity.probe.runner.run_probe_api, what `scim-sanity probe
  --json-output` prints), in strict mode.

What applies is decided from what the server advertises in /ServiceProviderConfig and /ResourceTypes. Checks for
features it does not advertise are skipped through the checker's own options where it has them (scim2-tester's
exclude_tags, both checkers' resource-type discovery); the others are listed in NOT_APPLICABLE below, each with the
condition that makes it not apply and the reason. A failure of any other check fails the run: scim2-tester's ERROR and
CRITICAL (a MUST not met), scim-sanity's fail and error. scim2-tester's DEVIATION (a SHOULD not followed) and
scim-sanity's warn are printed as warnings.

Exit status: 0 when every check that applies passed, 1 when one failed, 2 on a usage or setup error.
Needs Python 3.11+ and the checkers: infra/scripts/venv.sh --compliance-tools.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass
from typing import Any, Callable

TOKEN_ENV = "FD_COMPLIANCE_TOKEN"


@dataclass(frozen=True)
class Advertised:
    """What the server says it supports (RFC 7643 §5 and §6)."""

    patch: bool
    bulk: bool
    filter: bool
    change_password: bool
    sort: bool
    etag: bool
    resource_types: frozenset[str]

    def describe(self) -> str:
        flags = {
            "patch": self.patch,
            "bulk": self.bulk,
            "filter": self.filter,
            "changePassword": self.change_password,
            "sort": self.sort,
            "etag": self.etag,
        }
        features = " ".join(f"{name}={'yes' if on else 'no'}" for name, on in flags.items())
        return f"{features}; resource types: {', '.join(sorted(self.resource_types)) or '(none)'}"


@dataclass(frozen=True)
class NotApplicable:
    """A check that does not apply to a server advertising `when`, and why."""

    checker: str
    check: str
    when: Callable[[Advertised], bool]
    reason: str


# Checks a checker runs whatever the server advertises, and that it has no option to leave out. Only the entries
# whose `when` holds for the server under test are used; a failure of any other check counts.
NOT_APPLICABLE: list[NotApplicable] = [
    NotApplicable(
        "scim-sanity",
        "GET /Users?filter (no match)",
        lambda a: not a.filter,
        "filter.supported=false: the server refuses filters (RFC 7644 §3.4.2.2)",
    ),
    NotApplicable(
        "scim-sanity",
        "PATCH /Users/{id}",
        lambda a: not a.patch,
        "patch.supported=false (RFC 7644 §3.5.2)",
    ),
    NotApplicable(
        "scim-sanity",
        "GET /Users/{id} after PATCH",
        lambda a: not a.patch,
        "patch.supported=false (RFC 7644 §3.5.2)",
    ),
]


# Deliberate deviations: a check that fails because the server refuses, on purpose, what the checker asks. Each is
# matched by checker, check and a fragment of the failure (so the rest of the check still counts), reported as a
# warning with its reason, and documented in docs/compliance.md.
DELIBERATE: list[tuple[str, str, str, str]] = [
    (
        "scim2-tester",
        "User check_remove_attribute",
        "Failed to remove attribute 'active'",
        "removing `active` from a deactivated user is refused (400): an unassigned `active` reads as active, so the "
        "removal would reactivate a user their identity provider deactivated",
    ),
]


def deliberate(checker: str, check: str, reason: str | None) -> str | None:
    """Why a failure of `check` is a deliberate deviation, or None."""
    for entry_checker, entry_check, fragment, why in DELIBERATE:
        if entry_checker == checker and entry_check == check and fragment in (reason or ""):
            return why
    return None


def not_applicable(checker: str, check: str, advertised: Advertised) -> str | None:
    """The reason `check` of `checker` does not apply to this server, or None when it applies."""
    for entry in NOT_APPLICABLE:
        if entry.checker == checker and entry.check == check and entry.when(advertised):
            return entry.reason
    return None


def discover(url: str, token: str) -> Advertised:
    """Reads /ServiceProviderConfig and /ResourceTypes."""
    import httpx2

    headers = {"Authorization": f"Bearer {token}", "Accept": "application/scim+json"}
    with httpx2.Client(base_url=url, headers=headers, timeout=30) as http:
        spc = http.get("/ServiceProviderConfig")
        spc.raise_for_status()
        config = spc.json()
        types = http.get("/ResourceTypes")
        types.raise_for_status()
        listed = types.json()

    def supported(name: str) -> bool:
        return bool((config.get(name) or {}).get("supported", False))

    resources = listed.get("Resources", []) if isinstance(listed, dict) else listed
    return Advertised(
        patch=supported("patch"),
        bulk=supported("bulk"),
        filter=supported("filter"),
        change_password=supported("changePassword"),
        sort=supported("sort"),
        etag=supported("etag"),
        resource_types=frozenset(r["name"] for r in resources if "name" in r),
    )


class Tally:
    """Counts and prints results in one format for both checkers."""

    def __init__(self, checker: str) -> None:
        self.checker = checker
        self.passed = 0
        self.failed: list[str] = []
        self.skipped = 0
        self.not_applicable = 0
        self.warnings = 0

    def line(self, status: str, name: str, detail: str | None) -> None:
        text = f"  {status:<8} {name}"
        if detail:
            text += f": {detail}"
        print(text)

    def ok(self, name: str, detail: str | None = None) -> None:
        self.passed += 1
        self.line("PASS", name, detail)

    def warn(self, name: str, detail: str | None) -> None:
        self.warnings += 1
        self.line("WARN", name, detail)

    def skip(self, name: str, detail: str | None) -> None:
        self.skipped += 1
        self.line("SKIP", name, detail)

    def fail(self, name: str, detail: str | None, advertised: Advertised, extra: str | None = None) -> None:
        reason = not_applicable(self.checker, name, advertised)
        if reason is not None:
            self.not_applicable += 1
            self.line("N/A", name, f"{reason} (failed with: {detail})")
            return
        self.failed.append(f"{name}: {detail}")
        self.line("FAIL", name, detail)
        if extra:
            for extra_line in extra.splitlines():
                print(f"           {extra_line}")

    def summary(self, seconds: float) -> int:
        print(
            f"{self.checker}: {self.passed} passed, {len(self.failed)} failed, {self.skipped} skipped, "
            f"{self.not_applicable} not applicable, {self.warnings} warnings ({seconds:.1f} s)"
        )
        return 1 if self.failed else 0


def short(value: Any, limit: int = 600) -> str:
    """A one-line rendering of a response or model for the report."""
    if value is None:
        return ""
    if hasattr(value, "model_dump"):
        try:
            value = value.model_dump(mode="json", exclude_none=True)
        except Exception:  # noqa: BLE001 - best effort rendering only
            pass
    text = value if isinstance(value, str) else json.dumps(value, default=str, separators=(",", ":"))
    return text if len(text) <= limit else text[:limit] + "…"


def run_scim2_tester(url: str, token: str, advertised: Advertised, transcript: str | None) -> int:
    import httpx2
    from importlib.metadata import version
    from scim2_client.engines.httpx2 import SyncSCIMClient
    from scim2_tester import Status, check_server

    print(f"scim2-tester {version('scim2-tester')} (scim2-client {version('scim2-client')}, "
          f"scim2-models {version('scim2-models')})")

    log = open(transcript, "w", encoding="utf-8") if transcript else None  # noqa: SIM115 - closed below

    def record(response: httpx2.Response) -> None:
        if log is None:
            return
        response.read()
        request = response.request
        body = request.content.decode("utf-8", "replace")
        log.write(f"> {request.method} {request.url}\n")
        if body:
            log.write(f"> {body}\n")
        log.write(f"< {response.status_code} {response.text}\n\n")

    # Checks left out through the checker's own tags when the server does not advertise the feature. PATCH is the
    # only feature scim2-tester 0.5.2 exercises that ServiceProviderConfig can turn off (it also skips the PATCH
    # checks itself then); it has no checks for bulk, sort, changePassword or ETags.
    exclude_tags: set[str] = set()
    if not advertised.patch:
        exclude_tags.add("patch")

    started = time.monotonic()
    headers = {"Authorization": f"Bearer {token}"}
    try:
        with httpx2.Client(base_url=url, headers=headers, timeout=30, event_hooks={"response": [record]}) as http:
            # Resource types come from the server's /ResourceTypes (check_server discovers them), so a type the
            # server does not serve (e.g. Group) is not tested.
            results = check_server(SyncSCIMClient(http), exclude_tags=exclude_tags or None)
    finally:
        if log is not None:
            log.close()
    elapsed = time.monotonic() - started

    tally = Tally("scim2-tester")
    for result in results:
        name = result.title or "?"
        if result.resource_type:
            name = f"{result.resource_type} {name}"
        if result.status in (Status.SUCCESS, Status.COMPLIANT, Status.ACCEPTABLE):
            tally.ok(name, result.reason)
        elif result.status == Status.DEVIATION:
            tally.warn(name, result.reason)
        elif result.status == Status.SKIPPED:
            tally.skip(name, result.reason)
        elif why := deliberate("scim2-tester", name, result.reason):
            tally.warn(name, f"deliberate deviation: {why}")
        else:
            extra = f"response: {short(result.data)}" if result.data is not None else None
            tally.fail(name, f"[{result.status.name}] {result.reason}", advertised, extra)
    if transcript:
        print(f"  (every request and response: {transcript})")
    return tally.summary(elapsed)


def run_scim_sanity(url: str, token: str, advertised: Advertised) -> int:
    from importlib.metadata import version
    from scim_sanity.probe.runner import run_probe_api

    print(f"scim-sanity {version('scim-sanity')} (probe, strict mode)")
    started = time.monotonic()
    # Resource types: the probe reads /ResourceTypes itself and skips the lifecycles of those the server does not
    # serve (Group, Agent, AgenticApplication).
    report = run_probe_api(url, token=token, strict=True, timeout=30)
    elapsed = time.monotonic() - started

    tally = Tally("scim-sanity")
    for result in report["results"]:
        name = result["name"]
        status = result["status"]
        message = result.get("message")
        if status == "pass":
            tally.ok(name, message)
        elif status == "warn":
            tally.warn(name, message)
        elif status == "skip":
            tally.skip(name, message)
        else:
            tally.fail(name, f"[{status}] {message}", advertised)
    for issue in report.get("issues") or []:
        print(f"  issue: {short(issue)}")
    return tally.summary(elapsed)


def main() -> int:
    parser = argparse.ArgumentParser(
        description="Run a SCIM compliance checker against a running server.",
        epilog=f"The Bearer token is read from ${TOKEN_ENV}.",
    )
    parser.add_argument("checker", choices=["scim2-tester", "scim-sanity"])
    parser.add_argument("url", help="SCIM base URL, e.g. http://127.0.0.1:3000/scim/v2")
    parser.add_argument("--transcript", help="scim2-tester: write every request and response to this file")
    args = parser.parse_args()

    token = os.environ.get(TOKEN_ENV, "")
    if not token:
        print(f"compliance.py: set {TOKEN_ENV} to the Bearer token", file=sys.stderr)
        return 2
    try:
        advertised = discover(args.url, token)
    except Exception as exc:  # noqa: BLE001 - any failure here is a setup error
        print(f"compliance.py: cannot read the discovery endpoints at {args.url}: {exc}", file=sys.stderr)
        return 2
    print(f"server advertises: {advertised.describe()}")

    if args.checker == "scim2-tester":
        return run_scim2_tester(args.url, token, advertised, args.transcript)
    return run_scim_sanity(args.url, token, advertised)


if __name__ == "__main__":
    sys.exit(main())
