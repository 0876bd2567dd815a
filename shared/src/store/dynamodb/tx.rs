//! Transactions: the actions every user write is built from, running them with bounded retries, and reading
//! cancellation reasons.

use super::*;

/// A claim being kept or released must belong to the user writing; a missing one is tolerated (self-healing).
pub(super) const OWN_CLAIM: &str = "attribute_not_exists(pk) OR #id = :id";

/// Whether the transaction action at `index` failed its condition.
pub(super) fn failed(reasons: &[CancellationReason], index: usize) -> bool {
    reasons.get(index).and_then(CancellationReason::code) == Some(CCF)
}

/// After a versioned write's condition failed: NotFound if the item was gone, VersionConflict otherwise (the
/// action asked for `ALL_OLD` on failure).
pub(super) fn missing_or_changed(reasons: &[CancellationReason], index: usize) -> StoreError {
    match reasons.get(index).and_then(CancellationReason::item) {
        Some(old) if !old.is_empty() => StoreError::VersionConflict,
        _ => StoreError::NotFound,
    }
}

pub(super) fn cancelled(operation: &str, reasons: &[CancellationReason]) -> StoreError {
    let codes: Vec<&str> = reasons.iter().map(|r| r.code().unwrap_or("None")).collect();
    StoreError::Backend(format!("{operation}: transaction cancelled [{}]", codes.join(", ")))
}

impl DynamoStore {
    /// The key-item check every user write starts with.
    pub(super) fn key_check(&self, credential: &Credential) -> Result<TransactWriteItem, StoreError> {
        let check = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(Self::key_key(credential)))
            .condition_expression(KEY_CONDITION)
            .expression_attribute_names("#hash", "hash")
            .expression_attribute_names("#revoked", "revoked")
            .expression_attribute_values(":hash", s(credential.hash.to_hex()))
            .build()
            .map_err(build_error)?;
        Ok(TransactWriteItem::builder().condition_check(check).build())
    }

    /// A condition that the user item of `user` is still at `user`'s version.
    pub(super) fn at_version(&self, pk: &str, user: &UserRecord) -> Result<TransactWriteItem, StoreError> {
        let check = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(primary_key(pk.to_string(), user_sk(&user.id))))
            .condition_expression("#version = :version")
            .expression_attribute_names("#version", "version")
            .expression_attribute_values(":version", n(user.version))
            .build()
            .map_err(build_error)?;
        Ok(TransactWriteItem::builder().condition_check(check).build())
    }

    /// Puts `user`'s claim only if the claim is `user`'s own, or absent ([`OWN_CLAIM`]).
    pub(super) fn put_own_claim(&self, pk: &str, user: &UserRecord) -> Result<TransactWriteItem, StoreError> {
        self.put(claim_item(pk, user)?, OWN_CLAIM, &[("#id", "id")], vec![(":id", s(&user.id))], false)
    }

    /// Deletes the claim `sk` only if it is the user `owner`'s own, or absent ([`OWN_CLAIM`]).
    pub(super) fn delete_own_claim(&self, pk: &str, sk: String, owner: &str) -> Result<TransactWriteItem, StoreError> {
        self.delete(primary_key(pk.to_string(), sk), OWN_CLAIM, &[("#id", "id")], vec![(":id", s(owner))], false)
    }

    /// A condition that `key` names no item.
    pub(super) fn absent(&self, key: Item) -> Result<TransactWriteItem, StoreError> {
        let check = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(key))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(build_error)?;
        Ok(TransactWriteItem::builder().condition_check(check).build())
    }

    /// The user's shard of the directory's user counter: adds `delta` to the user count `n` and 1 to the writes
    /// `v`, and shifts `user_id` into the shard's latest writes (`r0` newest … `r7`; see
    /// [`AddressBookStore::users_versions`]).
    pub(super) fn counter_update(&self, pk: &str, delta: i64, user_id: &str) -> Result<TransactWriteItem, StoreError> {
        let mut update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(primary_key(pk.to_string(), counter_sk(user_shard(user_id)))))
            .update_expression(recent_writes_expression())
            .expression_attribute_names("#n", "n")
            .expression_attribute_names("#v", "v")
            .expression_attribute_values(":delta", n(delta))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":id", s(user_id))
            .expression_attribute_values(":none", s(""));
        for slot in 0..RECENT_WRITES {
            update = update.expression_attribute_names(format!("#r{slot}"), format!("r{slot}"));
        }
        Ok(TransactWriteItem::builder().update(update.build().map_err(build_error)?).build())
    }

    /// Adds `ids` to (or, with `add == false`, removes them from) the display-name index item of `folded`.
    pub(super) fn display_name_update(
        &self,
        pk: &str,
        folded: &str,
        ids: Vec<String>,
        add: bool,
    ) -> Result<TransactWriteItem, StoreError> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(primary_key(pk.to_string(), display_name_sk(folded))))
            .update_expression(if add { "ADD #ids :ids" } else { "DELETE #ids :ids" })
            .expression_attribute_names("#ids", "ids")
            .expression_attribute_values(":ids", AttributeValue::Ss(ids))
            .build()
            .map_err(build_error)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    pub(super) fn put(
        &self,
        item: Item,
        condition: &str,
        names: &[(&str, &str)],
        values: Vec<(&str, AttributeValue)>,
        all_old_on_failure: bool,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut put = Put::builder().table_name(&self.table).set_item(Some(item)).condition_expression(condition);
        for (k, v) in names {
            put = put.expression_attribute_names(*k, *v);
        }
        for (k, v) in values {
            put = put.expression_attribute_values(k, v);
        }
        if all_old_on_failure {
            put = put.return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        }
        Ok(TransactWriteItem::builder().put(put.build().map_err(build_error)?).build())
    }

    pub(super) fn delete(
        &self,
        key: Item,
        condition: &str,
        names: &[(&str, &str)],
        values: Vec<(&str, AttributeValue)>,
        all_old_on_failure: bool,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut delete = Delete::builder().table_name(&self.table).set_key(Some(key)).condition_expression(condition);
        for (k, v) in names {
            delete = delete.expression_attribute_names(*k, *v);
        }
        for (k, v) in values {
            delete = delete.expression_attribute_values(k, v);
        }
        if all_old_on_failure {
            delete = delete.return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        }
        Ok(TransactWriteItem::builder().delete(delete.build().map_err(build_error)?).build())
    }

    /// Runs one `TransactWriteItems` built by `build` (rebuilt per attempt), retrying transaction conflicts with
    /// jittered backoff. `Ok(Err(reasons))` is a cancellation the caller maps (a condition failed).
    pub(super) async fn transact(
        &self,
        operation: &str,
        build: impl Fn() -> Result<Vec<TransactWriteItem>, StoreError>,
    ) -> Result<Result<(), Vec<CancellationReason>>, StoreError> {
        for attempt in 0..TRANSACTION_ATTEMPTS {
            if attempt > 0 {
                self.pause(attempt).await;
            }
            let sent = self.client.transact_write_items().set_transact_items(Some(build()?)).send().await;
            let err = match sent {
                Ok(_) => return Ok(Ok(())),
                Err(err) => err,
            };
            let Some(TransactWriteItemsError::TransactionCanceledException(cancel)) = err.as_service_error() else {
                return Err(sdk_error(operation, err));
            };
            let reasons = cancel.cancellation_reasons().to_vec();
            let has = |code: &str| reasons.iter().any(|r| r.code() == Some(code));
            if has(CCF) {
                return Ok(Err(reasons));
            }
            if has("TransactionConflict") {
                tracing::debug!(operation, attempt, "DynamoDB transaction conflict; retrying");
                continue;
            }
            if has("ThrottlingError") || has("ProvisionedThroughputExceeded") {
                return Err(StoreError::Unavailable(format!("{operation}: transaction throttled")));
            }
            return Ok(Err(reasons));
        }
        Err(StoreError::Unavailable(format!("{operation}: transaction conflicts persisted after retries")))
    }
}

/// `ADD #n :delta, #v :one SET #r7 = if_not_exists(#r6, :none), …, #r1 = if_not_exists(#r0, :none), #r0 = :id`:
/// every right-hand side reads the item as it was, so the slots shift by one.
fn recent_writes_expression() -> String {
    let shifts: Vec<String> = (1..RECENT_WRITES)
        .rev()
        .map(|slot| format!("#r{slot} = if_not_exists(#r{}, :none)", slot - 1))
        .chain(std::iter::once("#r0 = :id".to_string()))
        .collect();
    format!("ADD #n :delta, #v :one SET {}", shifts.join(", "))
}
