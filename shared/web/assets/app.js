// Federated Directory: search as you type. Progressive enhancement: the search form works without this script
// (GET /?q=…); with it, results and filter counts are replaced in place, without a page load. Every value from
// the directory is inserted with textContent, never as HTML.
(function () {
  "use strict";
  var form = document.getElementById("search-form");
  if (!form || !window.fetch || !window.URLSearchParams) return;
  var input = document.getElementById("q");
  var results = document.getElementById("results");
  var count = document.getElementById("result-count");
  var DEBOUNCE_MS = 120;
  var latest = 0;
  var timer = null;

  function params(cursor) {
    var p = new URLSearchParams();
    var data = new FormData(form);
    data.forEach(function (value, name) {
      if (typeof value === "string" && value !== "") p.append(name, value);
    });
    if (cursor) p.set("cursor", cursor);
    return p;
  }

  function text(tag, className, value) {
    var el = document.createElement(tag);
    if (className) el.className = className;
    el.textContent = value;
    return el;
  }

  function item(contact) {
    var li = document.createElement("li");
    li.className = "result";
    var a = text("a", "", contact.displayName);
    a.href = "/contacts/" + encodeURIComponent(contact.id);
    li.appendChild(a);
    if (!contact.active) {
      li.appendChild(document.createTextNode(" "));
      li.appendChild(text("span", "badge", "Deactivated"));
    }
    var role = [contact.title, contact.department].filter(Boolean).join(" · ");
    if (role) li.appendChild(text("span", "meta", role));
    var reach = [contact.email, contact.phone].filter(Boolean).join(" · ");
    if (reach) li.appendChild(text("span", "meta", reach));
    return li;
  }

  function countText(total) {
    return total === 1 ? "1 person" : total + " people";
  }

  function moreButton(next) {
    var old = document.getElementById("more");
    if (old) old.parentNode.removeChild(old);
    if (!next) return;
    var button = text("button", "secondary", "More results");
    button.type = "button";
    button.id = "more";
    button.addEventListener("click", function () { run(next); });
    results.parentNode.insertBefore(button, results.nextSibling);
  }

  function updateFilters(facets) {
    Object.keys(facets).forEach(function (name) {
      var select = form.querySelector("select[name='" + name + "']");
      if (!select) return;
      var chosen = select.value;
      while (select.options.length > 1) select.remove(1);
      facets[name].forEach(function (v) {
        var option = text("option", "", v.label + " (" + v.count + ")");
        option.value = v.value;
        if (v.value === chosen) option.selected = true;
        select.appendChild(option);
      });
      if (chosen && select.value !== chosen) {
        var kept = text("option", "", chosen + " (0)");
        kept.value = chosen;
        kept.selected = true;
        select.appendChild(kept);
      }
    });
  }

  function run(cursor) {
    var mine = ++latest;
    var p = params(cursor);
    if (!cursor) {
      var shown = params();
      history.replaceState(null, "", shown.toString() ? "/?" + shown.toString() : "/");
    }
    var contacts = fetch("/api/contacts?" + p.toString(), { credentials: "same-origin", headers: { Accept: "application/json" } });
    var facets = cursor ? null : fetch("/api/facets?" + params().toString(), { credentials: "same-origin", headers: { Accept: "application/json" } });
    contacts.then(function (response) {
      if (mine !== latest) return null;
      if (response.status === 401) { window.location.assign("/of?next=" + encodeURIComponent(location.pathname + location.search)); return null; }
      if (!response.ok) { count.textContent = "Search is not available right now. Try again."; return null; }
      return response.json();
    }).then(function (data) {
      if (!data || mine !== latest) return;
      if (!cursor) results.textContent = "";
      data.contacts.forEach(function (c) { results.appendChild(item(c)); });
      count.textContent = countText(data.total);
      moreButton(data.next);
    }).catch(function () {
      if (mine === latest) count.textContent = "Search is not available right now. Try again.";
    });
    if (facets) {
      facets.then(function (r) { return r.ok ? r.json() : null; }).then(function (data) {
        if (data && mine === latest) updateFilters(data);
      }).catch(function () {});
    }
  }

  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(function () { run(); }, DEBOUNCE_MS);
  });
  form.addEventListener("change", function (event) {
    if (event.target !== input) run();
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    clearTimeout(timer);
    run();
  });
  var more = document.getElementById("more");
  if (more && more.tagName === "A") {
    var next = new URL(more.href, location.href).searchParams.get("cursor");
    more.parentNode.removeChild(more);
    moreButton(next);
  }
})();
