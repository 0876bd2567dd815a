//! Group commit: SCIM user writes that arrive together share one write transaction, and so one WAL commit, each
//! in a savepoint of its own; every writer is answered only after that commit.
//!
//! The first writer to find no batch forming leads one: it yields to the runtime once, so that requests already
//! waiting on other connections run up to their own write and join the batch, then runs every queued write,
//! commits, and hands each writer its own outcome. No transaction is open across an `await`: the batch runs
//! synchronously under the connection lock, so reads never see a write before its commit and nothing can hold the
//! database lock while waiting for the runtime. A writer alone costs one yield.
//!
//! A write that fails (a userName taken, a version changed) is rolled back to its savepoint and answered with its
//! error; the others commit. If the commit itself fails, every write of the batch is answered with that failure
//! and none of them is kept.

use super::{SqliteStore, StoreError, Tx, run};
use rusqlite::Connection;
use std::sync::{Mutex, MutexGuard};
use tokio::sync::oneshot;

/// One write, run inside the batch's transaction.
pub(super) type Write = Box<dyn FnOnce(&Connection) -> Result<(), StoreError> + Send>;

type Reply = oneshot::Sender<Result<(), StoreError>>;

/// The writes waiting for the next batch.
#[derive(Default)]
pub(super) struct WriteQueue {
    state: Mutex<Queued>,
    /// Batches run so far (the tests read it).
    batches: std::sync::atomic::AtomicU64,
}

#[derive(Default)]
struct Queued {
    writes: Vec<(Write, Reply)>,
    /// A leader is on its way to run the queued writes.
    led: bool,
}

impl WriteQueue {
    fn lock(&self) -> MutexGuard<'_, Queued> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// How many batches have run.
    #[cfg(test)]
    pub(super) fn batches(&self) -> u64 {
        self.batches.load(std::sync::atomic::Ordering::Relaxed)
    }
}

impl SqliteStore {
    /// Runs `write` in the next batch; `Ok` once the batch committed with it.
    pub(super) async fn write_in_batch(&self, write: Write) -> Result<(), StoreError> {
        let (reply, outcome) = oneshot::channel();
        let leads = {
            let mut queue = self.writes.lock();
            queue.writes.push((write, reply));
            !std::mem::replace(&mut queue.led, true)
        };
        if leads {
            // Dropped before it runs the batch (its request was cancelled), the leader runs it on drop: the writes
            // that joined are never left waiting.
            let mut leader = Leader { store: self, done: false };
            tokio::task::yield_now().await;
            leader.run();
        }
        outcome.await.unwrap_or_else(|_| Err(StoreError::Backend("a batched write was dropped unanswered".into())))
    }

    /// Takes every queued write and runs them in one transaction.
    fn run_batch(&self) {
        let writes = {
            let mut queue = self.writes.lock();
            queue.led = false;
            std::mem::take(&mut queue.writes)
        };
        if writes.is_empty() {
            return;
        }
        self.writes.batches.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let connection = self.lock();
        for (reply, outcome) in run_writes(&connection, writes) {
            // A writer that stopped waiting (its request was cancelled) is committed all the same.
            let _ = reply.send(outcome);
        }
    }
}

/// The batch's writes, each in a savepoint, then the commit; each writer's outcome.
fn run_writes(connection: &Connection, writes: Vec<(Write, Reply)>) -> Vec<(Reply, Result<(), StoreError>)> {
    let tx = match Tx::write(connection) {
        Ok(tx) => tx,
        Err(e) => return writes.into_iter().map(|(_, reply)| (reply, Err(e.clone()))).collect(),
    };
    let mut outcomes = Vec::with_capacity(writes.len());
    let mut writes = writes.into_iter();
    while let Some((write, reply)) = writes.next() {
        let outcome = run(&tx, "SAVEPOINT batched_write", []).and_then(|_| write(&tx));
        let closed = match &outcome {
            Ok(()) => run(&tx, "RELEASE batched_write", []),
            Err(_) => run(&tx, "ROLLBACK TO batched_write", []).and_then(|_| run(&tx, "RELEASE batched_write", [])),
        };
        if let Err(e) = closed {
            // The transaction is in a state no savepoint accounts for: keep none of it.
            drop(tx);
            let replies = outcomes.into_iter().map(|(reply, _)| reply);
            let unrun = writes.map(|(_, reply)| reply);
            return replies.chain([reply]).chain(unrun).map(|reply| (reply, Err(e.clone()))).collect();
        }
        outcomes.push((reply, outcome));
    }
    match tx.commit() {
        Ok(()) => outcomes,
        Err(e) => outcomes.into_iter().map(|(reply, outcome)| (reply, outcome.and_then(|()| Err(e.clone())))).collect(),
    }
}

/// The writer that runs the batch it started, also when its future is dropped first.
struct Leader<'s> {
    store: &'s SqliteStore,
    done: bool,
}

impl Leader<'_> {
    fn run(&mut self) {
        if !std::mem::replace(&mut self.done, true) {
            self.store.run_batch();
        }
    }
}

impl Drop for Leader<'_> {
    fn drop(&mut self) {
        self.run();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch_store() -> SqliteStore {
        let store = SqliteStore::in_memory().unwrap();
        store.lock().execute_batch("CREATE TABLE scratch (n INTEGER NOT NULL)").unwrap();
        store
    }

    /// A write that inserts `n`, then fails when `fail` is set (after its insert).
    fn insert(n: i64, fail: bool) -> Write {
        Box::new(move |tx| {
            run(tx, "INSERT INTO scratch (n) VALUES (?1)", [n])?;
            if fail { Err(StoreError::VersionConflict) } else { Ok(()) }
        })
    }

    fn kept(store: &SqliteStore) -> Vec<i64> {
        let connection = store.lock();
        let mut stmt = connection.prepare("SELECT n FROM scratch ORDER BY n").unwrap();
        stmt.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
    }

    #[tokio::test]
    async fn a_failed_write_leaves_nothing_and_the_others_commit() {
        let store = scratch_store();
        let outcomes = tokio::join!(
            store.write_in_batch(insert(1, false)),
            store.write_in_batch(insert(2, true)),
            store.write_in_batch(insert(3, false))
        );
        assert!(matches!(outcomes, (Ok(()), Err(StoreError::VersionConflict), Ok(()))), "{outcomes:?}");
        assert_eq!(store.writes.batches(), 1);
        assert_eq!(kept(&store), [1, 3]);
    }

    #[tokio::test]
    async fn a_failed_commit_fails_every_write_and_keeps_none() {
        let store = scratch_store();
        // A deferred foreign key fails only at COMMIT.
        store
            .lock()
            .execute_batch(
                "CREATE TABLE parent (id INTEGER PRIMARY KEY);
                 CREATE TABLE child (parent INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED);",
            )
            .unwrap();
        let orphan: Write = Box::new(|tx| run(tx, "INSERT INTO child (parent) VALUES (42)", []).map(|_| ()));
        let outcomes = tokio::join!(store.write_in_batch(insert(1, false)), store.write_in_batch(orphan));
        assert!(matches!(outcomes, (Err(StoreError::Backend(_)), Err(StoreError::Backend(_)))), "{outcomes:?}");
        assert_eq!(kept(&store), Vec::<i64>::new());
        // The connection is usable again.
        assert!(store.write_in_batch(insert(4, false)).await.is_ok());
        assert_eq!(kept(&store), [4]);
    }
}
