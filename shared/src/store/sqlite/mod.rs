//! The embedded store: one SQLite database file (WAL mode), safe to share between `fd-local` and `fd-admin`.
//!
//! Calls are short and run inline on the calling task under one connection lock; writes use `BEGIN IMMEDIATE`
//! so concurrent processes serialise on the database lock instead of failing half-way.

use super::{
    AddressBookStore, AdminStore, CONTINUATION_TTL_SECS, Company, Directory, KeysetPage, NameMigration, SamlConfig,
    SessionRecord, SessionStore, SignInStore, StoreError, UserPage, UserStore,
};
use crate::auth::{Credential, KeyHash, KeyRecord};
use crate::scim::manager::display_name_key;
use crate::scim::stored::{RenderLayout, StoredUser};
use crate::scim::user::{UserDoc, UserRecord, user_name_key};
use async_trait::async_trait;
use rusqlite::config::DbConfig;
use rusqlite::{Connection, ErrorCode, OptionalExtension, params};
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

mod address_book;
mod admin;
mod group_commit;
mod sessions;
mod sign_in;
#[cfg(test)]
mod tests;
mod users;

/// 2: `users.display_name_key` and its index (manager links). 3: `companies`, `directories.company`, `sessions`.
/// 4: `user_writes` (which users the latest writes changed, for the address book). 5: `users.user_name_key` is the
/// identity key ([`user_name_key`]). 6: `users` is a rowid table ([`users_table`]). 7: `users.render_layout`, written
/// with every document, and the users version read from `user_writes` ([`USERS_VERSION`]); a build before 7 would
/// write documents without a layout and count from a version no longer kept, so it may not open the file.
const SCHEMA_VERSION: i64 = 7;

/// How many of a directory's latest user writes `user_writes` keeps: an address book that fell further behind
/// re-reads the directory.
const USER_WRITES_KEPT: i64 = 4096;

/// The `users` table, under a given name (the schema-6 migration builds it beside the old one).
///
/// A rowid table (schemas 1 to 5 made it `WITHOUT ROWID`, keyed by `(directory, id)`). A user row is about 2 KB,
/// mostly its document. In a `WITHOUT ROWID` table every cell, interior ones included, holds the whole row, and an
/// index b-tree keeps at most about 1 KB of a cell on its page: each row spilled onto an overflow page of its own
/// (4 KB on disk for the ~800 bytes that did not fit), and each key comparison on the way down the tree read that
/// overflow page (about ten `pread`s per lookup; bench/README.md). In a rowid table a row of up to ~4 KB stays on
/// its leaf page, the `(directory, id)` and `(directory, user_name_key)` indexes hold only their short keys, and a
/// lookup is one index descent and one table descent.
macro_rules! users_table {
    ($name:literal) => {
        concat!(
            "CREATE TABLE IF NOT EXISTS ",
            $name,
            " (
    directory     TEXT NOT NULL REFERENCES directories(id),
    id            TEXT NOT NULL,
    user_name_key TEXT NOT NULL,
    external_id   TEXT,
    version       INTEGER NOT NULL,
    created       TEXT NOT NULL,
    last_modified TEXT NOT NULL,
    doc           TEXT NOT NULL,
    display_name_key TEXT,
    render_layout TEXT,
    UNIQUE (directory, id),
    UNIQUE (directory, user_name_key)
);
"
        )
    };
}

const SCHEMA: &str =
    concat!("
CREATE TABLE IF NOT EXISTS companies (
    short_key  TEXT PRIMARY KEY,
    short_name TEXT NOT NULL,
    name       TEXT NOT NULL,
    created    TEXT NOT NULL
) WITHOUT ROWID;
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
",
    users_table!("users"),
    "CREATE INDEX IF NOT EXISTS users_by_external_id ON users (directory, external_id) WHERE external_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS saml_configs (
    directory TEXT PRIMARY KEY REFERENCES directories(id),
    config    TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sessions (
    directory  TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    id_hash    TEXT NOT NULL,
    created    INTEGER NOT NULL,
    last_used  INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    device     TEXT NOT NULL,
    PRIMARY KEY (directory, user_id, id_hash)
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
CREATE TABLE IF NOT EXISTS user_writes (
    directory TEXT NOT NULL,
    seq       INTEGER NOT NULL,
    user_id   TEXT NOT NULL,
    PRIMARY KEY (directory, seq)
) WITHOUT ROWID;
");

/// SQLite-backed [`Store`].
pub struct SqliteStore {
    connection: Mutex<Connection>,
    /// SCIM user writes waiting to be committed together ([`group_commit`]).
    writes: group_commit::WriteQueue,
    /// Tells the checkpoint thread to stop when the store is dropped.
    _checkpointer: Option<Checkpointer>,
    /// Keeps the memory map as large as the file the checkpoints grow (file stores).
    map: Option<std::sync::Arc<MapRefresh>>,
}

/// The memory map's limit: SQLite's own maximum (`SQLITE_MAX_MMAP_SIZE`, just under 2 GiB). Reads of the database
/// file go through the map, without a system call; pages past it are read with `pread`.
const MMAP_BYTES: i64 = 0x7fff_0000;

/// SQLite maps the database file when a connection first reads it, and grows the map only when that connection
/// grows the file. In WAL mode the checkpointer's connection grows it, so the serving connection's map would stay
/// the size the file had at its first read. The checkpointer records the file's size after each checkpoint; the
/// serving connection, between transactions, re-applies its map limit when the file outgrew its map. SQLite remaps
/// only when the limit changes, so the limit alternates between two values a page apart.
#[derive(Default)]
struct MapRefresh {
    /// The database file's size after the latest checkpoint.
    file_bytes: std::sync::atomic::AtomicU64,
    /// The file's size at the latest remap.
    mapped_bytes: std::sync::atomic::AtomicU64,
    /// Which of the two limits is in force.
    lower: std::sync::atomic::AtomicBool,
}

impl MapRefresh {
    /// Remaps `connection`'s view of the file if the file grew since the last remap (call between transactions).
    fn refresh(&self, connection: &Connection) {
        use std::sync::atomic::Ordering::Relaxed;
        let file = self.file_bytes.load(Relaxed);
        if !remap_due(file, self.mapped_bytes.load(Relaxed)) {
            return;
        }
        let lower = !self.lower.fetch_xor(true, Relaxed);
        let limit = if lower { MMAP_BYTES - 4096 } else { MMAP_BYTES };
        match connection.pragma_update(None, "mmap_size", limit) {
            Ok(()) => self.mapped_bytes.store(file, Relaxed),
            Err(e) => tracing::warn!(error = %e, "could not remap the database file"),
        }
    }
}

/// The least the file outgrows the map by before a remap (below it, the few newest pages are read with `pread`).
const MIN_REMAP_SLACK: u64 = if cfg!(test) { 64 * 1024 } else { 8 << 20 };

/// Whether a file of `file` bytes has outgrown a map of `mapped` bytes enough to remap: by an eighth of the map, and
/// at least [`MIN_REMAP_SLACK`]. A remap drops every page the map had mapped, so each page read after it faults once
/// more; on a large store whose reads are spread over the whole file, remapping after every checkpoint that grew
/// the file cost more than the `pread`s of the newest pages it saved (bench/README.md, "Throughput as the store
/// grows"). Growing the map by a fraction of its size keeps the number of remaps logarithmic in the file's growth.
fn remap_due(file: u64, mapped: u64) -> bool {
    file > mapped.saturating_add(MIN_REMAP_SLACK.max(mapped / 8))
}

/// Copies the WAL back into the database from a thread of its own, so that no request waits for a checkpoint's
/// `fsync`; requests then only append to the WAL.
struct Checkpointer {
    stop: std::sync::mpsc::Sender<()>,
}

impl Checkpointer {
    const INTERVAL: std::time::Duration = std::time::Duration::from_millis(200);

    fn start(path: &Path, map: std::sync::Arc<MapRefresh>) -> Result<Self, StoreError> {
        let connection = Connection::open(path).map_err(backend)?;
        let path = path.to_path_buf();
        connection.busy_timeout(std::time::Duration::from_secs(5)).map_err(backend)?;
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || {
                while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(Self::INTERVAL) {
                    if let Err(e) = connection.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                        tracing::warn!(error = %e, "WAL checkpoint failed");
                    }
                    if let Ok(metadata) = std::fs::metadata(&path) {
                        map.file_bytes.store(metadata.len(), std::sync::atomic::Ordering::Relaxed);
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
        let map = std::sync::Arc::new(MapRefresh::default());
        store._checkpointer = Some(Checkpointer::start(path, std::sync::Arc::clone(&map))?);
        store.map = Some(map);
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
                // WAL with NORMAL sync: durable across process crashes, one fsync per checkpoint. Reads go through
                // the memory map ([`MMAP_BYTES`], [`MapRefresh`]); the page cache is for pages being written, and stays
                // small (8 MiB): a commit after a b-tree split that renumbered pages sweeps all of it
                // (`pcache1Truncate`; bench/README.md, "Fifth round"), 13 % of fd-local's CPU at 64 MiB.
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;
                 PRAGMA cache_size = -8192; PRAGMA temp_store = MEMORY;",
            )
            .map_err(backend)?;
        connection.pragma_update(None, "mmap_size", MMAP_BYTES).map_err(backend)?;
        // Plans must not depend on bound values: otherwise SQLite marks a statement with `LIMIT ?` expired at every
        // bind and parses and plans it again at its next step, which undid the statement cache for every such
        // statement (the manager lookup of each PUT; bench/README.md, "Fifth round").
        connection.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true).map_err(backend)?;
        let version: i64 = connection.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(backend)?;
        if version > SCHEMA_VERSION {
            return Err(StoreError::Backend(format!(
                "database schema version {version} is newer than this build ({SCHEMA_VERSION})"
            )));
        }
        connection.execute_batch(SCHEMA).map_err(backend)?;
        add_display_name_key(&connection)?;
        add_column(&connection, "directories", "company", "TEXT REFERENCES companies(short_key)")?;
        add_column(&connection, "directories", "users_version", "INTEGER NOT NULL DEFAULT 0")?;
        if version < 5 {
            rekey_user_names(&connection)?;
        }
        move_users_to_rowid_table(&connection)?;
        add_column(&connection, "users", "render_layout", "TEXT")?;
        connection.pragma_update(None, "user_version", SCHEMA_VERSION).map_err(backend)?;
        Ok(Self { connection: Mutex::new(connection), writes: Default::default(), _checkpointer: None, map: None })
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite inconsistent (transactions roll back on drop).
        let connection = self.connection.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(map) = &self.map {
            map.refresh(&connection);
        }
        connection
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

/// A key hash column: 64 hex digits, else the row is corrupt (an error, never a stand-in value).
fn hash_column(row: &rusqlite::Row<'_>, index: usize) -> rusqlite::Result<KeyHash> {
    let text = row.get_ref(index)?.as_str()?;
    KeyHash::from_hex(text).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            index,
            rusqlite::types::Type::Text,
            "stored key hash is not 64 hex digits".into(),
        )
    })
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
                    hash: hash_column(r, 1)?,
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

/// The statement that reads the credential's key and, left-joined to it, the user whose `users.<column>` is `?3`:
/// one statement, one snapshot. The user's columns start at 2, in [`USER_COLUMNS`] order.
macro_rules! checked_user_sql {
    ($column:literal) => {
        concat!(
            "SELECT k.hash, k.revoked IS NOT NULL, ",
            "u.id, u.version, u.created, u.last_modified, u.doc, u.render_layout ",
            "FROM access_keys AS k LEFT JOIN users AS u ON u.directory = k.directory AND u.",
            $column,
            " = ?3 WHERE k.directory = ?1 AND k.id = ?2"
        )
    };
}

/// A user by id, read with the credential's key.
const CHECKED_USER_BY_ID: &str = checked_user_sql!("id");

/// A user by identity key, read with the credential's key.
const CHECKED_USER_BY_NAME_KEY: &str = checked_user_sql!("user_name_key");

/// Runs one of the `CHECKED_USER_*` statements: `Unauthorized` unless the credential's key admits it, then the
/// user the statement found, if any. A read needs no transaction around it: a single statement sees one snapshot.
fn checked_stored_user(
    conn: &Connection,
    credential: &Credential,
    sql: &str,
    user: &str,
) -> Result<Option<StoredUser>, StoreError> {
    let found = conn
        .prepare_cached(sql)
        .and_then(|mut stmt| {
            stmt.query_row(params![credential.directory, credential.key_id, user], |r| {
                if !credential.admitted_by_stored_key(&hash_column(r, 0)?, r.get(1)?) {
                    return Ok(None);
                }
                let found = r.get_ref(2)? != rusqlite::types::ValueRef::Null;
                Ok(Some(if found { Some(stored_user_at(r, 2)?) } else { None }))
            })
            .optional()
        })
        .map_err(backend)?;
    found.flatten().ok_or(StoreError::Unauthorized)
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

const USER_COLUMNS: &str = "id, version, created, last_modified, doc, render_layout";

/// The user whose [`USER_COLUMNS`] start at column `first` of `row`, its document left as text.
fn stored_user_at(row: &rusqlite::Row<'_>, first: usize) -> rusqlite::Result<StoredUser> {
    Ok(StoredUser {
        id: row.get(first)?,
        version: row.get::<_, i64>(first + 1)? as u64,
        created: row.get(first + 2)?,
        last_modified: row.get(first + 3)?,
        doc: row.get(first + 4)?,
        // Written beside `doc` by every write since schema 7; a layout that does not fit its text is not used.
        layout: row.get_ref(first + 5)?.as_str_or_null()?.and_then(RenderLayout::decode),
    })
}

/// A stored user's record, its document parsed.
fn parse_stored(user: StoredUser) -> Result<UserRecord, StoreError> {
    let id = user.id.clone();
    user.into_record().map_err(|e| StoreError::Backend(format!("stored user {id}: {e}")))
}

fn doc_json(user: &UserRecord) -> Result<String, StoreError> {
    user.doc.json_text().map(str::to_owned).map_err(|e| StoreError::Backend(e.to_string()))
}

fn query_users(conn: &Connection, sql: &str, params: impl rusqlite::Params) -> Result<Vec<UserRecord>, StoreError> {
    let rows: Vec<_> = conn
        .prepare_cached(sql)
        .and_then(|mut stmt| stmt.query_map(params, |row| stored_user_at(row, 0))?.collect::<Result<Vec<_>, _>>())
        .map_err(backend)?;
    rows.into_iter().map(parse_stored).collect()
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

/// Schema version 5: every stored userName is keyed by [`user_name_key`] (its identity) instead of its lowercase
/// form, in one write transaction, oldest users first. Two users that were distinct under the earlier key but are
/// one identity under the new one (`Straße` and `STRASSE`) cannot both hold it: the later one keeps its earlier key
/// (still unique, still found by its exact name) and is listed by [`AdminStore::migrate_user_names`].
fn rekey_user_names(conn: &Connection) -> Result<(), StoreError> {
    rekey_directory_user_names(conn, None).map(|_| ())
}

/// [`rekey_user_names`] for one directory, or all of them.
fn rekey_directory_user_names(conn: &Connection, directory: Option<&str>) -> Result<NameMigration, StoreError> {
    let tx = Tx::write(conn)?;
    let rows: Vec<(String, String, String, String)> = tx
        .prepare(
            "SELECT directory, id, user_name_key, doc FROM users WHERE ?1 IS NULL OR directory = ?1
             ORDER BY created, id",
        )
        .and_then(|mut stmt| {
            stmt.query_map(params![directory], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
                .collect::<Result<Vec<_>, _>>()
        })
        .map_err(backend)?;
    let mut migration = NameMigration::default();
    for (directory, id, key, doc) in rows {
        migration.checked += 1;
        let attributes =
            serde_json::from_str(&doc).map_err(|e| StoreError::Backend(format!("stored user {id}: {e}")))?;
        let identity = UserDoc::from_stored(attributes).user_name_key();
        if identity == key {
            continue;
        }
        match execute(
            &tx,
            "UPDATE users SET user_name_key = ?3 WHERE directory = ?1 AND id = ?2",
            params![directory, id, identity],
        ) {
            Ok(_) => migration.moved += 1,
            Err(e) if is_unique_violation(&e) => {
                tracing::warn!(directory, user = id, "userName keeps its earlier key: another user has its identity");
                migration.conflicts.push(id);
            }
            Err(e) => return Err(backend(e)),
        }
    }
    tx.commit()?;
    Ok(migration)
}

/// Schema 6: copies a `WITHOUT ROWID` `users` table (schemas 1 to 5) into the rowid shape of [`users_table`], in
/// one write transaction; a database already in that shape is left alone.
fn move_users_to_rowid_table(conn: &Connection) -> Result<(), StoreError> {
    let without_rowid = |conn: &Connection| -> Result<bool, StoreError> {
        conn.prepare("SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = ?1")
            .and_then(|mut stmt| stmt.query_row(params!["users"], |r| r.get::<_, String>(0)))
            .map(|sql| sql.to_ascii_uppercase().contains("WITHOUT ROWID"))
            .map_err(backend)
    };
    if !without_rowid(conn)? {
        return Ok(());
    }
    let tx = Tx::write(conn)?;
    if without_rowid(&tx)? {
        tx.execute_batch(&format!(
            "{}
             INSERT INTO users_v6 (directory, id, user_name_key, external_id, version, created, last_modified, doc,
                                   display_name_key)
                 SELECT directory, id, user_name_key, external_id, version, created, last_modified, doc,
                        display_name_key
                 FROM users ORDER BY directory, id;
             DROP TABLE users;
             ALTER TABLE users_v6 RENAME TO users;
             CREATE INDEX IF NOT EXISTS users_by_external_id ON users (directory, external_id)
                 WHERE external_id IS NOT NULL;
             {DISPLAY_NAME_INDEX};",
            users_table!("users_v6")
        ))
        .map_err(backend)?;
    }
    tx.commit()
}

/// Index on the folded displayName, created once the column exists (after [`add_display_name_key`]).
const DISPLAY_NAME_INDEX: &str =
    "CREATE INDEX IF NOT EXISTS users_by_display_name ON users (directory, display_name_key, id)";

/// Schema version 2 added `users.display_name_key`: databases created before get the column, filled from the
/// stored documents, in one write transaction (another process opening the same file waits, then finds it done).
/// Adds a nullable column to a table written by an earlier release (existing rows read it as NULL).
fn add_column(conn: &Connection, table: &str, column: &str, definition: &str) -> Result<(), StoreError> {
    let has_column = |conn: &Connection| -> Result<bool, StoreError> {
        conn.prepare("SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2")
            .and_then(|mut stmt| stmt.exists(params![table, column]))
            .map_err(backend)
    };
    if !has_column(conn)? {
        let tx = Tx::write(conn)?;
        if !has_column(&tx)? {
            tx.execute_batch(&format!("ALTER TABLE {table} ADD COLUMN {column} {definition}")).map_err(backend)?;
        }
        tx.commit()?;
    }
    Ok(())
}

/// A directory's users version: the sequence number of its latest write in `user_writes`, which always keeps the
/// latest ([`USER_WRITES_KEPT`]); `directories.users_version` for a directory written before schema 7, which
/// counted there (it is no longer updated: a write then changed one more row, and page, per batch). `NULL` for an
/// unknown directory.
const USERS_VERSION: &str = "SELECT coalesce((SELECT max(seq) FROM user_writes WHERE directory = ?1),
                                              (SELECT users_version FROM directories WHERE id = ?1))";

/// Counts a write of `user_id` in the directory's users version and logs it in `user_writes` (inside every user
/// write's transaction), forgetting writes older than the last [`USER_WRITES_KEPT`].
fn bump_users_version(tx: &Connection, directory: &str, user_id: &str) -> Result<(), StoreError> {
    let latest: Option<i64> = tx
        .prepare_cached(USERS_VERSION)
        .and_then(|mut stmt| stmt.query_row(params![directory], |r| r.get(0)))
        .map_err(backend)?;
    let seq = latest.unwrap_or(0) + 1;
    run(tx, "INSERT INTO user_writes (directory, seq, user_id) VALUES (?1, ?2, ?3)", params![directory, seq, user_id])?;
    if seq % 256 == 0 {
        run(
            tx,
            "DELETE FROM user_writes WHERE directory = ?1 AND seq <= ?2",
            params![directory, seq - USER_WRITES_KEPT],
        )?;
    }
    Ok(())
}

/// A directory row: `id, name, created, company`.
fn directory_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Directory> {
    Ok(Directory { id: r.get(0)?, name: r.get(1)?, created: r.get(2)?, company: r.get(3)? })
}

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

/// Up to `?3` ids of a directory's users bearing a display name, in id order.
const USER_IDS_BY_DISPLAY_NAME: &str =
    "SELECT id FROM users WHERE directory = ?1 AND display_name_key = ?2 ORDER BY id LIMIT ?3";

fn user_ids_by_display_name(
    conn: &Connection,
    directory: &str,
    display_name: &str,
    limit: u64,
) -> Result<Vec<String>, StoreError> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    conn.prepare_cached(USER_IDS_BY_DISPLAY_NAME)
        .and_then(|mut stmt| {
            stmt.query_map(params![directory, display_name_key(display_name), limit], |r| r.get(0))?
                .collect::<Result<Vec<String>, _>>()
        })
        .map_err(backend)
}
