//! Persistence behind one trait, [`Store`], with an embedded SQLite implementation (the local default) and a
//! DynamoDB implementation (Lambda). Both pass the contract suite in [`contract`].
//!
//! Every user operation takes the caller's [`Credential`] and is scoped to its directory: the store checks the
//! credential against the stored key in the same round trip as the operation (a DynamoDB `BatchGetItem` or a
//! `ConditionCheck` inside the write transaction; a SQLite transaction), so revocation takes effect immediately
//! and no call reaches another directory's data.

use crate::auth::{Credential, KeyRecord};
use crate::scim::user::UserRecord;
use async_trait::async_trait;

#[cfg(any(test, feature = "contract-tests"))]
pub mod contract;
#[cfg(feature = "dynamodb")]
pub mod dynamodb;
#[cfg(feature = "sqlite")]
pub mod sqlite;

/// A tenant: one Okta org (or other client) provisions into one directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directory {
    /// 32 lowercase hex digits.
    pub id: String,
    pub name: String,
    /// RFC 3339.
    pub created: String,
}

/// One page of users.
#[derive(Debug, Clone, PartialEq)]
pub struct UserPage {
    /// Users in the whole directory (or matching the filter).
    pub total: u64,
    /// The requested slice, in the store's stable order (by id).
    pub users: Vec<UserRecord>,
}

/// Storage failures. Client-caused ones map to SCIM errors; [`StoreError::Backend`] is a server fault.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The credential is unknown, revoked or names another directory.
    #[error("access key not admitted")]
    Unauthorized,
    /// The user (or key, or directory) does not exist in this directory.
    #[error("not found")]
    NotFound,
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

/// Directories, access keys and users.
#[async_trait]
pub trait Store: Send + Sync {
    // --- administration (fd-admin) ---

    /// Creates a directory.
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

    // --- users, each authorised by the presented credential ---

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
    /// The users whose externalId equals `external_id` exactly, ordered by id.
    async fn find_users_by_external_id(
        &self,
        credential: &Credential,
        external_id: &str,
    ) -> Result<Vec<UserRecord>, StoreError>;
    /// Up to `count` users starting at the 1-based `start_index`, ordered by id, with the directory's total.
    async fn list_users(&self, credential: &Credential, start_index: u64, count: u64) -> Result<UserPage, StoreError>;
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
    /// still `previous.version` ([`StoreError::VersionConflict`]); moves the userName claim on rename.
    async fn replace_user(
        &self,
        credential: &Credential,
        previous: &UserRecord,
        next: &UserRecord,
    ) -> Result<(), StoreError>;
    /// Deletes `previous` if its stored version is unchanged, releasing its userName.
    async fn delete_user(&self, credential: &Credential, previous: &UserRecord) -> Result<(), StoreError>;
}
