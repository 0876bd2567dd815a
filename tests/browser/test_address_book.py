"""The address book in a real browser, as a person uses it: sign in through the company's IdP, find colleagues as
you type, filter, open a contact, follow the manager link, download the vCard, see your account and end a
session."""

from __future__ import annotations

import re
import urllib.parse

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

import helpers
from helpers import (COMPANY, COMPANY_NAME, describe, digits, facet_options, find_result, h1_text, http, marker,
                     one, path_of, result_count_text, reveal, search_box, session_cookie, set_marker, submit_form_of,
                     type_query, wait_for, wait_for_path, wait_for_results)


def visible_labels(driver, element) -> list[str]:
    """The texts of the element's visible `<label>`s."""
    labels = driver.execute_script("return Array.from(arguments[0].labels || []);", element)
    return [" ".join(label.text.split()) for label in labels if label.is_displayed() and label.text.strip()]


def open_search(world, driver):
    driver.get(world.url("/"))
    wait_for_path(driver, "/")
    return search_box(driver)


def has(name):
    return lambda found: find_result(found, name) is not None


def lacks(name):
    return lambda found: find_result(found, name) is None


def both(*predicates):
    return lambda found: all(p(found) for p in predicates)


# ---------------------------------------------------------------------------------------------------------------
# Sign-in


def test_signed_out_browser_starts_at_the_company_form(world, guest):
    guest.get(world.url("/"))
    wait_for_path(guest, "/of")
    boxes = guest.find_elements(By.CSS_SELECTOR, 'input[name="company"]')
    assert boxes, f"/of has no input named company; {describe(guest)}"
    assert visible_labels(guest, boxes[0]), f"the company input has no visible <label>; {describe(guest)}"
    method = guest.execute_script("return arguments[0].form && arguments[0].form.method;", boxes[0])
    assert method == "get", f"the company form's method is {method!r}, not GET"

    boxes[0].send_keys(COMPANY, Keys.ENTER)
    wait_for_path(guest, f"/of/{COMPANY}")
    assert COMPANY_NAME in h1_text(guest), f"the company page's <h1> is not the company name; {describe(guest)}"
    for key in ("ada", "dorothy"):  # one per directory: both directories offer sign-in
        world.sign_in_control(guest, world[key])


def test_unknown_company_in_the_form_gets_a_friendly_page(world, guest):
    guest.get(world.url("/of"))
    box = one(guest, 'input[name="company"]')
    box.send_keys("no-such-company", Keys.ENTER)
    wait_for(guest, lambda d: path_of(d) != "/of" or d.find_elements(By.TAG_NAME, "h1"), "an answer to the form")
    text = guest.find_element(By.TAG_NAME, "body").text
    assert h1_text(guest), f"no heading on the unknown company's page; {describe(guest)}"
    for leak in ("panicked", "backtrace", "RUST_BACKTRACE", ".rs:"):
        assert leak not in text, f"the unknown company's page leaks internals ({leak!r}); {describe(guest)}"


def test_sign_in_lands_on_the_page_asked_for(world, guest):
    charles = world["charles"]
    # Never signed in: to the company form, and after sign-in on the page asked for.
    guest.get(world.url(f"/contacts/{charles.id}"))
    wait_for_path(guest, "/of")
    world.sign_in(guest, world["jose"], expect_path=f"/contacts/{charles.id}")
    assert "Charles Babbage" in h1_text(guest), describe(guest)

    # Signed in before (the browser remembers the company), session gone: straight to the company's page.
    guest.delete_cookie("fd_session")
    guest.get(world.url("/account"))
    wait_for_path(guest, f"/of/{COMPANY}")
    world.sign_in(guest, world["jose"], expect_path="/account")


# ---------------------------------------------------------------------------------------------------------------
# Search


def test_search_filters_as_you_type_without_loading_a_page(world, ada):
    box = open_search(world, ada)
    assert visible_labels(ada, box), f"the search box has no visible <label>; {describe(ada)}"
    set_marker(ada, "no page load")

    type_query(ada, "ada love")
    found = wait_for_results(ada, both(has("Ada Lovelace"), lacks("Charles Babbage"), lacks("José Müller")),
                             "'ada love' to list Ada Lovelace only")
    assert marker(ada) == "no page load", "typing loaded a new page: results must replace in place"
    assert len(found) == 1, f"'ada love' lists {[r.item for r in found]}"
    assert not found[0].deactivated, f"Ada is active but her result says Deactivated: {found[0].item!r}"
    count = result_count_text(ada)
    assert re.search(r"\b1\b", count), f"#result-count says {count!r} for one result"

    type_query(ada, "jose")
    wait_for_results(ada, both(has("José Müller"), lacks("Ada Lovelace")), "'jose' to replace the results")
    assert marker(ada) == "no page load", "typing loaded a new page: results must replace in place"


@pytest.mark.parametrize(("query", "expected"), [
    ("ada love", "Ada Lovelace"),
    ("jose", "José Müller"),
    ("muller", "José Müller"),
    ("MÜLLER", "José Müller"),
    ("+31 20", "Ada Lovelace"),
    ("vaughan", "Dorothy Vaughan"),  # the company's second directory
])
def test_search_finds(world, ada, query, expected):
    open_search(world, ada)
    type_query(ada, query)
    found = wait_for_results(ada, has(expected), f"{query!r} to find {expected}")
    result = find_result(found, expected)
    person = next(p for p in world.people.values() if p.display_name == expected)
    assert result.id == person.id, f"{expected}'s result links to /contacts/{result.id}, not /contacts/{person.id}"


def test_deactivated_people_are_found_marked_unless_only_active_people_are_asked_for(world, ada):
    open_search(world, ada)
    type_query(ada, "grace")
    found = wait_for_results(ada, has("Grace Hopper"), "'grace' to find the deactivated Grace Hopper")
    assert find_result(found, "Grace Hopper").deactivated, \
        f"Grace Hopper's result does not say Deactivated: {find_result(found, 'Grace Hopper').item!r}"

    boxes = ada.find_elements(By.CSS_SELECTOR, 'input[type="checkbox"][name="active"]')
    assert boxes, f'no checkbox named active on the search page; {describe(ada)}'
    reveal(ada, boxes[0])
    labels = visible_labels(ada, boxes[0])
    assert any("only active people" in label.lower() for label in labels), \
        f"the active checkbox's visible label is {labels}, not 'Only active people'"
    if not boxes[0].is_selected():
        boxes[0].click()
    submit_form_of(ada, search_box(ada))
    wait_for_results(ada, lacks("Grace Hopper"), "Grace Hopper to go with 'Only active people' checked")
    assert one(ada, 'input[name="active"]').is_selected(), \
        "the active checkbox was unchecked by applying it"


def test_filters_list_values_with_counts_and_the_manager_filter_lists_reports(world, ada):
    open_search(world, ada)
    expected = {"givenName": "Ada", "familyName": "Lovelace", "title": "Analyst", "manager": "Charles Babbage",
                "division": "R&D", "department": "Engineering", "directory": "Okta US"}
    for name, value in expected.items():
        options = facet_options(ada, name)
        assert options, f'<select name="{name}"> has no option reading "value (count)"; {describe(ada)}'
        values = [v for v, _, _ in options]
        assert value in values, f'<select name="{name}"> has no "{value} (n)" option: {values}'
        label = ada.execute_script("const s = arguments[0]; return s.labels && s.labels.length ? "
                                   "s.labels[0].innerText : s.getAttribute('aria-label');",
                                   one(ada, f'select[name="{name}"]'))
        assert label and label.strip(), f'<select name="{name}"> has no label'
    directories = {v: n for v, n, _ in facet_options(ada, "directory")}
    assert {"Okta EU", "Okta US"} <= set(directories), f"directory filter: {directories}"
    managers = {v: n for v, n, _ in facet_options(ada, "manager")}
    assert managers.get("Charles Babbage") == 2, f"Charles manages Ada and José: manager filter says {managers}"

    select = one(ada, 'select[name="manager"]')
    option = next(o for v, _, o in facet_options(ada, "manager") if v == "Charles Babbage")
    Select(select).select_by_visible_text(" ".join(option.get_attribute("textContent").split()))
    submit_form_of(ada, select)
    found = wait_for_results(ada, both(has("Ada Lovelace"), has("José Müller"), lacks("Charles Babbage"),
                                       lacks("Dorothy Vaughan")),
                             "the manager filter (Charles Babbage) to list Ada Lovelace and José Müller")
    assert len(found) == 2, f"Charles Babbage's reports: {[r.item for r in found]}"

    open_search(world, ada)
    select = one(ada, 'select[name="directory"]')
    option = next(o for v, _, o in facet_options(ada, "directory") if v == "Okta US")
    Select(select).select_by_visible_text(" ".join(option.get_attribute("textContent").split()))
    submit_form_of(ada, select)
    us = {p.display_name for p in world.people.values() if p.directory == "us"}
    found = wait_for_results(ada, lambda rs: {r.text for r in rs} == us, f"the directory filter to list {us}")
    assert {r.text for r in found} == us


def test_search_form_works_without_javascript(world, ada):
    ada.get(world.url("/"))
    ada.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": True})
    try:
        ada.get(world.url("/"))
        set_marker(ada, "before submit")
        box = search_box(ada)
        box.send_keys("ada love", Keys.ENTER)
        wait_for(ada, lambda d: helpers.query_of(d).get("q") == ["ada love"], "the form to load /?q=ada+love")
        found = wait_for_results(ada, has("Ada Lovelace"), "server-rendered results for 'ada love'")
        assert find_result(found, "Ada Lovelace").id == world["ada"].id
        assert marker(ada) is None, "the results did not come with a page load: was script really off?"
    finally:
        ada.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": False})

    # And straight from the server, as a script-less client sees it.
    reply = http("GET", world.url("/?" + urllib.parse.urlencode({"q": "ada love"})), cookie=session_cookie(ada))
    assert reply.status == 200, f"GET /?q=ada+love answered {reply.status}"
    assert f"/contacts/{world['ada'].id}" in reply.text() and "Ada Lovelace" in reply.text(), \
        "the server-rendered search page lacks Ada's result"


# ---------------------------------------------------------------------------------------------------------------
# Contact pages and the vCard


def links(driver) -> list[dict]:
    return driver.execute_script(
        "return Array.from(document.querySelectorAll('a[href]')).map(a => ({href: a.href, text: a.innerText}));")


def contact_link(driver, person) -> dict | None:
    for link in links(driver):
        if urllib.parse.urlsplit(link["href"]).path == f"/contacts/{person.id}" and person.display_name in link["text"]:
            return link
    return None


def test_contact_page_shows_the_person_and_links_the_manager_and_reports(world, ada):
    person, manager = world["ada"], world["charles"]
    open_search(world, ada)
    type_query(ada, "ada love")
    wait_for_results(ada, has("Ada Lovelace"), "Ada's result")
    one(ada, f'a[href$="/contacts/{person.id}"]').click()
    wait_for_path(ada, f"/contacts/{person.id}")
    assert "Ada Lovelace" in h1_text(ada), describe(ada)

    lists = ada.find_elements(By.TAG_NAME, "dl")
    assert lists, f"the contact page has no <dl>; {describe(ada)}"
    details = " ".join(" ".join(dl.text.split()) for dl in lists)
    for value in ("Analyst", "Engineering", "R&D", "Keizersgracht 123", "Amsterdam", "1015 CJ"):
        assert value in details, f"the contact's <dl> lacks {value!r}: {details!r}"

    hrefs = [link["href"] for link in links(ada)]
    mails = [urllib.parse.unquote(h[len("mailto:"):]).lower() for h in hrefs if h.lower().startswith("mailto:")]
    assert "ada@acme.example" in mails, f"no mailto:ada@acme.example link: {hrefs}"
    tels = [digits(urllib.parse.unquote(h[len("tel:"):])) for h in hrefs if h.lower().startswith("tel:")]
    for phone in ("+31 20 555 0101", "+31 6 5555 0101"):
        assert digits(phone) in tels, f"no tel: link for {phone}: {tels}"
    assert "https://intranet.acme.example/people/ada" in hrefs, f"the https profile URL is not a link: {hrefs}"

    link = contact_link(ada, manager)
    assert link, f"no link to the manager's page (/contacts/{manager.id}, 'Charles Babbage'); {describe(ada)}"
    one(ada, f'a[href$="/contacts/{manager.id}"]').click()
    wait_for_path(ada, f"/contacts/{manager.id}")
    assert "Charles Babbage" in h1_text(ada), describe(ada)
    for report in (world["ada"], world["jose"]):
        assert contact_link(ada, report), f"Charles's page does not list his report {report.display_name}"


def vcard_href(world, driver, person) -> str:
    driver.get(world.url(f"/contacts/{person.id}"))
    wait_for_path(driver, f"/contacts/{person.id}")
    for link in links(driver):
        if "Download vCard" in link["text"]:
            path = urllib.parse.urlsplit(link["href"]).path
            assert path == f"/contacts/{person.id}.vcf", f"'Download vCard' leads to {link['href']}"
            return link["href"]
    raise AssertionError(f"no 'Download vCard' link on {person.display_name}'s page; {describe(driver)}")


def fetch_vcard(world, driver, person) -> helpers.VCard:
    reply = http("GET", vcard_href(world, driver, person), cookie=session_cookie(driver))
    assert reply.status == 200, f"the vCard answered {reply.status}: {reply.text()[:200]!r}"
    content_type = reply.header("content-type") or ""
    assert content_type.split(";")[0].strip().lower() == "text/vcard", f"vCard Content-Type is {content_type!r}"
    return helpers.parse_vcard(reply.body)


def test_vcard_download(world, ada):
    card = fetch_vcard(world, ada, world["ada"])
    assert card.first("FN") == "Ada Lovelace"
    assert helpers.vcard_unescape(card.first("TITLE")) == "Analyst"
    emails = [e.lower().removeprefix("mailto:") for e in card.values("EMAIL")]
    assert "ada@acme.example" in emails, f"vCard EMAIL: {emails}"
    tels = [digits(t.removeprefix("tel:")) for t in card.values("TEL")]
    for phone in ("+31 20 555 0101", "+31 6 5555 0101"):
        assert digits(phone) in tels, f"vCard TEL lacks {phone}: {card.values('TEL')}"
    addresses = [helpers.vcard_components(a) for a in card.values("ADR")]
    assert addresses, "vCard has no ADR"
    adr = addresses[0] + [""] * 7
    assert adr[2:6] == ["Keizersgracht 123", "Amsterdam", "Noord-Holland", "1015 CJ"], f"vCard ADR: {adr}"
    assert adr[6] in ("NL", "Netherlands", "The Netherlands"), f"vCard ADR country: {adr[6]!r}"

    jose = fetch_vcard(world, ada, world["jose"])
    assert jose.first("FN") == "José Müller", f"FN of José: {jose.first('FN')!r}"


def test_deactivated_contact_page_says_so(world, ada):
    grace = world["grace"]
    ada.get(world.url(f"/contacts/{grace.id}"))
    wait_for_path(ada, f"/contacts/{grace.id}")
    assert "Grace Hopper" in h1_text(ada), describe(ada)
    assert "deactivated" in ada.find_element(By.TAG_NAME, "body").text.lower(), \
        f"Grace Hopper's page does not say Deactivated; {describe(ada)}"


# ---------------------------------------------------------------------------------------------------------------
# The account page and sessions


def post_forms(driver, button_text: str) -> list:
    """The POST forms with a button (or submit input) whose text contains `button_text`."""
    out = []
    for form in driver.find_elements(By.TAG_NAME, "form"):
        if (form.get_attribute("method") or "").lower() != "post":
            continue
        for control in form.find_elements(By.CSS_SELECTOR, "button, input[type=submit]"):
            if button_text in (control.text or control.get_attribute("value") or ""):
                out.append((form, control))
                break
    return out


def test_account_page_lists_sessions_and_offers_sign_out(world, ada):
    ada.get(world.url("/account"))
    wait_for_path(ada, "/account")
    text = ada.find_element(By.TAG_NAME, "body").text
    for value in ("Ada Lovelace", "ada@acme.example"):
        assert value in text, f"/account does not show {value!r}; {describe(ada)}"
    sessions = post_forms(ada, "End session")
    assert sessions, f"/account lists no session with an 'End session' button in a POST form; {describe(ada)}"
    for form, _ in sessions:
        tokens = [i.get_attribute("value") for i in form.find_elements(By.CSS_SELECTOR, 'input[type="hidden"]')]
        assert any(tokens), f"an 'End session' form has no hidden CSRF token: {form.get_attribute('outerHTML')}"
    sign_out = post_forms(ada, "Sign out")
    assert sign_out, f"/account has no 'Sign out' button in a POST form; {describe(ada)}"
    action = urllib.parse.urlsplit(sign_out[0][0].get_attribute("action")).path
    assert action == "/signout", f"the sign-out form posts to {action!r}, not /signout"


def test_ending_a_session(world, guest, browsers):
    margaret = world["margaret"]
    world.sign_in_fresh(guest, margaret)
    other = browsers.new("margaret-2")
    try:
        world.sign_in_fresh(other, margaret)
        cookies = [session_cookie(guest), session_cookie(other)]
        api = world.url("/api/contacts?q=a")
        assert [http("GET", api, cookie=c).status for c in cookies] == [200, 200]

        guest.get(world.url("/account"))
        sessions = post_forms(guest, "End session")
        assert len(sessions) >= 2, f"Margaret has two sessions, /account lists {len(sessions)}; {describe(guest)}"
        sessions[0][1].click()
        wait_for(guest, lambda d: sorted(http("GET", api, cookie=c).status for c in cookies) == [200, 401],
                 "exactly one of Margaret's two sessions to end")
    finally:
        browsers.close(other)


# ---------------------------------------------------------------------------------------------------------------
# Screenshots for people to look at (CI keeps them)


def test_screenshots(world, ada, ada_phone):
    for driver, suffix in ((ada, ""), (ada_phone, "-phone")):
        open_search(world, driver)
        type_query(driver, "+31 20")
        wait_for_results(driver, has("Ada Lovelace"), "results for '+31 20'")
        helpers.screenshot(driver, f"search{suffix}")
        driver.get(world.url(f"/contacts/{world['ada'].id}"))
        wait_for_path(driver, f"/contacts/{world['ada'].id}")
        helpers.screenshot(driver, f"contact{suffix}")
    for name in ("search", "contact", "search-phone", "contact-phone"):
        data = (helpers.ARTIFACTS / f"{name}.png").read_bytes()
        assert data.startswith(b"\x89PNG") and len(data) > 2000, f"{name}.png is not a real screenshot"
    assert ada_phone.execute_script("return window.innerWidth;") == 360, "the phone browser is not 360 px wide"
