"""Accessibility: axe-core on every page (no serious or critical violation), and the keyboard reaches the search
box with a visible focus."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from helpers import (COMPANY, describe, find_result, format_violations, one, run_axe, search_box, served,
                     type_query, wait_for, wait_for_path, wait_for_results)


def open_sign_in_start(world, request):
    guest = request.getfixturevalue("guest")
    guest.get(world.url("/of"))
    wait_for_path(guest, "/of")
    one(guest, 'input[name="company"]')
    return guest


def open_company(world, request):
    guest = request.getfixturevalue("guest")
    guest.get(world.url(f"/of/{COMPANY}"))
    wait_for_path(guest, f"/of/{COMPANY}")
    world.sign_in_control(guest, world["ada"])
    return guest


def open_not_found(world, request):
    guest = request.getfixturevalue("guest")
    guest.get(world.url("/of/no-such-company"))
    wait_for(guest, lambda d: served(d) and d.find_elements(By.TAG_NAME, "h1"), "the unknown company's page")
    return guest


def open_search_results(world, request):
    ada = request.getfixturevalue("ada")
    ada.get(world.url("/"))
    type_query(ada, "+31 20")
    wait_for_results(ada, lambda rs: find_result(rs, "Ada Lovelace") and find_result(rs, "Grace Hopper"),
                     "results for '+31 20' (Ada, and the deactivated Grace)")
    return ada


def open_contact(world, request):
    ada = request.getfixturevalue("ada")
    ada.get(world.url(f"/contacts/{world['ada'].id}"))
    wait_for_path(ada, f"/contacts/{world['ada'].id}")
    return ada


def open_account(world, request):
    ada = request.getfixturevalue("ada")
    ada.get(world.url("/account"))
    wait_for_path(ada, "/account")
    return ada


PAGES = {
    "sign-in-start": open_sign_in_start,
    "company-sign-in": open_company,
    "not-found": open_not_found,
    "search-results": open_search_results,
    "contact": open_contact,
    "account": open_account,
}


@pytest.mark.parametrize("page", list(PAGES))
def test_axe_finds_no_serious_violation(world, browsers, axe_js, request, page):
    driver = PAGES[page](world, request)
    violations = run_axe(driver, axe_js)
    bad = [v for v in violations if v.get("impact") in ("serious", "critical")]
    assert not bad, f"axe-core on {page} ({driver.current_url}):\n{format_violations(bad)}"


FOCUS_JS = r"""
const e = document.activeElement;
if (!e || e === document.body) return null;
const s = getComputedStyle(e);
const outline = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0;
const shadow = s.boxShadow && s.boxShadow !== 'none';
return {
  tag: e.tagName.toLowerCase(), type: e.getAttribute('type'), name: e.getAttribute('name'),
  text: (e.innerText || e.value || '').trim().slice(0, 40),
  search: e.matches('input[type="search"][name="q"]'),
  visible: outline || !!shadow, outline: s.outlineStyle + ' ' + s.outlineWidth, shadow: s.boxShadow,
};
"""


def test_tab_reaches_the_search_box_with_visible_focus(world, ada):
    ada.get(world.url("/"))
    search_box(ada)
    path = []
    focused = ada.execute_script(FOCUS_JS)
    if not (focused and focused["search"]):  # not autofocused: Tab from the top of the page
        for _ in range(25):
            ActionChains(ada).send_keys(Keys.TAB).perform()
            focused = ada.execute_script(FOCUS_JS)
            if focused:
                path.append(focused)
            if focused and focused["search"]:
                break
    steps = [f"{f['tag']}[{f['name'] or f['type'] or f['text']}] focus {'visible' if f['visible'] else 'INVISIBLE'}"
             for f in path]
    assert focused and focused["search"], f"25 Tabs never reached the search box: {steps}; {describe(ada)}"
    assert focused["visible"], (f"the focused search box shows no focus (outline {focused['outline']!r}, "
                                f"box-shadow {focused['shadow']!r})")
    invisible = [s for s, f in zip(steps, path) if not f["visible"]]
    assert not invisible, f"on the way to the search box, focus is invisible on: {invisible}"
