//! Re-resolving every manager link of a directory: the healing path for links that went stale because *other*
//! users changed (a manager provisioned after its reports, renamed, deleted, or a second user with the same
//! display name). `fd-admin users relink-managers` runs it.
//!
//! Two walks over the directory by id ([`UserStore::scan_users`]): the first makes sure the display-name index lists
//! every user (users written before the index existed); the second re-resolves each user whose manager link is the
//! server's (see [`crate::scim::manager`]) and rewrites only those whose link changes, each write conditional on
//! the version read. A user written concurrently is skipped: that write resolved its link itself.

use crate::auth::Credential;
use crate::scim::manager::{self, LOOKUP_LIMIT};
use crate::store::{StoreError, UserStore};
use std::collections::HashMap;

/// Users read per step of a walk.
const PAGE: u64 = 500;

/// What a relink did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct RelinkReport {
    /// Users in the directory (as walked).
    pub users: u64,
    /// Users confirmed in the display-name index (0 when the index was not checked).
    pub indexed: u64,
    /// Users whose manager has a display name and no client-set link.
    pub reports: u64,
    /// Of those, users linked to their manager afterwards.
    pub linked: u64,
    /// Users rewritten because their link changed (set, moved or removed).
    pub changed: u64,
    /// Users left alone because they changed (or were deleted) during the walk.
    pub skipped: u64,
}

/// Re-resolves the manager links of the credential's directory; `users_url` is the Users endpoint new `$ref`s
/// point under. With `reindex`, first backfills the display-name index.
pub async fn relink_managers(
    store: &dyn UserStore,
    credential: &Credential,
    users_url: &str,
    reindex: bool,
) -> Result<RelinkReport, StoreError> {
    let mut report = RelinkReport::default();
    if reindex {
        let mut after: Option<String> = None;
        loop {
            let page = store.scan_users(credential, after.as_deref(), PAGE).await?;
            let Some(last) = page.last() else { break };
            after = Some(last.id.clone());
            report.indexed += store.reindex_display_names(credential, &page).await?;
        }
    }

    // Lookups by folded name, once per distinct manager name.
    let mut resolved: HashMap<String, Vec<String>> = HashMap::new();
    let mut after: Option<String> = None;
    loop {
        let page = store.scan_users(credential, after.as_deref(), PAGE).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.id.clone());
        report.users += page.len() as u64;
        for user in page {
            let Some(name) = manager::resolvable_name(&user.doc) else { continue };
            report.reports += 1;
            let key = manager::display_name_key(name);
            let ids = match resolved.get(&key) {
                Some(ids) => ids.clone(),
                None => {
                    let ids = store.find_user_ids_by_display_name(credential, name, LOOKUP_LIMIT).await?;
                    resolved.insert(key, ids.clone());
                    ids
                }
            };
            let doc = manager::link(user.doc.clone(), &ids, &user.id, users_url);
            let linked = manager::linked_id(&doc).is_some();
            if doc == user.doc {
                report.linked += u64::from(linked);
                continue;
            }
            match store.replace_user(credential, &user, &user.successor(doc)).await {
                Ok(()) => {
                    report.changed += 1;
                    report.linked += u64::from(linked);
                }
                Err(StoreError::VersionConflict | StoreError::NotFound) => report.skipped += 1,
                Err(e) => return Err(e),
            }
        }
    }
    Ok(report)
}
