//! Where sign-in starts: `/of` asks for the company's short name, `/of/{company}` offers its directories' sign-in.

use fd_shared::store::{Company, Directory};
use maud::html;

use super::layout;
use crate::service::WebResponse;

/// `GET /of`: the company's short name, please.
pub fn start(problem: Option<&str>, next: Option<&str>) -> WebResponse {
    let main = html! {
        h1 { "Sign in to your company's address book" }
        form.stack method="get" action="/of" {
            @if let Some(problem) = problem {
                p.problem role="alert" { (problem) }
            }
            label for="company" { "Your company's short name" }
            p.hint #company-hint { "Your administrator gave it to you, for example " code { "acme" } "." }
            input #company name="company" type="text" autocomplete="organization" autocapitalize="none"
                spellcheck="false" required aria-describedby="company-hint";
            @if let Some(next) = next {
                input type="hidden" name="next" value=(next);
            }
            button type="submit" { "Continue" }
        }
    };
    WebResponse::Page { status: 200, html: layout("Sign in", None, main), set_cookies: Vec::new() }
}

/// `GET /of/{company}`: one "Sign in with Okta" per directory that has sign-in configured.
pub fn company(company: &Company, directories: &[Directory], next: Option<&str>) -> WebResponse {
    let relay = next.map(|n| form_urlencoded::byte_serialize(n.as_bytes()).collect::<String>());
    let main = html! {
        h1 { (company.name) }
        @if directories.is_empty() {
            p { "Sign-in is not set up for this company yet. Ask your administrator." }
        } @else {
            p { "Sign in with your company account." }
            ul.signin-list {
                @for directory in directories {
                    li {
                        @let href = match &relay {
                            Some(relay) => format!("/saml/{}/login?RelayState={relay}", directory.id),
                            None => format!("/saml/{}/login", directory.id),
                        };
                        a.button href=(href) {
                            "Sign in with Okta"
                            @if directories.len() > 1 { span.muted { " (" (directory.name) ")" } }
                        }
                    }
                }
            }
        }
        p { a href="/of" { "Not your company?" } }
    };
    WebResponse::Page { status: 200, html: layout(&company.name, None, main), set_cookies: Vec::new() }
}
