//! [`UserStore`] on SQLite: the SCIM operations, each in one transaction that checks the credential.

use super::*;

#[async_trait]
impl UserStore for SqliteStore {
    /// A time-ordered UUID ([`crate::auth::time_ordered_uuid`]): each create appends to the end of the
    /// `(directory, id)` index instead of writing a random page of it (bench/README.md, "Fifth round").
    fn new_user_id(&self) -> String {
        crate::auth::time_ordered_uuid().to_string()
    }

    async fn authorize(&self, credential: &Credential) -> Result<(), StoreError> {
        check_credential(&self.lock(), credential)
    }

    async fn get_user(&self, credential: &Credential, id: &str) -> Result<UserRecord, StoreError> {
        self.get_stored_user(credential, id).await.and_then(parse_stored)
    }

    async fn find_user_by_user_name(
        &self,
        credential: &Credential,
        user_name: &str,
    ) -> Result<Option<UserRecord>, StoreError> {
        self.find_stored_user_by_user_name(credential, user_name).await?.map(parse_stored).transpose()
    }

    async fn get_stored_user(&self, credential: &Credential, id: &str) -> Result<StoredUser, StoreError> {
        checked_stored_user(&self.lock(), credential, CHECKED_USER_BY_ID, id)?.ok_or(StoreError::NotFound)
    }

    async fn find_stored_user_by_user_name(
        &self,
        credential: &Credential,
        user_name: &str,
    ) -> Result<Option<StoredUser>, StoreError> {
        checked_stored_user(&self.lock(), credential, CHECKED_USER_BY_NAME_KEY, &user_name_key(user_name))
    }

    async fn find_users_by_external_id(
        &self,
        credential: &Credential,
        external_id: &str,
    ) -> Result<Vec<UserRecord>, StoreError> {
        let guard = self.lock();
        let conn = Tx::read(&guard)?;
        check_credential(&conn, credential)?;
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE directory = ?1 AND external_id = ?2 ORDER BY id");
        query_users(&conn, &sql, params![credential.directory, external_id])
    }

    async fn list_users(
        &self,
        credential: &Credential,
        start_index: u64,
        count: u64,
        now: i64,
    ) -> Result<UserPage, StoreError> {
        let start_index = start_index.max(1);
        let guard = self.lock();
        let page = {
            let conn = Tx::read(&guard)?;
            check_credential(&conn, credential)?;
            let total = count_users(&conn, &credential.directory)?;
            let limit = i64::try_from(count).unwrap_or(i64::MAX);
            let after: Option<String> = if count == 0 || start_index == 1 {
                None
            } else {
                conn.prepare_cached(
                    "SELECT after_id FROM index_continuations
                     WHERE directory = ?1 AND key_id = ?2 AND page_size = ?3 AND start_index = ?4 AND expires_at > ?5",
                )
                .and_then(|mut stmt| {
                    let key = params![credential.directory, credential.key_id, limit, index_key(start_index), now];
                    stmt.query_row(key, |r| r.get(0)).optional()
                })
                .map_err(backend)?
            };
            let users = match (count, after) {
                (0, _) => Vec::new(),
                (_, Some(after)) => {
                    let sql = format!(
                        "SELECT {USER_COLUMNS} FROM users WHERE directory = ?1 AND id > ?2 ORDER BY id LIMIT ?3"
                    );
                    query_users(&conn, &sql, params![credential.directory, after, limit])?
                }
                (_, None) => {
                    let sql =
                        format!("SELECT {USER_COLUMNS} FROM users WHERE directory = ?1 ORDER BY id LIMIT ?2 OFFSET ?3");
                    let offset = i64::try_from(start_index - 1).unwrap_or(i64::MAX);
                    query_users(&conn, &sql, params![credential.directory, limit, offset])?
                }
            };
            UserPage { total, users }
        };
        // After a full page, remember where the next one starts. Outside the read transaction, and best effort: the
        // page is correct either way, a lost continuation only makes the next page skip.
        if let Some(last) = page.users.last().filter(|_| count > 0 && page.users.len() as u64 == count) {
            let next = index_key(start_index.saturating_add(count));
            let limit = i64::try_from(count).unwrap_or(i64::MAX);
            let expires = now.saturating_add(CONTINUATION_TTL_SECS);
            let remembered = run(&guard, "DELETE FROM index_continuations WHERE expires_at <= ?1", params![now])
                .and_then(|_| {
                    run(
                        &guard,
                        "INSERT INTO index_continuations (directory, key_id, page_size, start_index, after_id, expires_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                         ON CONFLICT DO UPDATE SET after_id = excluded.after_id, expires_at = excluded.expires_at",
                        params![credential.directory, credential.key_id, limit, next, last.id, expires],
                    )
                });
            if let Err(e) = remembered {
                tracing::warn!(error = %e, "could not remember a list continuation");
            }
        }
        Ok(page)
    }

    async fn list_users_after(
        &self,
        credential: &Credential,
        after: Option<&str>,
        count: u64,
    ) -> Result<KeysetPage, StoreError> {
        let guard = self.lock();
        let conn = Tx::read(&guard)?;
        check_credential(&conn, credential)?;
        let total = count_users(&conn, &credential.directory)?;
        if count == 0 {
            return Ok(KeysetPage { total, users: Vec::new(), more: false });
        }
        // One more than asked for tells whether more follow.
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE directory = ?1 AND id > ?2 ORDER BY id LIMIT ?3");
        let limit = i64::try_from(count.saturating_add(1)).unwrap_or(i64::MAX);
        let mut users = query_users(&conn, &sql, params![credential.directory, after.unwrap_or(""), limit])?;
        let more = users.len() as u64 > count;
        users.truncate(usize::try_from(count).unwrap_or(usize::MAX));
        Ok(KeysetPage { total, users, more })
    }

    async fn scan_users(
        &self,
        credential: &Credential,
        after: Option<&str>,
        limit: u64,
    ) -> Result<Vec<UserRecord>, StoreError> {
        let guard = self.lock();
        let conn = Tx::read(&guard)?;
        check_credential(&conn, credential)?;
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE directory = ?1 AND id > ?2 ORDER BY id LIMIT ?3");
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        query_users(&conn, &sql, params![credential.directory, after.unwrap_or(""), limit])
    }

    async fn create_user(&self, credential: &Credential, user: &UserRecord) -> Result<(), StoreError> {
        let credential = credential.clone();
        let row = UserRow::of(user)?;
        self.write_in_batch(Box::new(move |tx| {
            check_credential(tx, &credential)?;
            let inserted = execute(
                tx,
                "INSERT INTO users (directory, id, user_name_key, external_id, version, created, last_modified, doc,
                                    display_name_key, render_layout)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                row.columns(&credential),
            );
            match inserted {
                Ok(_) => bump_users_version(tx, &credential.directory, &row.id),
                Err(e) if is_unique_violation(&e) => Err(StoreError::UserNameTaken),
                Err(e) => Err(backend(e)),
            }
        }))
        .await
    }

    async fn replace_user(
        &self,
        credential: &Credential,
        previous: &UserRecord,
        next: &UserRecord,
    ) -> Result<(), StoreError> {
        let credential = credential.clone();
        let row = UserRow::of(next)?;
        let previous_version = version_column(previous.version);
        let deactivated = previous.doc.active() && !next.doc.active();
        self.write_in_batch(Box::new(move |tx| {
            check_credential(tx, &credential)?;
            // The document first, and the key columns only where they change: naming an indexed column in `SET`
            // rewrites its index entry even when the value is the same, one more page written per index.
            let stored = tx
                .prepare_cached(
                    "UPDATE users SET version = ?3, last_modified = ?4, doc = ?5, render_layout = ?7
                     WHERE directory = ?1 AND id = ?2 AND version = ?6
                     RETURNING rowid, user_name_key, external_id, display_name_key",
                )
                .and_then(|mut stmt| {
                    let params = params![
                        credential.directory,
                        row.id,
                        row.version,
                        row.last_modified,
                        row.doc,
                        previous_version,
                        row.render_layout
                    ];
                    stmt.query_row(params, |r| Ok((r.get::<_, i64>(0)?, StoredKeys::from_row(r, 1)?))).optional()
                })
                .map_err(backend)?;
            let Some((rowid, keys)) = stored else {
                return Err(missing_or_changed(tx, &credential.directory, &row.id)?);
            };
            if !keys.match_row(&row) {
                let rekeyed = execute(
                    tx,
                    "UPDATE users SET user_name_key = ?2, external_id = ?3, display_name_key = ?4 WHERE rowid = ?1",
                    params![rowid, row.user_name_key, row.external_id, row.display_name_key],
                );
                match rekeyed {
                    Ok(_) => {}
                    Err(e) if is_unique_violation(&e) => return Err(StoreError::UserNameTaken),
                    Err(e) => return Err(backend(e)),
                }
            }
            bump_users_version(tx, &credential.directory, &row.id)?;
            if deactivated {
                run(
                    tx,
                    "DELETE FROM sessions WHERE directory = ?1 AND user_id = ?2",
                    params![credential.directory, row.id],
                )?;
            }
            Ok(())
        }))
        .await
    }

    async fn delete_user(&self, credential: &Credential, previous: &UserRecord) -> Result<(), StoreError> {
        let credential = credential.clone();
        let id = previous.id.clone();
        let version = version_column(previous.version);
        self.write_in_batch(Box::new(move |tx| {
            check_credential(tx, &credential)?;
            let deleted = run(
                tx,
                "DELETE FROM users WHERE directory = ?1 AND id = ?2 AND version = ?3",
                params![credential.directory, id, version],
            )?;
            if deleted != 1 {
                return Err(missing_or_changed(tx, &credential.directory, &id)?);
            }
            run(tx, "DELETE FROM sessions WHERE directory = ?1 AND user_id = ?2", params![credential.directory, id])?;
            bump_users_version(tx, &credential.directory, &id)
        }))
        .await
    }

    async fn find_user_ids_by_display_name(
        &self,
        credential: &Credential,
        display_name: &str,
        limit: u64,
    ) -> Result<Vec<String>, StoreError> {
        let guard = self.lock();
        let conn = Tx::read(&guard)?;
        check_credential(&conn, credential)?;
        user_ids_by_display_name(&conn, &credential.directory, display_name, limit)
    }

    async fn get_user_and_display_name_ids(
        &self,
        credential: &Credential,
        id: &str,
        display_name: &str,
        limit: u64,
    ) -> Result<(UserRecord, Vec<String>), StoreError> {
        let guard = self.lock();
        // One snapshot for both statements: the user, and the ids its manager's name had then.
        let conn = Tx::read(&guard)?;
        let user = checked_stored_user(&conn, credential, CHECKED_USER_BY_ID, id)?.ok_or(StoreError::NotFound)?;
        let ids = user_ids_by_display_name(&conn, &credential.directory, display_name, limit)?;
        Ok((parse_stored(user)?, ids))
    }

    async fn reindex_display_names(&self, credential: &Credential, users: &[UserRecord]) -> Result<u64, StoreError> {
        let conn = self.lock();
        let tx = Tx::write(&conn)?;
        check_credential(&tx, credential)?;
        let mut indexed = 0;
        for user in users {
            indexed += run(
                &tx,
                "UPDATE users SET display_name_key = ?4 WHERE directory = ?1 AND id = ?2 AND version = ?3",
                params![credential.directory, user.id, user.version as i64, user.doc.display_name_key()],
            )? as u64;
        }
        tx.commit()?;
        Ok(indexed)
    }
}

/// A user's columns, computed before its write joins a batch (the write owns them).
struct UserRow {
    id: String,
    user_name_key: String,
    external_id: Option<String>,
    version: i64,
    created: String,
    last_modified: String,
    doc: String,
    display_name_key: String,
    /// Where `doc` takes the members a read splices in ([`RenderLayout`]), encoded.
    render_layout: Option<String>,
}

impl UserRow {
    fn of(user: &UserRecord) -> Result<Self, StoreError> {
        Ok(Self {
            id: user.id.clone(),
            user_name_key: user.doc.user_name_key(),
            external_id: user.doc.external_id().map(str::to_string),
            version: version_column(user.version),
            created: user.created.clone(),
            last_modified: user.last_modified.clone(),
            doc: doc_json(user)?,
            display_name_key: user.doc.display_name_key(),
            render_layout: user.doc.render_layout().map(|layout| layout.encode()),
        })
    }

    /// The row's columns in the order of `INSERT INTO users`, as its parameters `?1` to `?10`, in the credential's
    /// directory.
    fn columns<'r>(&'r self, credential: &'r Credential) -> [&'r dyn rusqlite::ToSql; 10] {
        [
            &credential.directory,
            &self.id,
            &self.user_name_key,
            &self.external_id,
            &self.version,
            &self.created,
            &self.last_modified,
            &self.doc,
            &self.display_name_key,
            &self.render_layout,
        ]
    }
}

/// The indexed columns of a stored user row, as the `RETURNING` of an update reads them from column `first` on.
struct StoredKeys {
    user_name_key: String,
    external_id: Option<String>,
    display_name_key: Option<String>,
}

impl StoredKeys {
    /// Whether `row` keeps every indexed value as stored.
    fn match_row(&self, row: &UserRow) -> bool {
        self.user_name_key == row.user_name_key
            && self.external_id == row.external_id
            && self.display_name_key.as_deref() == Some(row.display_name_key.as_str())
    }

    fn from_row(r: &rusqlite::Row<'_>, first: usize) -> rusqlite::Result<Self> {
        Ok(Self { user_name_key: r.get(first)?, external_id: r.get(first + 1)?, display_name_key: r.get(first + 2)? })
    }
}

/// A version as its SQLite integer.
fn version_column(version: u64) -> i64 {
    i64::try_from(version).unwrap_or(i64::MAX)
}
