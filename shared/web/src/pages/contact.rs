//! `GET /contacts/{id}`: every provisioned attribute that has a value, with `mailto:`, `tel:` and (http/https
//! only) profile links, the manager and direct reports as links, and the vCard download.

use fd_contacts::{Contact, FieldValue};
use fd_signin::SignedIn;
use maud::{Markup, html};

use crate::book::CompanyBook;
use crate::service::WebResponse;

/// The contact's details as a description list (also used on the account page).
pub fn details(book: &CompanyBook, contact: &Contact) -> Markup {
    html! {
        dl.details {
            @for field in contact.fields() {
                dt { (field.label) }
                dd { (field_value(book, &field.value)) }
            }
            @if let Some(directory) = contact.id.as_deref().and_then(|id| book.index.get(id)).and_then(|c| book.directory_name(&c.directory)) {
                dt { "Directory" }
                dd { (directory) }
            }
        }
    }
}

fn field_value(book: &CompanyBook, value: &FieldValue<'_>) -> Markup {
    match value {
        FieldValue::Address(lines) => html! {
            address { @for (i, line) in lines.iter().enumerate() { @if i > 0 { br; } (line) } }
        },
        FieldValue::Manager(manager) => match manager.id.as_deref().filter(|id| book.contact(id).is_some()) {
            Some(id) => html! { a rel="manager" href=(format!("/contacts/{id}")) { (manager.display_name) } },
            None => html! { (manager.display_name) },
        },
        other => match other.href() {
            Some(href) => {
                html! { a href=(href) rel=[matches!(other, FieldValue::Url(_)).then_some("noopener noreferrer")] { (other.text()) } }
            }
            None => html! { (other.text()) },
        },
    }
}

/// The contact page.
pub fn page(book: &CompanyBook, _signed_in: &SignedIn, contact: &Contact) -> WebResponse {
    let id = contact.id.clone().unwrap_or_default();
    let reports = book.index.direct_reports(&id);
    let main = html! {
        article.contact {
            h1 {
                (contact.display_name)
                @if !contact.active { " " span.badge { "Deactivated" } }
            }
            @if !contact.active {
                p.notice { "This person is deactivated: they can no longer sign in. Their details are kept for reference." }
            }
            (details(book, contact))
            p { a.button href=(format!("/contacts/{id}.vcf")) download { "Download vCard" } }
            @if !reports.is_empty() {
                h2 #reports-heading { "Direct reports" }
                ul #reports.results aria-labelledby="reports-heading" {
                    @for report in reports {
                        li.result {
                            a href=(format!("/contacts/{}", report.id)) { (report.display_name) }
                            @if !report.active { " " span.badge { "Deactivated" } }
                            @if let Some(title) = &report.title { span.meta { (title) } }
                        }
                    }
                }
            }
        }
    };
    super::page(book, &contact.display_name, main)
}
