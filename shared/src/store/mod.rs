//! Persistence behind role traits, with an embedded SQLite implementation (the local default) and a DynamoDB
//! implementation (Lambda). Both implement every role and pass the contract suite in [`contract`]:
//!
//! | role | for | what |
//! |---|---|---|
//! | [`AdminStore`] | `fd-admin` | directories, access keys, SAML configuration |
//! | [`UserStore`] | the SCIM functions ([`crate::service::ScimService`]) | users, scoped by the presented credential |
//! | [`SignInStore`] | the sign-in function | SAML configuration read, request ids, replay cache, the session's user |
//! | [`SessionStore`] | sign-in and the web function | server-side sessions: create, read, touch, list, end |
//! | [`AddressBookStore`] | the web function | a company's directories and users, and whether they changed |
//!
//! [`Store`] is all of them; each caller holds only the role it needs.
//!
//! Every user operation takes the caller's [`Credential`] and is scoped to its directory: the store checks the
//! credential against the stored key in the same round trip as the operation (a DynamoDB `BatchGetItem` or a
//! `ConditionCheck` inside the write transaction; a SQLite transaction), so revocation takes effect immediately
//! and no call reaches another directory's data.
//!
//! # Paging
//!
//! Users are listed in id order. [`UserStore::list_users`] serves index paging (`startIndex`, `count`) and makes a
//! sequential walk cost O(N) reads in total: serving a full page, it remembers for [`CONTINUATION_TTL_SECS`] a
//! *continuation* "in this directory, index `startIndex + count` starts after user id X"; a request whose
//! `startIndex` has an unexpired continuation starts right after X instead of skipping `startIndex - 1` users
//! (a cold `startIndex` still skips, correct but O(startIndex)). Expiry is checked on read (DynamoDB's TTL deletes
//! late). [`UserStore::list_users_after`] is the stateless form (cursor paging: the caller keeps X).
//!
//! Consistency (RFC 7644 §3.4.2.4 does not promise snapshots): each page is read at one point in time. Across the
//! pages of one walk ids strictly increase, so a walk never returns a user twice, never loops and always ends,
//! whatever is created or deleted meanwhile; users created behind the walk's position (a smaller id) are not
//! seen, users deleted before the walk reaches them are not returned, and `totalResults` is each page's own
//! count. Only a walk that resumes after its continuation expired (more than ten minutes between pages) falls back
//! to skipping by position, where concurrent changes can shift a user across the page boundary. Continuations are
//! kept per access key, page size and `startIndex`: only two simultaneous walks with the same key and page size
//! share them, and after users are created or deleted between their pages one may then resume at the other's
//! position and repeat or skip users near a page boundary. Cursor paging has no shared state and keeps
//! the guarantee above whatever runs concurrently.

use crate::auth::{Credential, KeyRecord};
use crate::scim::stored::StoredUser;
use crate::scim::user::UserRecord;
use async_trait::async_trait;

#[cfg(any(test, feature = "contract-tests"))]
pub mod contract;
#[cfg(feature = "dynamodb")]
pub mod dynamodb;
#[cfg(any(test, feature = "contract-tests"))]
pub mod scim_contract;
#[cfg(feature = "sqlite")]
pub mod sqlite;
mod versions;

pub use versions::{ShardVersion, UsersChanges, UsersVersion};

/// A tenant: one Okta org (or other client) provisions into one directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directory {
    /// 32 lowercase hex digits.
    pub id: String,
    pub name: String,
    /// RFC 3339.
    pub created: String,
    /// The short name of the company the directory belongs to; `None` for a directory that is a company of its own
    /// (every directory written before companies existed reads this way: see [`Directory::company_key`]).
    pub company: Option<String>,
}

impl Directory {
    /// The key of the directory's company: its company's folded short name, or, for a directory that is a company
    /// of its own, its id (a valid short name, and never one an admin can choose: 32 hex digits are refused).
    pub fn company_key(&self) -> String {
        match &self.company {
            Some(short_name) => crate::company::fold(short_name),
            None => self.id.clone(),
        }
    }
}

/// A company: the people of one or more directories, who find each other in the address book.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Company {
    /// 2–40 letters, digits, `-` and `_`, as the admin wrote it; unique case-insensitively.
    pub short_name: String,
    /// Display name.
    pub name: String,
    /// RFC 3339.
    pub created: String,
}

/// A directory's SAML sign-in configuration, as an admin sets it (`fd-admin saml set`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SamlConfig {
    /// The IdP's single sign-on URL (Okta's "Identity Provider Single Sign-On URL"): where SP-initiated
    /// sign-in sends the browser.
    pub login_url: String,
    /// The IdP's signing certificates (PEM), the only keys trusted for this directory; several during a rotation.
    pub certificates: Vec<String>,
    /// When set, every response's `Issuer` must equal it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idp_entity_id: Option<String>,
    /// Absolute URLs allowed as RelayState targets, besides relative paths (an entry ending in `/` allows
    /// everything below it).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub relay_state_allow_list: Vec<String>,
    /// Accept SHA-1 digests and RSA-SHA1 signatures (off unless the directory opts in).
    #[serde(default)]
    pub allow_sha1: bool,
    /// Accept only answers to this service's own AuthnRequests (SP-initiated sign-in), never an unsolicited
    /// response (Okta's dashboard tile): closes login CSRF, at the cost of the tile.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sp_initiated_only: bool,
    /// RFC 3339 time of the last change.
    pub updated: String,
}

/// How long a continuation of index paging is remembered, in seconds.
pub const CONTINUATION_TTL_SECS: i64 = 600;

/// One page of users.
#[derive(Debug, Clone, PartialEq)]
pub struct UserPage {
    /// Users in the whole directory (or matching the filter).
    pub total: u64,
    /// The requested slice, in the store's stable order (by id).
    pub users: Vec<UserRecord>,
}

/// One page of a walk by id ([`Store::list_users_after`]).
#[derive(Debug, Clone, PartialEq)]
pub struct KeysetPage {
    /// Users in the whole directory.
    pub total: u64,
    /// Up to `count` users, by id.
    pub users: Vec<UserRecord>,
    /// Whether users with larger ids follow (false when `count` is 0).
    pub more: bool,
}

/// Storage failures. Client-caused ones map to SCIM errors; [`StoreError::Backend`] is a server fault.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The credential is unknown, revoked or names another directory.
    #[error("access key not admitted")]
    Unauthorized,
    /// The user (or key, or directory) does not exist in this directory.
    #[error("not found")]
    NotFound,
    /// The thing to create exists already (a company's short name).
    #[error("already exists")]
    Conflict,
    /// Another user of the directory holds this userName (case-insensitively).
    #[error("userName already taken in this directory")]
    UserNameTaken,
    /// The record changed since it was read (optimistic concurrency).
    #[error("concurrent modification")]
    VersionConflict,
    /// Throttling or a transient outage; the caller may retry later.
    #[error("temporarily unavailable: {0}")]
    Unavailable(String),
    /// Anything else; details are for logs only.
    #[error("storage backend error: {0}")]
    Backend(String),
}

/// Administration (`fd-admin`): directories, access keys and SAML configuration. The caller is an operator.
#[async_trait]
pub trait AdminStore: Send + Sync {
    /// Creates a company; [`StoreError::Conflict`] if its short name is taken (case-insensitively).
    async fn create_company(&self, company: &Company) -> Result<(), StoreError>;
    /// A company by short name (case-insensitively). A directory that is a company of its own is found by its id,
    /// named after the directory.
    async fn get_company(&self, short_name: &str) -> Result<Option<Company>, StoreError>;
    /// Creates a directory; [`StoreError::NotFound`] if it names a company that does not exist.
    async fn create_directory(&self, directory: &Directory) -> Result<(), StoreError>;
    /// Lists every directory, ordered by name then id.
    async fn list_directories(&self) -> Result<Vec<Directory>, StoreError>;
    /// A directory by id.
    async fn get_directory(&self, id: &str) -> Result<Option<Directory>, StoreError>;
    /// Stores a new access key; [`StoreError::NotFound`] if its directory does not exist.
    async fn create_key(&self, key: &KeyRecord) -> Result<(), StoreError>;
    /// The keys of a directory (revoked ones included), ordered by creation.
    async fn list_keys(&self, directory: &str) -> Result<Vec<KeyRecord>, StoreError>;
    /// Marks a key revoked at `at` (RFC 3339); [`StoreError::NotFound`] if it does not exist.
    async fn revoke_key(&self, directory: &str, key_id: &str, at: &str) -> Result<(), StoreError>;
    /// Sets the directory's SAML configuration; [`StoreError::NotFound`] if the directory does not exist. When the
    /// trusted certificates change, the directory's sessions end (they were vouched for by the old keys).
    async fn set_saml_config(&self, directory: &str, config: &SamlConfig) -> Result<(), StoreError>;
    /// The directory's SAML configuration, if sign-in is configured.
    async fn saml_config(&self, directory: &str) -> Result<Option<SamlConfig>, StoreError>;
    /// Removes the directory's SAML configuration (sign-in stops, and the directory's sessions end);
    /// [`StoreError::NotFound`] if the directory does not exist.
    async fn clear_saml_config(&self, directory: &str) -> Result<(), StoreError>;
    /// Moves every userName claim of the directory written before the identity rule to its identity key
    /// ([`crate::scim::user::user_name_key`]); idempotent. A claim another user of the directory already holds
    /// under that key stays where it was, and its user is listed.
    async fn migrate_user_names(&self, directory: &str) -> Result<NameMigration, StoreError>;
}

/// What [`AdminStore::migrate_user_names`] did to a directory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NameMigration {
    /// Users looked at.
    pub checked: u64,
    /// Users whose claim moved to its identity key.
    pub moved: u64,
    /// Users whose claim could not move: another user of the directory is the same identity (ids).
    pub conflicts: Vec<String>,
}

/// The stored form of a record read as a record (the stores that keep no text form).
fn stored(record: UserRecord) -> Result<StoredUser, StoreError> {
    StoredUser::from_record(&record).map_err(|e| StoreError::Backend(format!("user {}: {e}", record.id)))
}

/// The SCIM operations on users (the SCIM functions), each scoped and authorised by the presented credential.
#[async_trait]
pub trait UserStore: Send + Sync {
    /// The id for a user about to be created. By default a random (version 4) UUID, whose leading hex digit is
    /// uniform (a store may spread writes by it); a store whose indexes prefer ids in creation order says so.
    fn new_user_id(&self) -> String {
        crate::auth::random_uuid().to_string()
    }
    /// Checks the credential alone (used where no other store call is made).
    async fn authorize(&self, credential: &Credential) -> Result<(), StoreError>;
    /// A user by id; [`StoreError::NotFound`] if absent.
    async fn get_user(&self, credential: &Credential, id: &str) -> Result<UserRecord, StoreError>;
    /// The user whose userName equals `user_name` case-insensitively.
    async fn find_user_by_user_name(
        &self,
        credential: &Credential,
        user_name: &str,
    ) -> Result<Option<UserRecord>, StoreError>;
    /// [`UserStore::get_user`], the document left as stored JSON text (for a response that returns it unchanged).
    async fn get_stored_user(&self, credential: &Credential, id: &str) -> Result<StoredUser, StoreError> {
        stored(self.get_user(credential, id).await?)
    }
    /// [`UserStore::find_user_by_user_name`], the document left as stored JSON text.
    async fn find_stored_user_by_user_name(
        &self,
        credential: &Credential,
        user_name: &str,
    ) -> Result<Option<StoredUser>, StoreError> {
        self.find_user_by_user_name(credential, user_name).await?.map(stored).transpose()
    }
    /// The users whose externalId equals `external_id` exactly, ordered by id.
    async fn find_users_by_external_id(
        &self,
        credential: &Credential,
        external_id: &str,
    ) -> Result<Vec<UserRecord>, StoreError>;
    /// Up to `count` users starting at the 1-based `start_index` (0 reads as 1), ordered by id, with the directory's
    /// total, at `now` (Unix seconds). Continues from an unexpired continuation for `start_index` when there is one,
    /// and remembers one for `start_index + count` after a full page (see the module documentation).
    async fn list_users(
        &self,
        credential: &Credential,
        start_index: u64,
        count: u64,
        now: i64,
    ) -> Result<UserPage, StoreError>;
    /// Up to `count` users whose ids sort after `after` (from the first when `None`), ordered by id, with the
    /// directory's total and whether more follow.
    async fn list_users_after(
        &self,
        credential: &Credential,
        after: Option<&str>,
        count: u64,
    ) -> Result<KeysetPage, StoreError>;
    /// Up to `limit` users whose ids sort after `after` (from the first when `None`), ordered by id: one step of a
    /// walk over the whole directory.
    async fn scan_users(
        &self,
        credential: &Credential,
        after: Option<&str>,
        limit: u64,
    ) -> Result<Vec<UserRecord>, StoreError>;
    /// Inserts a new user, claiming its userName atomically ([`StoreError::UserNameTaken`]).
    async fn create_user(&self, credential: &Credential, user: &UserRecord) -> Result<(), StoreError>;
    /// Replaces `previous` by `next` (same id, `next.version == previous.version + 1`) if the stored version is
    /// still `previous.version` ([`StoreError::VersionConflict`]); moves the userName claim on rename. Deactivating
    /// the user (active to inactive) ends the user's sessions in the same write, for good.
    async fn replace_user(
        &self,
        credential: &Credential,
        previous: &UserRecord,
        next: &UserRecord,
    ) -> Result<(), StoreError>;
    /// Deletes `previous` if its stored version is unchanged, releasing its userName.
    async fn delete_user(&self, credential: &Credential, previous: &UserRecord) -> Result<(), StoreError>;

    // --- display-name index (manager links); create, replace and delete keep it in the same write ---

    /// The ids of up to `limit` users whose displayName equals `display_name` case-insensitively (folded as
    /// userNames are), ordered by id.
    async fn find_user_ids_by_display_name(
        &self,
        credential: &Credential,
        display_name: &str,
        limit: u64,
    ) -> Result<Vec<String>, StoreError>;
    /// [`UserStore::get_user`] and [`UserStore::find_user_ids_by_display_name`] together, in one round trip where the
    /// store can (a PUT reads the user and resolves its manager's name at once).
    async fn get_user_and_display_name_ids(
        &self,
        credential: &Credential,
        id: &str,
        display_name: &str,
        limit: u64,
    ) -> Result<(UserRecord, Vec<String>), StoreError> {
        let user = self.get_user(credential, id).await?;
        let ids = self.find_user_ids_by_display_name(credential, display_name, limit).await?;
        Ok((user, ids))
    }
    /// Makes sure the display-name index lists each of `users` (as [`UserStore::scan_users`] returned them) under
    /// its current displayName: it backfills users written before the index existed. A user changed since it was
    /// read is skipped (its own write indexed it). Returns how many users were checked.
    async fn reindex_display_names(&self, credential: &Credential, users: &[UserRecord]) -> Result<u64, StoreError>;
}

/// Sign-in (the `saml-acs` function): the caller has proved itself another way, by a verified SAML assertion or a
/// session, so the calls are scoped by directory.
#[async_trait]
pub trait SignInStore: Send + Sync {
    /// Whether the directory exists (its SP metadata is served even before sign-in is configured).
    async fn directory_exists(&self, directory: &str) -> Result<bool, StoreError>;
    /// The directory's SAML configuration, if sign-in is configured.
    async fn sign_in_config(&self, directory: &str) -> Result<Option<SamlConfig>, StoreError>;
    /// The user of `directory` whose userName equals `user_name` case-insensitively.
    async fn sign_in_user(&self, directory: &str, user_name: &str) -> Result<Option<UserRecord>, StoreError>;
    /// The user of `directory` with this id.
    async fn session_user(&self, directory: &str, id: &str) -> Result<Option<UserRecord>, StoreError>;
    /// Records an accepted assertion id until `expires_at` (Unix seconds): true the first time, false if the
    /// id is already recorded and unexpired at `now` (a replay).
    async fn record_assertion(
        &self,
        directory: &str,
        assertion_id: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<bool, StoreError>;
}

/// A signed-in browser's session, kept on the server so that it can be ended there (sign out, "end session",
/// deactivation). The cookie carries the session id sealed under the session key; the store keeps only its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    /// SHA-256 of the session id, hex.
    pub id_hash: String,
    /// The directory the user signed in through.
    pub directory: String,
    /// The signed-in user's id.
    pub user_id: String,
    /// Unix seconds.
    pub created: i64,
    /// Unix seconds of the last request under this session (updated at most once a minute).
    pub last_used: i64,
    /// Unix seconds: the absolute end of the session.
    pub expires_at: i64,
    /// A short description of the browser (from its User-Agent), to tell sessions apart.
    pub device: String,
}

/// Sessions (the web function and sign-in): create at sign-in, read and touch on each request, list and end.
/// A user's sessions end when the user is deactivated: [`UserStore::replace_user`] removes them in the same write.
#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Stores a new session.
    async fn create_session(&self, session: &SessionRecord) -> Result<(), StoreError>;
    /// The session of `user_id` in `directory` with this id hash, if it exists and has not expired at `now`.
    async fn get_session(
        &self,
        directory: &str,
        user_id: &str,
        id_hash: &str,
        now: i64,
    ) -> Result<Option<SessionRecord>, StoreError>;
    /// Records a request under the session at `now`.
    async fn touch_session(&self, directory: &str, user_id: &str, id_hash: &str, now: i64) -> Result<(), StoreError>;
    /// The user's unexpired sessions at `now`, most recently used first.
    async fn list_sessions(&self, directory: &str, user_id: &str, now: i64) -> Result<Vec<SessionRecord>, StoreError>;
    /// Ends one session; false if there was none.
    async fn end_session(&self, directory: &str, user_id: &str, id_hash: &str) -> Result<bool, StoreError>;
}

/// What every signed-in request to the address book reads first: its session, its user and the company's users
/// versions ([`AddressBookStore::session_and_versions`]).
#[derive(Debug, Clone, Default)]
pub struct SessionAndVersions {
    /// The session, if it exists, has not expired and has not been ended.
    pub session: Option<SessionRecord>,
    /// The session's user, if it exists (active or not).
    pub user: Option<UserRecord>,
    /// One per directory asked for.
    pub versions: Vec<UsersVersion>,
}

/// The address book (the web function): what the signed-in people of a company read. The caller has checked the
/// session; every call is scoped by company or by one of the company's directories.
#[async_trait]
pub trait AddressBookStore: SessionStore + SignInStore {
    /// A company by short name (case-insensitively), or a directory that is a company of its own by its id.
    async fn find_company(&self, short_name: &str) -> Result<Option<Company>, StoreError>;
    /// A directory by id (the signed-in person's, to find their company).
    async fn find_directory(&self, id: &str) -> Result<Option<Directory>, StoreError>;
    /// The directories of a company ([`Directory::company_key`]), ordered by name then id.
    async fn company_directories(&self, company_key: &str) -> Result<Vec<Directory>, StoreError>;
    /// Each directory's [`UsersVersion`], read strongly consistently, whatever the number of users. `known` (one per
    /// directory, or empty) is what the caller last saw: a store may leave out of `recent` the writes it has seen.
    async fn users_versions(
        &self,
        directories: &[String],
        known: &[UsersVersion],
    ) -> Result<Vec<UsersVersion>, StoreError>;
    /// Every user of a directory, ordered by id (to build a company's search index).
    async fn directory_users(&self, directory: &str) -> Result<Vec<UserRecord>, StoreError>;
    /// The shard a user's writes count in (see [`UsersVersion`]); never changes for an id.
    fn user_shard(&self, id: &str) -> usize;
    /// The users of one shard of a directory (see [`UsersVersion`]), in any order.
    async fn shard_users(&self, directory: &str, shard: usize) -> Result<Vec<UserRecord>, StoreError>;
    /// The users of a directory with these ids that exist, in any order (read strongly consistently).
    async fn users_by_id(&self, directory: &str, ids: &[String]) -> Result<Vec<UserRecord>, StoreError>;
    /// [`SessionStore::get_session`], [`SignInStore::session_user`] and [`AddressBookStore::users_versions`]
    /// together, in one round trip where the store can.
    async fn session_and_versions(
        &self,
        session: &SessionLookup<'_>,
        directories: &[String],
        known: &[UsersVersion],
    ) -> Result<SessionAndVersions, StoreError> {
        let record = self.get_session(session.directory, session.user_id, session.id_hash, session.now).await?;
        let user = match record {
            Some(_) => self.session_user(session.directory, session.user_id).await?,
            None => None,
        };
        let versions = self.users_versions(directories, known).await?;
        Ok(SessionAndVersions { session: record, user, versions })
    }
}

/// Which session to read: as the cookie names it, at `now` (Unix seconds).
#[derive(Debug, Clone, Copy)]
pub struct SessionLookup<'a> {
    /// The directory the user signed in through.
    pub directory: &'a str,
    /// The user's id.
    pub user_id: &'a str,
    /// SHA-256 of the session id, hex.
    pub id_hash: &'a str,
    /// Unix seconds.
    pub now: i64,
}

/// Every role at once: what a store implements, and what opening one returns. Callers take the role they need
/// (`Arc<dyn Store>` upcasts to `Arc<dyn UserStore>` and the others).
pub trait Store: AdminStore + UserStore + SignInStore + SessionStore + AddressBookStore {}

impl<T: AdminStore + UserStore + SignInStore + SessionStore + AddressBookStore + ?Sized> Store for T {}
