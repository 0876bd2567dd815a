//! `GET /account`: your own details, your sessions (each can be ended) and sign out.

use fd_shared::store::SessionRecord;
use fd_signin::SignedIn;
use maud::html;
use time::OffsetDateTime;

use crate::book::CompanyBook;
use crate::service::WebResponse;

/// A Unix time as `2026-12-05 14:03 UTC`.
pub fn when(unix: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix)
        .map(|t| {
            format!("{:04}-{:02}-{:02} {:02}:{:02} UTC", t.year(), u8::from(t.month()), t.day(), t.hour(), t.minute())
        })
        .unwrap_or_default()
}

/// The account page.
pub fn page(book: &CompanyBook, signed_in: &SignedIn, sessions: &[SessionRecord]) -> WebResponse {
    let csrf = signed_in.csrf_token();
    let current = signed_in.session.id_hash();
    let me = book.contact(&signed_in.user.id);
    let main = html! {
        h1 { "My account" }
        @if let Some(me) = me {
            h2 { (me.display_name) }
            p { a href=(format!("/contacts/{}", signed_in.user.id)) { "See your contact page" } }
            (super::contact::details(book, me))
        }
        h2 #sessions-heading { "Your sessions" }
        table.sessions aria-labelledby="sessions-heading" {
            thead { tr { th scope="col" { "Device" } th scope="col" { "Started" } th scope="col" { "Last used" } th scope="col" { span.visually-hidden { "Action" } } } }
            tbody {
                @for session in sessions {
                    tr {
                        td {
                            (session.device)
                            @if session.id_hash == current { " " span.badge.current { "This session" } }
                        }
                        td { (when(session.created)) }
                        td { (when(session.last_used)) }
                        td {
                            form method="post" action=(format!("/account/sessions/{}/end", session.id_hash)) {
                                input type="hidden" name="csrf" value=(csrf);
                                button.secondary type="submit" { "End session" }
                            }
                        }
                    }
                }
            }
        }
        form method="post" action="/signout" {
            input type="hidden" name="csrf" value=(csrf);
            button type="submit" { "Sign out" }
        }
    };
    super::page(book, "My account", main)
}

#[cfg(test)]
mod tests {
    #[test]
    fn times_read_well() {
        assert_eq!(super::when(0), "1970-01-01 00:00 UTC");
    }
}
