//! [`SignInStore`] on SQLite: configuration read, the sign-in user, single-use request and assertion ids.

use super::*;

#[async_trait]
impl SignInStore for SqliteStore {
    async fn directory_exists(&self, directory: &str) -> Result<bool, StoreError> {
        Ok(AdminStore::get_directory(self, directory).await?.is_some())
    }

    async fn sign_in_config(&self, directory: &str) -> Result<Option<SamlConfig>, StoreError> {
        AdminStore::saml_config(self, directory).await
    }

    async fn sign_in_user(&self, directory: &str, user_name: &str) -> Result<Option<UserRecord>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE directory = ?1 AND user_name_key = ?2");
        Ok(query_users(&self.lock(), &sql, params![directory, user_name_key(user_name)])?.pop())
    }

    async fn session_user(&self, directory: &str, id: &str) -> Result<Option<UserRecord>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE directory = ?1 AND id = ?2");
        Ok(query_users(&self.lock(), &sql, params![directory, id])?.pop())
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
