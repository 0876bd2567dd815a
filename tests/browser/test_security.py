"""Security in a real browser and on the wire: response headers, the session behind the JSON API, a hostile
profile rendered inert, deactivation ending a session, sign-out ending it for good."""

from __future__ import annotations

import time
import urllib.parse

import pytest
from selenium.webdriver.common.by import By

import helpers
from helpers import (COMPANY, IMG, JS_URL, LONG_TITLE, SCRIPT, describe, find_result, h1_text, http, one, path_of,
                     search_box, session_cookie, type_query, wait_for, wait_for_path, wait_for_results)

API = "/api/contacts?q=a"


# ---------------------------------------------------------------------------------------------------------------
# Headers


def csp_directives(policy: str) -> dict[str, list[str]]:
    directives = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            directives.setdefault(words[0].lower(), words[1:])
    return directives


PAGES = [
    ("sign-in start", "/of", False, 200),
    ("company sign-in", f"/of/{COMPANY}", False, 200),
    ("unknown company", "/of/no-such-company", False, 404),
    ("search", "/", True, 200),
    ("search results", "/?q=ada", True, 200),
    ("contact", "/contacts/{ada}", True, 200),
    ("account", "/account", True, 200),
]


@pytest.mark.parametrize(("name", "path", "signed_in", "status"), PAGES, ids=[p[0] for p in PAGES])
def test_security_headers(world, request, name, path, signed_in, status):
    url = world.url(path.format(ada=world["ada"].id))
    cookie = session_cookie(request.getfixturevalue("ada")) if signed_in else None
    reply = http("GET", url, cookie=cookie)
    assert reply.status == status, f"GET {path} answered {reply.status}, not {status}"
    assert (reply.header("content-type") or "").startswith("text/html"), reply.header("content-type")
    policy = reply.header("content-security-policy")
    assert policy, f"GET {path}: no Content-Security-Policy"
    for required in ("default-src 'self'", "script-src 'self'", "object-src 'none'", "frame-ancestors 'none'"):
        assert required in policy, f"GET {path}: the CSP lacks {required!r}: {policy}"
    directives = csp_directives(policy)
    weak = {"'unsafe-inline'", "'unsafe-eval'", "*", "data:", "http:", "https:"} & set(directives["script-src"])
    assert not weak, f"GET {path}: script-src allows {weak}: {policy}"
    assert directives["object-src"] == ["'none'"] and directives["frame-ancestors"] == ["'none'"], policy
    assert reply.header("x-content-type-options") == "nosniff", reply.header("x-content-type-options")
    assert reply.header("referrer-policy") == "same-origin", reply.header("referrer-policy")
    cache = [d.strip().lower() for d in (reply.header("cache-control") or "").split(",")]
    assert "no-store" in cache, f"GET {path}: Cache-Control is {reply.header('cache-control')!r}, not no-store"


def test_unknown_company_is_a_friendly_404(world):
    reply = http("GET", world.url("/of/no-such-company"))
    assert reply.status == 404
    text = reply.text()
    assert "<h1" in text, "the 404 page has no <h1>"
    for leak in ("panicked", "backtrace", "RUST_BACKTRACE", ".rs:"):
        assert leak not in text, f"the 404 page leaks internals ({leak!r})"


# ---------------------------------------------------------------------------------------------------------------
# The JSON API


def test_api_needs_a_session(world):
    for cookie in (None, "fd_session=forged", "fd_session="):
        reply = http("GET", world.url(API), cookie=cookie)
        assert reply.status == 401, f"/api/contacts with cookie {cookie!r} answered {reply.status}"
        assert (reply.header("content-type") or "").startswith("application/json"), reply.header("content-type")
        reply.json()


def test_api_contacts(world, ada):
    cookie = session_cookie(ada)
    reply = http("GET", world.url("/api/contacts?" + urllib.parse.urlencode({"q": "ada love"})), cookie=cookie)
    assert reply.status == 200, f"/api/contacts answered {reply.status}: {reply.text()[:200]}"
    body = reply.json()
    assert {"total", "contacts", "next"} <= set(body), f"/api/contacts keys: {sorted(body)}"
    assert body["total"] == 1 and len(body["contacts"]) == 1, body
    contact = body["contacts"][0]
    assert {"id", "displayName", "title", "department", "email", "phone", "active"} <= set(contact), contact
    expected = {"id": world["ada"].id, "displayName": "Ada Lovelace", "title": "Analyst",
                "department": "Engineering", "email": "ada@acme.example", "active": True}
    assert {k: contact[k] for k in expected} == expected
    assert helpers.digits(contact["phone"] or "") == "+31205550101", contact["phone"]

    body = http("GET", world.url("/api/contacts?q=grace"), cookie=cookie).json()
    grace = next((c for c in body["contacts"] if c["id"] == world["grace"].id), None)
    assert grace and grace["active"] is False, f"the deactivated Grace Hopper in /api/contacts: {body}"


# ---------------------------------------------------------------------------------------------------------------
# The hostile profile


INERT_JS = r"""
const links = Array.from(document.querySelectorAll('a[href], area[href]'));
return {
  pwned: typeof window.__pwned !== 'undefined',
  imgX: document.querySelectorAll('img[src="x"], img[onerror], [onerror], [onload]').length,
  scripts: Array.from(document.scripts).filter(s => /__pwned/.test(s.text + ' ' + (s.src || ''))).length,
  jsLinks: links.filter(a => /^\s*javascript:/i.test(a.getAttribute('href') || '') || a.protocol === 'javascript:')
                .map(a => a.outerHTML.slice(0, 120)),
  wide: document.documentElement.scrollWidth, inner: window.innerWidth,
};
"""


def assert_inert(driver, where: str):
    time.sleep(0.3)  # an <img onerror> fires asynchronously
    state = driver.execute_script(INERT_JS)
    assert not state["pwned"], f"{where}: the hostile profile ran script (window.__pwned is set)"
    assert state["imgX"] == 0, f"{where}: an <img>/event handler from the hostile profile is in the DOM"
    assert state["scripts"] == 0, f"{where}: a <script> from the hostile profile is in the DOM"
    assert not state["jsLinks"], f"{where}: javascript: links: {state['jsLinks']}"
    return state


def assert_not_wider_than_viewport(driver, where: str):
    state = driver.execute_script("return {wide: document.documentElement.scrollWidth, inner: window.innerWidth};")
    assert state["wide"] <= state["inner"] + 1, \
        f"{where}: the page is {state['wide']} px wide in a {state['inner']} px viewport (the 4,000-character title)"
    width = getattr(driver, "fd_width", None)
    # A phone zooms out to fit a page that overflows, and its viewport then grows: it must stay the phone's width.
    assert width is None or state["inner"] == width, \
        f"{where}: the {width} px wide phone zoomed out to a {state['inner']} px viewport: the page overflows"


def open_hostile(world, driver):
    mallory = world["mallory"]
    driver.get(world.url("/"))
    type_query(driver, "mallory")
    found = wait_for_results(driver, lambda rs: any(r.id == mallory.id for r in rs),
                             "the hostile profile (Mallory) in the results")
    assert_inert(driver, "search results")
    assert_not_wider_than_viewport(driver, "search results")
    result = next(r for r in found if r.id == mallory.id)
    one(driver, f'a[href$="/contacts/{mallory.id}"]').click()
    wait_for_path(driver, f"/contacts/{mallory.id}")
    return result


def test_hostile_profile_is_inert(world, ada):
    open_hostile(world, ada)
    assert "Mallory" in h1_text(ada), describe(ada)
    assert_inert(ada, "the hostile contact page")
    assert_not_wider_than_viewport(ada, "the hostile contact page")
    # The javascript: profile URL is shown as text, never as a link.
    holders = ada.execute_script(
        "return Array.from(document.querySelectorAll('body *')).filter(e => Array.from(e.childNodes).some("
        "  n => n.nodeType === 3 && n.data.includes(arguments[0]))).map(e => !!e.closest('a'));", JS_URL)
    assert holders, f"the javascript: profile URL is not shown as text; {describe(ada)}"
    assert not any(holders), "the javascript: profile URL is inside a link"
    # The payloads are shown as the text they are (escaped, not interpreted).
    text = ada.find_element(By.TAG_NAME, "body").text
    for payload in (SCRIPT, IMG):
        assert payload in text or payload.upper() in text, f"{payload!r} is not shown as text on the contact page"

    # The search page with the hostile values in its filters.
    ada.get(world.url("/"))
    search_box(ada)
    assert_inert(ada, "the search page's filters")


def test_hostile_title_does_not_widen_the_phone_page(world, ada_phone):
    assert ada_phone.execute_script("return window.innerWidth;") == 360, "the phone browser is not 360 px wide"
    open_hostile(world, ada_phone)
    assert_inert(ada_phone, "the hostile contact page (phone)")
    assert_not_wider_than_viewport(ada_phone, "the hostile contact page (phone)")


def test_hostile_vcard_is_folded_and_complete(world, ada):
    mallory = world["mallory"]
    reply = http("GET", world.url(f"/contacts/{mallory.id}.vcf"), cookie=session_cookie(ada))
    assert reply.status == 200, f"the hostile vCard answered {reply.status}"
    card = helpers.parse_vcard(reply.body)
    assert helpers.vcard_unescape(card.first("TITLE")) == LONG_TITLE, "the 4,000-character TITLE did not survive"
    assert helpers.vcard_unescape(card.first("FN")) == mallory.display_name


READING_ORDER_JS = r"""
const [root, words] = arguments;
const out = [];
const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
let node;
while ((node = walker.nextNode())) {
  for (const word of words) {
    const i = node.data.toLowerCase().indexOf(word);
    if (i < 0) continue;
    const first = document.createRange(), last = document.createRange();
    first.setStart(node, i); first.setEnd(node, i + 1);
    last.setStart(node, i + word.length - 1); last.setEnd(node, i + word.length);
    const a = first.getBoundingClientRect(), b = last.getBoundingClientRect();
    if (a.width && b.width && Math.abs(a.top - b.top) < 2) out.push({word, first: a.left, last: b.left});
  }
}
return out;
"""


def test_rtl_override_in_a_name_does_not_reorder_what_follows(world, ada):
    if "trudy" not in world.people:
        pytest.skip("; ".join(world.hostile_notes))
    trudy = world["trudy"]
    ada.get(world.url("/"))
    type_query(ada, "trudy")
    found = wait_for_results(ada, lambda rs: any(r.id == trudy.id for r in rs), "Trudy in the results")
    assert next(r for r in found if r.id == trudy.id).deactivated
    for where in ("search results", "contact page"):
        if where == "contact page":
            ada.get(world.url(f"/contacts/{trudy.id}"))
            wait_for_path(ada, f"/contacts/{trudy.id}")
        seen = ada.execute_script(READING_ORDER_JS, ada.find_element(By.TAG_NAME, "body"),
                                  ["deactivated", "reviewer"])
        assert seen, f"{where}: neither 'Deactivated' nor the title is shown; {describe(ada)}"
        reversed_words = [s["word"] for s in seen if s["first"] > s["last"]]
        assert not reversed_words, \
            f"{where}: the RTL override in Trudy's name reverses {reversed_words} after it (isolate the name)"


# ---------------------------------------------------------------------------------------------------------------
# Sessions: deactivation, sign-out, CSRF


def test_deactivation_ends_the_session_and_reactivation_signs_in_again(world, guest, ada):
    dorothy = world["dorothy"]
    world.sign_in_fresh(guest, dorothy)
    cookie = session_cookie(guest)
    assert http("GET", world.url(API), cookie=cookie).status == 200

    world.scim["us"].set_active(dorothy.id, False)
    try:
        guest.get(world.url("/"))
        wait_for_path(guest, f"/of/{COMPANY}")
        assert http("GET", world.url(API), cookie=cookie).status == 401, "the deactivated user's session still works"

        # Sign-in is refused while deactivated.
        world.idp.next_user = dorothy.user_name
        world.sign_in_control(guest, dorothy).click()
        wait_for(guest, lambda d: path_of(d).startswith("/saml/") or path_of(d).startswith("/of"),
                 "the answer to a deactivated user's sign-in")
        time.sleep(0.5)
        guest.get(world.url("/"))
        wait_for_path(guest, f"/of/{COMPANY}")

        # A colleague still finds her, marked.
        ada.get(world.url("/"))
        type_query(ada, "dorothy")
        found = wait_for_results(ada, lambda rs: find_result(rs, "Dorothy Vaughan"), "Dorothy in Ada's results")
        assert find_result(found, "Dorothy Vaughan").deactivated, \
            f"the deactivated Dorothy is not marked: {find_result(found, 'Dorothy Vaughan').item!r}"
    finally:
        world.scim["us"].set_active(dorothy.id, True)

    guest.get(world.url("/"))
    wait_for_path(guest, f"/of/{COMPANY}")
    world.sign_in(guest, dorothy, expect_path="/")
    search_box(guest)
    assert http("GET", world.url(API), cookie=cookie).status == 401, "the session from before deactivation is back"


def test_sign_out_ends_the_session_for_good(world, guest):
    katherine = world["katherine"]
    world.sign_in_fresh(guest, katherine)
    cookie = session_cookie(guest)
    assert http("GET", world.url(API), cookie=cookie).status == 200
    guest.get(world.url("/account"))
    buttons = [b for b in guest.find_elements(By.CSS_SELECTOR, "form button, form input[type=submit]")
               if "Sign out" in (b.text or b.get_attribute("value") or "")]
    assert buttons, f"no 'Sign out' button on /account; {describe(guest)}"
    buttons[0].click()
    wait_for(guest, lambda d: path_of(d) != "/account", "the browser to leave /account after signing out")
    reply = http("GET", world.url(API), cookie=cookie)
    assert reply.status == 401, f"the old cookie still works after sign-out ({reply.status})"
    guest.get(world.url("/"))
    wait_for(guest, lambda d: path_of(d).startswith("/of"), "the signed-out browser to be sent to sign-in")


def test_ending_a_session_needs_the_csrf_token(world, guest):
    margaret = world["margaret"]
    world.sign_in_fresh(guest, margaret)
    cookie = session_cookie(guest)
    guest.get(world.url("/account"))
    forms = [f for f in guest.find_elements(By.CSS_SELECTOR, "form")
             if "End session" in f.text and (f.get_attribute("method") or "").lower() == "post"]
    assert forms, f"no 'End session' form on /account; {describe(guest)}"
    before = len(forms)
    # The same form without its hidden fields, as a cross-site page would have to post it.
    guest.execute_script("const f = arguments[0]; f.querySelectorAll('input[type=hidden]').forEach(i => i.remove());"
                         "HTMLFormElement.prototype.submit.call(f);", forms[-1])
    wait_for(guest, lambda d: d.execute_script("return document.readyState") == "complete", "the answer")
    time.sleep(0.3)
    assert http("GET", world.url(API), cookie=cookie).status == 200, "a session was ended without the CSRF token"
    guest.get(world.url("/account"))
    after = [f for f in guest.find_elements(By.CSS_SELECTOR, "form") if "End session" in f.text]
    assert len(after) == before, f"a session was ended without the CSRF token ({before} → {len(after)})"
