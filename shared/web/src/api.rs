//! The JSON API under the session (the search page's script uses it):
//!
//! - `GET /api/contacts?q=&givenName=&familyName=&title=&manager=&division=&department=&directory=&active=true&cursor=`
//!   → `{"total":N,"contacts":[{id,displayName,title,department,email,phone,active}],"next":CURSOR|null}`
//! - `GET /api/facets?<same>` → `{"givenName":[{"value","label","count"}], …}` for every filter
//! - `GET /api/contacts/{id}` → the full contact, with `manager` and `directReports`
//!
//! Another company's ids answer 404, like ids that never existed.

use fd_contacts::{Contact, FieldValue};
use fd_search::Query;
use serde_json::{Value, json};

use crate::book::CompanyBook;
use crate::pages::search::{FILTERS, MAX_FACET_VALUES, facet_label, facet_values};
use crate::service::{WebResponse, api_error};

/// `GET /api/contacts`.
pub fn contacts(book: &CompanyBook, query: &Query) -> WebResponse {
    match book.index.search(query) {
        Ok(page) => {
            let contacts: Vec<Value> = page
                .hits
                .iter()
                .map(|hit| {
                    let contact = book.contact(&hit.id);
                    json!({
                        "id": hit.id,
                        "displayName": hit.display_name,
                        "title": hit.title,
                        "department": hit.department,
                        "email": contact.and_then(|c| c.primary_email()).map(|e| e.value.clone()),
                        "phone": contact.and_then(|c| c.primary_phone()).map(|p| p.value.clone()),
                        "active": hit.active,
                    })
                })
                .collect();
            WebResponse::Json {
                status: 200,
                body: json!({ "total": page.total, "contacts": contacts, "next": page.next.map(|n| n.to_string()) }),
            }
        }
        Err(e) => api_error(400, &e.to_string()),
    }
}

/// `GET /api/facets`.
pub fn facets(book: &CompanyBook, query: &Query) -> WebResponse {
    match book.index.facets(query, MAX_FACET_VALUES) {
        Ok(facets) => {
            let mut body = serde_json::Map::new();
            for (name, _) in FILTERS {
                let values: Vec<Value> = facet_values(&facets, name)
                    .iter()
                    .map(|v| json!({ "value": v.value, "label": facet_label(book, name, v), "count": v.count }))
                    .collect();
                body.insert(name.to_string(), Value::Array(values));
            }
            WebResponse::Json { status: 200, body: Value::Object(body) }
        }
        Err(e) => api_error(400, &e.to_string()),
    }
}

/// `GET /api/contacts/{id}`.
pub fn contact(book: &CompanyBook, contact: &Contact) -> WebResponse {
    let id = contact.id.clone().unwrap_or_default();
    let fields: Vec<Value> = contact
        .fields()
        .iter()
        .map(|field| {
            let href = match &field.value {
                FieldValue::Manager(_) => None,
                other => other.href(),
            };
            json!({ "label": field.label, "value": field.value.text(), "href": href })
        })
        .collect();
    let manager = contact.manager.as_ref().map(|m| {
        let linked = m.id.as_deref().filter(|id| book.contact(id).is_some());
        json!({ "id": linked, "displayName": m.display_name })
    });
    let reports: Vec<Value> = book
        .index
        .direct_reports(&id)
        .iter()
        .map(|r| json!({ "id": r.id, "displayName": r.display_name, "title": r.title, "active": r.active }))
        .collect();
    WebResponse::Json {
        status: 200,
        body: json!({
            "id": id,
            "displayName": contact.display_name,
            "active": contact.active,
            "fields": fields,
            "manager": manager,
            "directReports": reports,
        }),
    }
}
