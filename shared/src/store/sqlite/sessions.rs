//! [`SessionStore`] on SQLite.

use super::*;

fn session_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<SessionRecord> {
    Ok(SessionRecord {
        directory: r.get(0)?,
        user_id: r.get(1)?,
        id_hash: r.get(2)?,
        created: r.get(3)?,
        last_used: r.get(4)?,
        expires_at: r.get(5)?,
        device: r.get(6)?,
    })
}

#[async_trait]
impl SessionStore for SqliteStore {
    async fn create_session(&self, session: &SessionRecord) -> Result<(), StoreError> {
        let conn = self.lock();
        let tx = Tx::write(&conn)?;
        // Expired sessions go when new ones come.
        run(&tx, "DELETE FROM sessions WHERE expires_at <= ?1", params![session.created])?;
        run(
            &tx,
            "INSERT INTO sessions (directory, user_id, id_hash, created, last_used, expires_at, device)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                session.directory,
                session.user_id,
                session.id_hash,
                session.created,
                session.last_used,
                session.expires_at,
                session.device
            ],
        )?;
        tx.commit()
    }

    async fn get_session(
        &self,
        directory: &str,
        user_id: &str,
        id_hash: &str,
        now: i64,
    ) -> Result<Option<SessionRecord>, StoreError> {
        self.lock()
            .prepare_cached(
                "SELECT directory, user_id, id_hash, created, last_used, expires_at, device FROM sessions
                 WHERE directory = ?1 AND user_id = ?2 AND id_hash = ?3 AND expires_at > ?4",
            )
            .and_then(|mut stmt| stmt.query_row(params![directory, user_id, id_hash, now], session_from_row).optional())
            .map_err(backend)
    }

    async fn touch_session(&self, directory: &str, user_id: &str, id_hash: &str, now: i64) -> Result<(), StoreError> {
        run(
            &self.lock(),
            "UPDATE sessions SET last_used = ?4 WHERE directory = ?1 AND user_id = ?2 AND id_hash = ?3",
            params![directory, user_id, id_hash, now],
        )?;
        Ok(())
    }

    async fn list_sessions(&self, directory: &str, user_id: &str, now: i64) -> Result<Vec<SessionRecord>, StoreError> {
        self.lock()
            .prepare_cached(
                "SELECT directory, user_id, id_hash, created, last_used, expires_at, device FROM sessions
                 WHERE directory = ?1 AND user_id = ?2 AND expires_at > ?3 ORDER BY last_used DESC, id_hash",
            )
            .and_then(|mut stmt| {
                stmt.query_map(params![directory, user_id, now], session_from_row)?.collect::<Result<Vec<_>, _>>()
            })
            .map_err(backend)
    }

    async fn end_session(&self, directory: &str, user_id: &str, id_hash: &str) -> Result<bool, StoreError> {
        let ended = run(
            &self.lock(),
            "DELETE FROM sessions WHERE directory = ?1 AND user_id = ?2 AND id_hash = ?3",
            params![directory, user_id, id_hash],
        )?;
        Ok(ended > 0)
    }
}
