//! [`AddressBookStore`] on SQLite.

use super::*;

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

    async fn users_versions(&self, directories: &[String]) -> Result<Vec<u64>, StoreError> {
        let conn = self.lock();
        let tx = Tx::read(&conn)?;
        let mut versions = Vec::with_capacity(directories.len());
        for directory in directories {
            let version: Option<i64> = tx
                .prepare_cached("SELECT users_version FROM directories WHERE id = ?1")
                .and_then(|mut stmt| stmt.query_row(params![directory], |r| r.get(0)).optional())
                .map_err(backend)?;
            versions.push(version.map_or(0, |v| u64::try_from(v).unwrap_or(0)));
        }
        tx.commit()?;
        Ok(versions)
    }

    async fn directory_users(&self, directory: &str) -> Result<Vec<UserRecord>, StoreError> {
        query_users(
            &self.lock(),
            "SELECT id, version, created, last_modified, doc FROM users WHERE directory = ?1 ORDER BY id",
            params![directory],
        )
    }
}
