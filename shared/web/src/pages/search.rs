//! `GET /`: search the company's people. The form works without script (GET `/?q=…`); the script replaces the
//! results in place as you type, through `/api/contacts` and `/api/facets`.

use fd_search::{FacetValue, Query};
use fd_signin::SignedIn;
use maud::{Markup, html};

use crate::book::CompanyBook;
use crate::service::WebResponse;

/// Values offered per filter.
pub const MAX_FACET_VALUES: usize = 50;

/// The filters, as (parameter, label).
pub const FILTERS: [(&str, &str); 7] = [
    ("givenName", "Given name"),
    ("familyName", "Family name"),
    ("title", "Title"),
    ("manager", "Manager"),
    ("division", "Division"),
    ("department", "Department"),
    ("directory", "Directory"),
];

/// The search page with the results of `query`.
pub fn page_for(book: &CompanyBook, query: &Query) -> Markup {
    let results = book.index.search(query);
    let facets = book.index.facets(query, MAX_FACET_VALUES);
    let selected = |name: &str| -> Option<&str> {
        let f = &query.filters;
        match name {
            "givenName" => f.given_name.as_deref(),
            "familyName" => f.family_name.as_deref(),
            "title" => f.title.as_deref(),
            "manager" => f.manager.as_deref(),
            "division" => f.division.as_deref(),
            "department" => f.department.as_deref(),
            _ => f.directory.as_deref(),
        }
    };
    html! {
        h1.visually-hidden { "Search people" }
        form #search-form.search role="search" method="get" action="/" {
            div.searchbox {
                label for="q" { "Search people" }
                input #q type="search" name="q" value=(query.text) autocomplete="off" spellcheck="false"
                    maxlength="200" aria-describedby="q-hint" aria-controls="results";
                p.hint #q-hint { "Names, titles, departments, email addresses or phone numbers." }
            }
            details.filters open[query.filters != fd_search::Filters::default()] {
                summary { "Filters" }
                div.filter-grid {
                    @if let Ok(facets) = &facets {
                        @for (name, label) in FILTERS {
                            @let values = facet_values(facets, name);
                            div.filter {
                                label for=(format!("f-{name}")) { (label) }
                                select #(format!("f-{name}")) name=(name) {
                                    option value="" { "Any" }
                                    @for value in values {
                                        option value=(value.value) selected[selected(name) == Some(value.value)] {
                                            (facet_label(book, name, value)) " (" (value.count) ")"
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                div.checkbox {
                    input #active type="checkbox" name="active" value="true" checked[query.active_only];
                    label for="active" { "Only active people" }
                }
            }
            button.secondary type="submit" { "Search" }
        }
        @match &results {
            Ok(page) => {
                p #result-count aria-live="polite" { (count_text(page.total)) }
                ol #results.results {
                    @for contact in &page.hits {
                        (result_item(book, contact))
                    }
                }
                @if let Some(next) = page.next {
                    p { a #more href=(more_href(query, next)) { "More results" } }
                }
            }
            Err(e) => { p #result-count role="alert" { (e.to_string()) } ol #results.results {} }
        }
    }
}

/// The search page as a response.
pub fn page(book: &CompanyBook, _signed_in: &SignedIn, query: &Query) -> WebResponse {
    super::page(book, "Search", page_for(book, query))
}

/// The values of the filter named `name` (one of [`FILTERS`]).
pub fn facet_values<'a>(facets: &'a fd_search::Facets<'a>, name: &str) -> &'a [FacetValue<'a>] {
    match name {
        "givenName" => &facets.given_name,
        "familyName" => &facets.family_name,
        "title" => &facets.title,
        "manager" => &facets.manager,
        "division" => &facets.division,
        "department" => &facets.department,
        _ => &facets.directory,
    }
}

/// What a facet value is shown as: managers by name, directories by name, others as they are.
pub fn facet_label<'a>(book: &'a CompanyBook, name: &str, value: &FacetValue<'a>) -> &'a str {
    match name {
        "manager" => value.label.unwrap_or(value.value),
        "directory" => book.directory_name(value.value).unwrap_or(value.value),
        _ => value.value,
    }
}

/// "1 person", "12 people".
pub fn count_text(total: usize) -> String {
    if total == 1 { "1 person".into() } else { format!("{total} people") }
}

fn result_item(book: &CompanyBook, hit: &fd_search::Contact) -> Markup {
    let contact = book.contact(&hit.id);
    let email = contact.and_then(|c| c.primary_email()).map(|e| e.value.as_str());
    let phone = contact.and_then(|c| c.primary_phone()).map(|p| p.value.as_str());
    html! {
        li.result {
            a href=(format!("/contacts/{}", hit.id)) { (hit.display_name) }
            @if !hit.active { " " span.badge { "Deactivated" } }
            @let role: Vec<&str> = [hit.title.as_deref(), hit.department.as_deref()].into_iter().flatten().collect();
            @if !role.is_empty() { span.meta { (role.join(" · ")) } }
            @if email.is_some() || phone.is_some() {
                span.meta {
                    @if let Some(email) = email { span { (email) } }
                    @if let (Some(_), Some(_)) = (email, phone) { " · " }
                    @if let Some(phone) = phone { span { (phone) } }
                }
            }
        }
    }
}

fn more_href(query: &Query, next: usize) -> String {
    let mut params = form_urlencoded::Serializer::new(String::new());
    if !query.text.is_empty() {
        params.append_pair("q", &query.text);
    }
    let f = &query.filters;
    for (name, value) in [
        ("givenName", &f.given_name),
        ("familyName", &f.family_name),
        ("title", &f.title),
        ("manager", &f.manager),
        ("division", &f.division),
        ("department", &f.department),
        ("directory", &f.directory),
    ] {
        if let Some(value) = value {
            params.append_pair(name, value);
        }
    }
    if query.active_only {
        params.append_pair("active", "true");
    }
    params.append_pair("cursor", &next.to_string());
    format!("/?{}", params.finish())
}
