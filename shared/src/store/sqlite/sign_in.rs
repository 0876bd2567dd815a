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
