//! Server-rendered pages (`maud`: every interpolated string is HTML-escaped, so IdP- and Okta-supplied values are
//! inert). Every page works without script; the script only makes search answer as you type. No inline script or
//! style: the Content-Security-Policy allows neither.

pub mod account;
pub mod contact;
pub mod search;
pub mod signin;

use maud::{DOCTYPE, Markup, html};

use crate::assets;
use crate::book::CompanyBook;
use crate::service::WebResponse;

/// A whole page: head, the site header (with the company and navigation when signed in), and `main`.
pub fn layout(title: &str, company: Option<&CompanyBook>, main: Markup) -> String {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " – Federated Directory" }
                link rel="stylesheet" href=(assets::styles_path());
                script src=(assets::script_path()) defer {}
            }
            body {
                a.skip-link href="#main" { "Skip to main content" }
                header.site {
                    div.wrap {
                        @match company {
                            Some(book) => {
                                a.brand href="/" { (book.company.name) }
                                nav aria-label="Main" {
                                    a href="/" { "Search" }
                                    a href="/account" { "My account" }
                                }
                            }
                            None => { span.brand { "Federated Directory" } }
                        }
                    }
                }
                main #main.wrap tabindex="-1" { (main) }
            }
        }
    }
    .into_string()
}

/// A page with a status, a heading and a sentence: 404s, expired forms, outages. Never a stack trace.
pub fn error(status: u16, heading: &str, message: &str) -> WebResponse {
    let main = html! {
        h1 { (heading) }
        p { (message) }
        p { a href="/" { "Go to the address book" } }
    };
    WebResponse::Page { status, html: layout(heading, None, main), set_cookies: Vec::new() }
}

/// A signed-in page.
pub fn page(book: &CompanyBook, title: &str, main: Markup) -> WebResponse {
    WebResponse::Page { status: 200, html: layout(title, Some(book), main), set_cookies: Vec::new() }
}
