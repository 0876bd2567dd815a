//! [`AddressBookStore`] on SQLite.

use super::*;
use crate::store::{ShardVersion, UsersVersion};

#[async_trait]
impl AddressBookStore for SqliteStore {
    async fn find_company(&self, short_name: &str) -> Result<Option<Company>, StoreError> {
        AdminStore::get_company(self, short_name).await
    }

    async fn find_directory(&self, id: &str) -> Result<Option<Directory>, StoreError> {
        AdminStore::get_directory(self, id).await
    }

    async fn company_directories(&self, company_key: &str) -> Result<Vec<Directory>, StoreError> {
        self.lock()
            .prepare_cached(
                "SELECT id, name, created, company FROM directories
                 WHERE company = ?1 OR (company IS NULL AND id = ?1) ORDER BY name, id",
            )
            .and_then(|mut stmt| {
                stmt.query_map(params![company_key], directory_from_row)?.collect::<Result<Vec<_>, _>>()
            })
            .map_err(backend)
    }

    /// One shard per directory: its users version ([`super::USERS_VERSION`]), and the ids of the writes since
    /// `known` from `user_writes` while it still has them.
    async fn users_versions(
        &self,
        directories: &[String],
        known: &[UsersVersion],
    ) -> Result<Vec<UsersVersion>, StoreError> {
        let conn = self.lock();
        let tx = Tx::read(&conn)?;
        let mut versions = Vec::with_capacity(directories.len());
        for (i, directory) in directories.iter().enumerate() {
            let writes: Option<i64> = tx
                .prepare_cached(super::USERS_VERSION)
                .and_then(|mut stmt| stmt.query_row(params![directory], |r| r.get(0)))
                .map_err(backend)?;
            let writes = writes.unwrap_or(0);
            let seen = known.get(i).and_then(|k| k.shards.first()).map(|s| s.writes);
            let recent = match seen.and_then(|seen| i64::try_from(seen).ok()) {
                Some(seen) if seen < writes && writes - seen <= super::USER_WRITES_KEPT => tx
                    .prepare_cached(
                        "SELECT user_id FROM user_writes WHERE directory = ?1 AND seq > ?2 ORDER BY seq DESC",
                    )
                    .and_then(|mut stmt| {
                        stmt.query_map(params![directory, seen], |r| r.get(0))?.collect::<Result<Vec<String>, _>>()
                    })
                    .map_err(backend)?,
                _ => Vec::new(),
            };
            let writes = u64::try_from(writes).map_err(|_| StoreError::Backend("negative users version".into()))?;
            versions.push(UsersVersion { shards: vec![ShardVersion { writes, recent }] });
        }
        tx.commit()?;
        Ok(versions)
    }

    async fn directory_users(&self, directory: &str) -> Result<Vec<UserRecord>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE directory = ?1 ORDER BY id");
        query_users(&self.lock(), &sql, params![directory])
    }

    /// One shard: the whole directory.
    fn user_shard(&self, _id: &str) -> usize {
        0
    }

    /// One shard: the whole directory.
    async fn shard_users(&self, directory: &str, _shard: usize) -> Result<Vec<UserRecord>, StoreError> {
        self.directory_users(directory).await
    }

    async fn users_by_id(&self, directory: &str, ids: &[String]) -> Result<Vec<UserRecord>, StoreError> {
        let conn = self.lock();
        let tx = Tx::read(&conn)?;
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE directory = ?1 AND id = ?2");
        let mut users = Vec::with_capacity(ids.len());
        for id in ids {
            users.extend(query_users(&tx, &sql, params![directory, id])?);
        }
        tx.commit()?;
        Ok(users)
    }
}
