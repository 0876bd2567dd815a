//! [`AdminStore`] on SQLite: directories, access keys, SAML configuration.

use super::*;

#[async_trait]
impl AdminStore for SqliteStore {
    async fn create_company(&self, company: &Company) -> Result<(), StoreError> {
        let inserted = self.lock().execute(
            "INSERT INTO companies (short_key, short_name, name, created) VALUES (?1, ?2, ?3, ?4)",
            params![crate::company::fold(&company.short_name), company.short_name, company.name, company.created],
        );
        match inserted {
            Ok(_) => Ok(()),
            Err(e) if is_unique_violation(&e) => Err(StoreError::Conflict),
            Err(e) => Err(backend(e)),
        }
    }

    async fn get_company(&self, short_name: &str) -> Result<Option<Company>, StoreError> {
        let key = crate::company::fold(short_name);
        let conn = self.lock();
        let company = conn
            .query_row("SELECT short_name, name, created FROM companies WHERE short_key = ?1", params![key], |r| {
                Ok(Company { short_name: r.get(0)?, name: r.get(1)?, created: r.get(2)? })
            })
            .optional()
            .map_err(backend)?;
        if company.is_some() || !crate::auth::is_id(&key) {
            return Ok(company);
        }
        // A directory that is a company of its own.
        conn.query_row(
            "SELECT id, name, created FROM directories WHERE id = ?1 AND company IS NULL",
            params![key],
            |r| Ok(Company { short_name: r.get(0)?, name: r.get(1)?, created: r.get(2)? }),
        )
        .optional()
        .map_err(backend)
    }

    async fn create_directory(&self, directory: &Directory) -> Result<(), StoreError> {
        let conn = self.lock();
        let tx = Tx::write(&conn)?;
        let company = directory.company.as_deref().map(crate::company::fold);
        if let Some(key) = &company {
            let exists = tx
                .prepare_cached("SELECT 1 FROM companies WHERE short_key = ?1")
                .and_then(|mut stmt| stmt.exists(params![key]))
                .map_err(backend)?;
            if !exists {
                return Err(StoreError::NotFound);
            }
        }
        tx.execute(
            "INSERT INTO directories (id, name, created, company) VALUES (?1, ?2, ?3, ?4)",
            params![directory.id, directory.name, directory.created, company],
        )
        .map_err(backend)?;
        tx.commit()
    }

    async fn list_directories(&self) -> Result<Vec<Directory>, StoreError> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare_cached("SELECT id, name, created, company FROM directories ORDER BY name, id")
            .map_err(backend)?;
        let rows = stmt
            .query_map([], directory_from_row)
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(backend)?;
        Ok(rows)
    }

    async fn get_directory(&self, id: &str) -> Result<Option<Directory>, StoreError> {
        self.lock()
            .query_row(
                "SELECT id, name, created, company FROM directories WHERE id = ?1",
                params![id],
                directory_from_row,
            )
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
                    hash: hash_column(r, 2)?,
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

    async fn set_saml_config(&self, directory: &str, config: &SamlConfig) -> Result<(), StoreError> {
        let json = serde_json::to_string(config).map_err(|e| StoreError::Backend(e.to_string()))?;
        let conn = self.lock();
        let tx = Tx::write(&conn)?;
        directory_exists(&tx, directory)?;
        let previous: Option<String> = tx
            .query_row("SELECT config FROM saml_configs WHERE directory = ?1", params![directory], |r| r.get(0))
            .optional()
            .map_err(backend)?;
        let previous_certificates =
            previous.and_then(|json| serde_json::from_str::<SamlConfig>(&json).ok()).map(|c| c.certificates);
        if previous_certificates.is_some_and(|old| old != config.certificates) {
            run(&tx, "DELETE FROM sessions WHERE directory = ?1", params![directory])?;
        }
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
        run(&tx, "DELETE FROM sessions WHERE directory = ?1", params![directory])?;
        tx.commit()
    }

    async fn migrate_user_names(&self, directory: &str) -> Result<NameMigration, StoreError> {
        super::rekey_directory_user_names(&self.lock(), Some(directory))
    }
}
