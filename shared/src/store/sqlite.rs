//! The embedded store: one SQLite database file (WAL mode), safe to share between `fd-local` and `fd-admin`.
//!
//! Calls are short and run inline on the calling task under one connection lock; writes use `BEGIN IMMEDIATE`
//! so concurrent processes serialise on the database lock instead of failing half-way.

use super::{CONTINUATION_TTL_SECS, Directory, KeysetPage, SamlConfig, Store, StoreError, UserPage};
use crate::auth::{Credential, KeyHash, KeyRecord};
use crate::scim::manager::display_name_key;
use crate::scim::user::{UserDoc, UserRecord, user_name_key};
use async_trait::async_trait;
use rusqlite::{Connection, ErrorCode, OptionalExtension, params};
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

/// 2: `users.display_name_key` and its index (manager links).
const SCHEMA_VERSION: i64 = 2;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS directories (
    id      TEXT PRIMARY KEY,
    name    TEXT NOT NULL,
    created TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS access_keys (
    directory TEXT NOT NULL REFERENCES directories(id),
    id        TEXT NOT NULL,
    name      TEXT NOT NULL,
    hash      TEXT NOT NULL,
    created   TEXT NOT NULL,
    revoked   TEXT,
    PRIMARY KEY (directory, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS users (
    directory     TEXT NOT NULL REFERENCES directories(id),
    id            TEXT NOT NULL,
    user_name_key TEXT NOT NULL,
    external_id   TEXT,
    version       INTEGER NOT NULL,
    created       TEXT NOT NULL,
    last_modified TEXT NOT NULL,
    doc           TEXT NOT NULL,
    display_name_key TEXT,
    PRIMARY KEY (directory, id),
    UNIQUE (directory, user_name_key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS users_by_external_id ON users (directory, external_id) WHERE external_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS saml_configs (
    directory TEXT PRIMARY KEY REFERENCES directories(id),
    config    TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS saml_once (
    directory  TEXT NOT NULL,
    kind       TEXT NOT NULL,
    id         TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (directory, kind, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS saml_once_by_expiry ON saml_once (expires_at);
CREATE TABLE IF NOT EXISTS index_continuations (
    directory   TEXT NOT NULL,
    key_id      TEXT NOT NULL,
    page_size   INTEGER NOT NULL,
    start_index INTEGER NOT NULL,
    after_id    TEXT NOT NULL,
    expires_at  INTEGER NOT NULL,
    PRIMARY KEY (directory, key_id, page_size, start_index)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS index_continuations_by_expiry ON index_continuations (expires_at);
";

/// SQLite-backed [`Store`].
pub struct SqliteStore {
    connection: Mutex<Connection>,
    /// Tells the checkpoint thread to stop when the store is dropped.
    _checkpointer: Option<Checkpointer>,
}

/// Copies the WAL back into the database from a thread of its own, so that no request waits for a checkpoint's
/// `fsync`; requests then only append to the WAL.
struct Checkpointer {
    stop: std::sync::mpsc::Sender<()>,
}

impl Checkpointer {
    const INTERVAL: std::time::Duration = std::time::Duration::from_millis(200);

    fn start(path: &Path) -> Result<Self, StoreError> {
        let connection = Connection::open(path).map_err(backend)?;
        connection.busy_timeout(std::time::Duration::from_secs(5)).map_err(backend)?;
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || {
                while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(Self::INTERVAL) {
                    if let Err(e) = connection.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                        tracing::warn!(error = %e, "WAL checkpoint failed");
                    }
                }
            })
            .map_err(|e| StoreError::Backend(format!("start the checkpoint thread: {e}")))?;
        Ok(Self { stop })
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        let _ = self.stop.send(());
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path`, with WAL checkpoints on a background thread.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let connection = Connection::open(path).map_err(backend)?;
        let mut store = Self::init(connection)?;
        // A safety net only: the background thread normally keeps the WAL short.
        store.lock().pragma_update(None, "wal_autocheckpoint", 10_000).map_err(backend)?;
        store._checkpointer = Some(Checkpointer::start(path)?);
        Ok(store)
    }

    /// A private in-memory database (tests).
    pub fn in_memory() -> Result<Self, StoreError> {
        Self::init(Connection::open_in_memory().map_err(backend)?)
    }

    fn init(connection: Connection) -> Result<Self, StoreError> {
        connection.busy_timeout(std::time::Duration::from_secs(5)).map_err(backend)?;
        connection
            .execute_batch(
                // WAL with NORMAL sync: durable across process crashes, one fsync per checkpoint. A 64 MiB page
                // cache and memory-mapped reads keep a large directory's reads out of the kernel.
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;
                 PRAGMA cache_size = -65536; PRAGMA mmap_size = 268435456; PRAGMA temp_store = MEMORY;",
            )
            .map_err(backend)?;
        let version: i64 = connection.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(backend)?;
        if version > SCHEMA_VERSION {
            return Err(StoreError::Backend(format!(
                "database schema version {version} is newer than this build ({SCHEMA_VERSION})"
            )));
        }
        connection.execute_batch(SCHEMA).map_err(backend)?;
        add_display_name_key(&connection)?;
        connection.pragma_update(None, "user_version", SCHEMA_VERSION).map_err(backend)?;
        Ok(Self { connection: Mutex::new(connection), _checkpointer: None })
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite inconsistent (transactions roll back on drop).
        self.connection.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn backend(e: rusqlite::Error) -> StoreError {
    match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => StoreError::Unavailable(e.to_string()),
        _ => StoreError::Backend(e.to_string()),
    }
}

fn is_unique_violation(e: &rusqlite::Error) -> bool {
    e.sqlite_error_code() == Some(ErrorCode::ConstraintViolation)
}

/// A transaction whose control statements are prepared once and cached, like every other statement here.
/// Dropped without [`Tx::commit`], it rolls back.
struct Tx<'c> {
    conn: &'c Connection,
    open: bool,
}

impl<'c> Tx<'c> {
    /// `BEGIN IMMEDIATE`: takes the write lock up front, so concurrent writers queue instead of failing half-way.
    fn write(conn: &'c Connection) -> Result<Self, StoreError> {
        Self::begin(conn, "BEGIN IMMEDIATE")
    }

    /// A read transaction: the key check and the read see one snapshot, under one WAL read lock.
    fn read(conn: &'c Connection) -> Result<Self, StoreError> {
        Self::begin(conn, "BEGIN")
    }

    fn begin(conn: &'c Connection, sql: &str) -> Result<Self, StoreError> {
        run(conn, sql, [])?;
        Ok(Self { conn, open: true })
    }

    fn commit(mut self) -> Result<(), StoreError> {
        run(self.conn, "COMMIT", [])?;
        self.open = false;
        Ok(())
    }
}

impl std::ops::Deref for Tx<'_> {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        self.conn
    }
}

impl Drop for Tx<'_> {
    fn drop(&mut self) {
        if self.open {
            let _ = run(self.conn, "ROLLBACK", []);
        }
    }
}

/// Executes a cached statement; returns the number of rows changed.
fn run(conn: &Connection, sql: &str, params: impl rusqlite::Params) -> Result<usize, StoreError> {
    execute(conn, sql, params).map_err(backend)
}

fn execute(conn: &Connection, sql: &str, params: impl rusqlite::Params) -> rusqlite::Result<usize> {
    conn.prepare_cached(sql)?.execute(params)
}

fn check_credential(conn: &Connection, credential: &Credential) -> Result<(), StoreError> {
    let key = conn
        .prepare_cached("SELECT name, hash, created, revoked FROM access_keys WHERE directory = ?1 AND id = ?2")
        .and_then(|mut stmt| {
            stmt.query_row(params![credential.directory, credential.key_id], |r| {
                Ok(KeyRecord {
                    directory: credential.directory.clone(),
                    id: credential.key_id.clone(),
                    name: r.get(0)?,
                    hash: KeyHash::from_hex(&r.get::<_, String>(1)?).unwrap_or(KeyHash([0; 32])),
                    created: r.get(2)?,
                    revoked: r.get(3)?,
                })
            })
            .optional()
        })
        .map_err(backend)?;
    match key {
        Some(key) if credential.admitted_by(&key) => Ok(()),
        _ => Err(StoreError::Unauthorized),
    }
}

fn directory_exists(conn: &Connection, directory: &str) -> Result<(), StoreError> {
    let exists: bool = conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM directories WHERE id = ?1)")
        .and_then(|mut stmt| stmt.query_row(params![directory], |r| r.get(0)))
        .map_err(backend)?;
    if exists { Ok(()) } else { Err(StoreError::NotFound) }
}

/// Forgets single-use SAML ids that expired before `now`.
fn purge_expired(conn: &Connection, now: i64) -> Result<(), StoreError> {
    run(conn, "DELETE FROM saml_once WHERE expires_at <= ?1", params![now]).map(|_| ())
}

/// The directory's user count.
fn count_users(conn: &Connection, directory: &str) -> Result<u64, StoreError> {
    let total: i64 = conn
        .prepare_cached("SELECT COUNT(*) FROM users WHERE directory = ?1")
        .and_then(|mut s| s.query_row(params![directory], |r| r.get(0)))
        .map_err(backend)?;
    Ok(u64::try_from(total).unwrap_or(0))
}

/// A 1-based index as an SQLite integer (indexes beyond `i64::MAX` name no continuation anyone wrote).
fn index_key(index: u64) -> i64 {
    i64::try_from(index).unwrap_or(i64::MAX)
}

const USER_COLUMNS: &str = "id, version, created, last_modified, doc";

fn user_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<(String, u64, String, String, String)> {
    Ok((row.get(0)?, row.get::<_, i64>(1)? as u64, row.get(2)?, row.get(3)?, row.get(4)?))
}

fn to_record(
    (id, version, created, last_modified, doc): (String, u64, String, String, String),
) -> Result<UserRecord, StoreError> {
    let attributes = serde_json::from_str(&doc).map_err(|e| StoreError::Backend(format!("stored user {id}: {e}")))?;
    Ok(UserRecord { id, version, created, last_modified, doc: UserDoc::from_stored(attributes) })
}

fn doc_json(user: &UserRecord) -> Result<String, StoreError> {
    serde_json::to_string(user.doc.attributes()).map_err(|e| StoreError::Backend(e.to_string()))
}

fn query_users(conn: &Connection, sql: &str, params: impl rusqlite::Params) -> Result<Vec<UserRecord>, StoreError> {
    let rows: Vec<_> = conn
        .prepare_cached(sql)
        .and_then(|mut stmt| stmt.query_map(params, user_from_row)?.collect::<Result<Vec<_>, _>>())
        .map_err(backend)?;
    rows.into_iter().map(to_record).collect()
}

#[async_trait]
impl Store for SqliteStore {
    async fn create_directory(&self, directory: &Directory) -> Result<(), StoreError> {
        self.lock()
            .execute(
                "INSERT INTO directories (id, name, created) VALUES (?1, ?2, ?3)",
                params![directory.id, directory.name, directory.created],
            )
            .map_err(backend)?;
        Ok(())
    }

    async fn list_directories(&self) -> Result<Vec<Directory>, StoreError> {
        let conn = self.lock();
        let mut stmt =
            conn.prepare_cached("SELECT id, name, created FROM directories ORDER BY name, id").map_err(backend)?;
        let rows = stmt
            .query_map([], |r| Ok(Directory { id: r.get(0)?, name: r.get(1)?, created: r.get(2)? }))
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(backend)?;
        Ok(rows)
    }

    async fn get_directory(&self, id: &str) -> Result<Option<Directory>, StoreError> {
        self.lock()
            .query_row("SELECT id, name, created FROM directories WHERE id = ?1", params![id], |r| {
                Ok(Directory { id: r.get(0)?, name: r.get(1)?, created: r.get(2)? })
            })
            .optional()
            .map_err(backend)
    }

    async fn create_key(&self, key: &KeyRecord) -> Result<(), StoreError> {
        let conn = self.lock();
        let tx = Tx::write(&conn)?;
        directory_exists(&tx, &key.directory)?;
        run(
            &tx,
            "INSERT INTO access_keys (directory, id, name, hash, created, revoked) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![key.directory, key.id, key.name, key.hash.to_hex(), key.created, key.revoked],
        )?;
        tx.commit()
    }

    async fn list_keys(&self, directory: &str) -> Result<Vec<KeyRecord>, StoreError> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare_cached(
                "SELECT id, name, hash, created, revoked FROM access_keys WHERE directory = ?1 ORDER BY created, id",
            )
            .map_err(backend)?;
        let rows = stmt
            .query_map(params![directory], |r| {
                Ok(KeyRecord {
                    directory: directory.to_string(),
                    id: r.get(0)?,
                    name: r.get(1)?,
                    hash: KeyHash::from_hex(&r.get::<_, String>(2)?).unwrap_or(KeyHash([0; 32])),
                    created: r.get(3)?,
                    revoked: r.get(4)?,
                })
            })
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(backend)?;
        Ok(rows)
    }

    async fn revoke_key(&self, directory: &str, key_id: &str, at: &str) -> Result<(), StoreError> {
        let changed = self
            .lock()
            .execute(
                "UPDATE access_keys SET revoked = COALESCE(revoked, ?3) WHERE directory = ?1 AND id = ?2",
                params![directory, key_id, at],
            )
            .map_err(backend)?;
        if changed == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }

    async fn authorize(&self, credential: &Credential) -> Result<(), StoreError> {
        check_credential(&self.lock(), credential)
    }

    async fn get_user(&self, credential: &Credential, id: &str) -> Result<UserRecord, StoreError> {
        let guard = self.lock();
        let conn = Tx::read(&guard)?;
        check_credential(&conn, credential)?;
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE directory = ?1 AND id = ?2");
        query_users(&conn, &sql, params![credential.directory, id])?.pop().ok_or(StoreError::NotFound)
    }

    async fn find_user_by_user_name(
        &self,
        credential: &Credential,
        user_name: &str,
    ) -> Result<Option<UserRecord>, StoreError> {
        let guard = self.lock();
        let conn = Tx::read(&guard)?;
        check_credential(&conn, credential)?;
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE directory = ?1 AND user_name_key = ?2");
        Ok(query_users(&conn, &sql, params![credential.directory, user_name_key(user_name)])?.pop())
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
        let conn = self.lock();
        let tx = Tx::write(&conn)?;
        check_credential(&tx, credential)?;
        let inserted = execute(
            &tx,
            "INSERT INTO users (directory, id, user_name_key, external_id, version, created, last_modified, doc,
                                display_name_key)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                credential.directory,
                user.id,
                user.doc.user_name_key(),
                user.doc.external_id(),
                user.version as i64,
                user.created,
                user.last_modified,
                doc_json(user)?,
                user.doc.display_name_key(),
            ],
        );
        match inserted {
            Ok(_) => tx.commit(),
            Err(e) if is_unique_violation(&e) => Err(StoreError::UserNameTaken),
            Err(e) => Err(backend(e)),
        }
    }

    async fn replace_user(
        &self,
        credential: &Credential,
        previous: &UserRecord,
        next: &UserRecord,
    ) -> Result<(), StoreError> {
        let conn = self.lock();
        let tx = Tx::write(&conn)?;
        check_credential(&tx, credential)?;
        let updated = execute(
            &tx,
            "UPDATE users SET user_name_key = ?3, external_id = ?4, version = ?5, last_modified = ?6, doc = ?7,
                              display_name_key = ?9
             WHERE directory = ?1 AND id = ?2 AND version = ?8",
            params![
                credential.directory,
                previous.id,
                next.doc.user_name_key(),
                next.doc.external_id(),
                next.version as i64,
                next.last_modified,
                doc_json(next)?,
                previous.version as i64,
                next.doc.display_name_key(),
            ],
        );
        match updated {
            Ok(1) => tx.commit(),
            Ok(_) => Err(missing_or_changed(&tx, &credential.directory, &previous.id)?),
            Err(e) if is_unique_violation(&e) => Err(StoreError::UserNameTaken),
            Err(e) => Err(backend(e)),
        }
    }

    async fn delete_user(&self, credential: &Credential, previous: &UserRecord) -> Result<(), StoreError> {
        let conn = self.lock();
        let tx = Tx::write(&conn)?;
        check_credential(&tx, credential)?;
        let deleted = run(
            &tx,
            "DELETE FROM users WHERE directory = ?1 AND id = ?2 AND version = ?3",
            params![credential.directory, previous.id, previous.version as i64],
        )?;
        if deleted == 1 { tx.commit() } else { Err(missing_or_changed(&tx, &credential.directory, &previous.id)?) }
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
        let conn = Tx::read(&guard)?;
        check_credential(&conn, credential)?;
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE directory = ?1 AND id = ?2");
        let user = query_users(&conn, &sql, params![credential.directory, id])?.pop().ok_or(StoreError::NotFound)?;
        let ids = user_ids_by_display_name(&conn, &credential.directory, display_name, limit)?;
        Ok((user, ids))
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

    async fn set_saml_config(&self, directory: &str, config: &SamlConfig) -> Result<(), StoreError> {
        let json = serde_json::to_string(config).map_err(|e| StoreError::Backend(e.to_string()))?;
        let conn = self.lock();
        let tx = Tx::write(&conn)?;
        directory_exists(&tx, directory)?;
        run(
            &tx,
            "INSERT INTO saml_configs (directory, config) VALUES (?1, ?2)
             ON CONFLICT (directory) DO UPDATE SET config = excluded.config",
            params![directory, json],
        )?;
        tx.commit()
    }

    async fn saml_config(&self, directory: &str) -> Result<Option<SamlConfig>, StoreError> {
        let json: Option<String> = self
            .lock()
            .prepare_cached("SELECT config FROM saml_configs WHERE directory = ?1")
            .and_then(|mut stmt| stmt.query_row(params![directory], |r| r.get(0)).optional())
            .map_err(backend)?;
        json.map(|json| serde_json::from_str(&json))
            .transpose()
            .map_err(|e| StoreError::Backend(format!("stored SAML configuration of {directory}: {e}")))
    }

    async fn clear_saml_config(&self, directory: &str) -> Result<(), StoreError> {
        let conn = self.lock();
        let tx = Tx::write(&conn)?;
        directory_exists(&tx, directory)?;
        run(&tx, "DELETE FROM saml_configs WHERE directory = ?1", params![directory])?;
        tx.commit()
    }

    async fn sign_in_user(&self, directory: &str, user_name: &str) -> Result<Option<UserRecord>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE directory = ?1 AND user_name_key = ?2");
        Ok(query_users(&self.lock(), &sql, params![directory, user_name_key(user_name)])?.pop())
    }

    async fn session_user(&self, directory: &str, id: &str) -> Result<Option<UserRecord>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE directory = ?1 AND id = ?2");
        Ok(query_users(&self.lock(), &sql, params![directory, id])?.pop())
    }

    async fn remember_saml_request(
        &self,
        directory: &str,
        request_id: &str,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        run(
            &self.lock(),
            "INSERT INTO saml_once (directory, kind, id, expires_at) VALUES (?1, 'request', ?2, ?3)
             ON CONFLICT DO UPDATE SET expires_at = excluded.expires_at",
            params![directory, request_id, expires_at],
        )?;
        Ok(())
    }

    async fn take_saml_request(&self, directory: &str, request_id: &str, now: i64) -> Result<bool, StoreError> {
        let conn = self.lock();
        let tx = Tx::write(&conn)?;
        let taken = run(
            &tx,
            "DELETE FROM saml_once WHERE directory = ?1 AND kind = 'request' AND id = ?2 AND expires_at > ?3",
            params![directory, request_id, now],
        )?;
        purge_expired(&tx, now)?;
        tx.commit()?;
        Ok(taken == 1)
    }

    async fn record_assertion(
        &self,
        directory: &str,
        assertion_id: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<bool, StoreError> {
        let conn = self.lock();
        let tx = Tx::write(&conn)?;
        // An expired record does not count: purge first.
        purge_expired(&tx, now)?;
        let inserted = run(
            &tx,
            "INSERT INTO saml_once (directory, kind, id, expires_at) VALUES (?1, 'assertion', ?2, ?3)
             ON CONFLICT DO NOTHING",
            params![directory, assertion_id, expires_at],
        )?;
        tx.commit()?;
        Ok(inserted == 1)
    }
}

/// After a conditional write matched nothing: NotFound if the user is gone, VersionConflict otherwise.
fn missing_or_changed(conn: &Connection, directory: &str, id: &str) -> Result<StoreError, StoreError> {
    let exists: bool = conn
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM users WHERE directory = ?1 AND id = ?2)",
            params![directory, id],
            |r| r.get(0),
        )
        .map_err(backend)?;
    Ok(if exists { StoreError::VersionConflict } else { StoreError::NotFound })
}

/// Index on the folded displayName, created once the column exists (after [`add_display_name_key`]).
const DISPLAY_NAME_INDEX: &str =
    "CREATE INDEX IF NOT EXISTS users_by_display_name ON users (directory, display_name_key, id)";

/// Schema version 2 added `users.display_name_key`: databases created before get the column, filled from the
/// stored documents, in one write transaction (another process opening the same file waits, then finds it done).
fn add_display_name_key(conn: &Connection) -> Result<(), StoreError> {
    let has_column = |conn: &Connection| -> Result<bool, StoreError> {
        conn.prepare("SELECT 1 FROM pragma_table_info('users') WHERE name = 'display_name_key'")
            .and_then(|mut stmt| stmt.exists([]))
            .map_err(backend)
    };
    if !has_column(conn)? {
        let tx = Tx::write(conn)?;
        if !has_column(&tx)? {
            tx.execute_batch("ALTER TABLE users ADD COLUMN display_name_key TEXT").map_err(backend)?;
            let rows: Vec<(String, String, String)> = tx
                .prepare("SELECT directory, id, doc FROM users")
                .and_then(|mut stmt| {
                    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?.collect::<Result<Vec<_>, _>>()
                })
                .map_err(backend)?;
            for (directory, id, doc) in rows {
                let attributes =
                    serde_json::from_str(&doc).map_err(|e| StoreError::Backend(format!("stored user {id}: {e}")))?;
                let key = UserDoc::from_stored(attributes).display_name_key();
                tx.execute(
                    "UPDATE users SET display_name_key = ?3 WHERE directory = ?1 AND id = ?2",
                    params![directory, id, key],
                )
                .map_err(backend)?;
            }
        }
        tx.commit()?;
    }
    conn.execute_batch(DISPLAY_NAME_INDEX).map_err(backend)
}

fn user_ids_by_display_name(
    conn: &Connection,
    directory: &str,
    display_name: &str,
    limit: u64,
) -> Result<Vec<String>, StoreError> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    conn.prepare_cached("SELECT id FROM users WHERE directory = ?1 AND display_name_key = ?2 ORDER BY id LIMIT ?3")
        .and_then(|mut stmt| {
            stmt.query_map(params![directory, display_name_key(display_name), limit], |r| r.get(0))?
                .collect::<Result<Vec<String>, _>>()
        })
        .map_err(backend)
}

#[cfg(test)]
mod tests {
    use super::SqliteStore;
    use std::sync::Arc;

    crate::store_contract_tests!(async { Arc::new(SqliteStore::in_memory().unwrap()) as Arc<dyn crate::store::Store> });

    mod scim {
        use super::*;
        crate::scim_contract_tests!(async {
            Arc::new(SqliteStore::in_memory().unwrap()) as Arc<dyn crate::store::Store>
        });
    }

    #[tokio::test]
    async fn version_1_databases_get_the_display_name_index() {
        use crate::store::Store;
        let dir = std::env::temp_dir().join(format!("fd-sqlite-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("db.sqlite3");
        let directory = crate::auth::new_id();
        {
            let old = rusqlite::Connection::open(&path).unwrap();
            old.execute_batch(&super::SCHEMA.replace("    display_name_key TEXT,\n", "")).unwrap();
            old.pragma_update(None, "user_version", 1).unwrap();
            old.execute("INSERT INTO directories VALUES (?1, 'Old', '2025-01-01T00:00:00Z')", [&directory]).unwrap();
            old.execute(
                "INSERT INTO users (directory, id, user_name_key, version, created, last_modified, doc)
                 VALUES (?1, 'u1', 'charles', 1, '2025-01-01T00:00:00Z', '2025-01-01T00:00:00Z', ?2)",
                rusqlite::params![directory, r#"{"userName": "charles", "displayName": "Charles BABBAGE"}"#],
            )
            .unwrap();
        }
        let store = SqliteStore::open(&path).unwrap();
        let pepper = crate::auth::Pepper::new(vec![7; 32]).unwrap();
        let issued = crate::auth::issue_key(&directory, "test", &pepper);
        store.create_key(&issued.record).await.unwrap();
        let header = format!("Bearer {}", issued.token);
        let cred = crate::auth::Credential::from_authorization(Some(&header), &pepper).unwrap();
        assert_eq!(store.find_user_ids_by_display_name(&cred, "charles babbage", 2).await.unwrap(), ["u1"]);
        drop(store);
        // Opening again finds the column in place.
        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(store.find_user_ids_by_display_name(&cred, "Charles Babbage", 2).await.unwrap(), ["u1"]);
        let version: i64 = store.lock().query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        assert_eq!(version, super::SCHEMA_VERSION);
        drop(store);
        std::fs::remove_dir_all(dir).ok();
    }

    #[tokio::test]
    async fn two_connections_share_one_file() {
        let dir = std::env::temp_dir().join(format!("fd-sqlite-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("db.sqlite3");
        let admin = SqliteStore::open(&path).unwrap();
        let server = SqliteStore::open(&path).unwrap();
        crate::store::contract::shared_between_handles(&admin, &server).await;
        std::fs::remove_dir_all(dir).ok();
    }
}
