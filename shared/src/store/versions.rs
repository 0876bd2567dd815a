//! Users versions: how the address book learns whether, and which, users of a directory changed.

/// Where a directory's user writes stand: what the address book compares to know whether, and which, users
/// changed since it last looked. A store spreads a directory's users over shards (a user's shard never changes);
/// each shard counts the writes to its users and remembers the ids of its latest ones.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UsersVersion {
    /// One per shard, in shard order (the store's number of shards; see [`super::AddressBookStore::shard_users`]).
    pub shards: Vec<ShardVersion>,
}

/// One shard of a [`UsersVersion`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShardVersion {
    /// Writes so far to the shard's users (creates, replaces, deletes; every write adds 1 in its own transaction).
    pub writes: u64,
    /// The ids written by the shard's latest writes, newest first (an id may repeat). A reader that last saw
    /// `writes - k` writes knows exactly which users changed when `k <= recent.len()`; otherwise it re-reads the
    /// shard.
    pub recent: Vec<String>,
}

/// What changed between two [`UsersVersion`]s of a directory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UsersChanges {
    /// The users written since, each once, in no particular order (some may have been deleted since).
    pub users: Vec<String>,
    /// The shards to re-read whole: more writes since than the shard remembers.
    pub shards: Vec<usize>,
}

impl UsersChanges {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.users.is_empty() && self.shards.is_empty()
    }
}

impl UsersVersion {
    /// The changes from `earlier` (another read of the same directory) to this version. A shard behind `earlier`
    /// (this read is the older one) has none; a shard count that differs (another store) re-reads every shard.
    pub fn changes_since(&self, earlier: &UsersVersion) -> UsersChanges {
        let mut changes = UsersChanges::default();
        if earlier.shards.len() != self.shards.len() {
            changes.shards = (0..self.shards.len()).collect();
            return changes;
        }
        for (shard, (now, then)) in self.shards.iter().zip(&earlier.shards).enumerate() {
            match now.writes.checked_sub(then.writes) {
                Some(0) | None => {}
                Some(gap) if usize::try_from(gap).is_ok_and(|gap| gap <= now.recent.len()) => {
                    changes.users.extend(now.recent.iter().take(gap as usize).cloned());
                }
                Some(_) => changes.shards.push(shard),
            }
        }
        changes.users.sort();
        changes.users.dedup();
        changes
    }
}

impl UsersVersion {
    /// This version, each shard advanced to `other`'s where `other` has seen more writes (same shape only; else
    /// `other`).
    pub fn newest(&self, other: &UsersVersion) -> UsersVersion {
        if self.shards.len() != other.shards.len() {
            return other.clone();
        }
        let shards = self
            .shards
            .iter()
            .zip(&other.shards)
            .map(|(mine, theirs)| if theirs.writes > mine.writes { theirs.clone() } else { mine.clone() })
            .collect();
        UsersVersion { shards }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(shards: &[(u64, &[&str])]) -> UsersVersion {
        UsersVersion {
            shards: shards
                .iter()
                .map(|(writes, recent)| ShardVersion {
                    writes: *writes,
                    recent: recent.iter().map(|id| id.to_string()).collect(),
                })
                .collect(),
        }
    }

    #[test]
    fn equal_versions_change_nothing() {
        let v = version(&[(3, &["a", "b"]), (0, &[])]);
        assert!(v.changes_since(&v.clone()).is_empty());
    }

    #[test]
    fn the_latest_writes_name_the_changed_users_once() {
        let before = version(&[(3, &["a"]), (5, &["c"])]);
        let after = version(&[(6, &["b", "a", "b", "x"]), (5, &["c"])]);
        assert_eq!(
            after.changes_since(&before),
            UsersChanges { users: vec!["a".into(), "b".into()], shards: vec![] },
            "three writes: the three newest ids, not the fourth"
        );
    }

    #[test]
    fn more_writes_than_remembered_re_read_the_shard() {
        let before = version(&[(3, &[]), (5, &[])]);
        let after = version(&[(4, &["a"]), (8, &["c", "d"])]);
        assert_eq!(after.changes_since(&before), UsersChanges { users: vec!["a".into()], shards: vec![1] });
    }

    #[test]
    fn another_shape_re_reads_and_an_older_read_changes_nothing() {
        let two = version(&[(1, &["a"]), (1, &["b"])]);
        let one = version(&[(1, &["a"])]);
        assert_eq!(one.changes_since(&two).shards, vec![0]);
        assert_eq!(two.changes_since(&UsersVersion::default()).shards, vec![0, 1]);
        let older = version(&[(0, &[]), (1, &["b"])]);
        assert!(older.changes_since(&two).is_empty());
    }

    #[test]
    fn newest_takes_each_shard_from_the_read_that_saw_more() {
        let a = version(&[(3, &["x"]), (1, &["b"])]);
        let b = version(&[(2, &["y"]), (4, &["c"])]);
        assert_eq!(a.newest(&b), version(&[(3, &["x"]), (4, &["c"])]));
        assert_eq!(a.newest(&UsersVersion::default()), UsersVersion::default());
    }
}
