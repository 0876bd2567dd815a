//! Creating the table (and checking an existing one has the expected shape).

use super::*;

pub(super) fn key_schema(pairs: &[(&str, KeyType)]) -> Result<Vec<KeySchemaElement>, StoreError> {
    pairs
        .iter()
        .map(|(name, ty)| KeySchemaElement::builder().attribute_name(*name).key_type(ty.clone()).build())
        .collect::<Result<_, _>>()
        .map_err(build_error)
}

/// Whether an existing table has the key schema and index this store needs.
pub(super) fn check_table_shape(table: &str, description: &TableDescription) -> Result<(), StoreError> {
    let has_key = |elements: &[KeySchemaElement], name: &str, ty: KeyType| {
        elements.iter().any(|e| e.attribute_name() == name && *e.key_type() == ty)
    };
    let keys = description.key_schema();
    if !(has_key(keys, "pk", KeyType::Hash) && has_key(keys, "sk", KeyType::Range)) {
        return Err(StoreError::Backend(format!("table {table} exists but its key schema is not (pk HASH, sk RANGE)")));
    }
    let lsi_ok = description.local_secondary_indexes().iter().any(|lsi| {
        lsi.index_name() == Some(EXTERNAL_ID_INDEX)
            && has_key(lsi.key_schema(), "pk", KeyType::Hash)
            && has_key(lsi.key_schema(), "extKey", KeyType::Range)
    });
    if !lsi_ok {
        return Err(StoreError::Backend(format!(
            "table {table} exists without the local secondary index {EXTERNAL_ID_INDEX} (pk, extKey); \
             LSIs can only be defined when a table is created, so recreate the table"
        )));
    }
    Ok(())
}

pub(super) async fn sleep_for(client: &Client, duration: Duration) -> Result<(), StoreError> {
    let sleep = client.config().sleep_impl().ok_or_else(|| StoreError::Backend("no async sleep configured".into()))?;
    sleep.sleep(duration).await;
    Ok(())
}

pub(super) async fn wait_active(client: &Client, table: &str) -> Result<TableDescription, StoreError> {
    let interval = Duration::from_millis(500);
    let mut waited = Duration::ZERO;
    loop {
        let out = client.describe_table().table_name(table).send().await.map_err(|e| sdk_error("DescribeTable", e))?;
        if let Some(description) = out.table {
            if description.table_status() == Some(&TableStatus::Active) {
                return Ok(description);
            }
        }
        if waited >= TABLE_ACTIVE_TIMEOUT {
            return Err(StoreError::Unavailable(format!(
                "table {table} did not become ACTIVE within {}s",
                TABLE_ACTIVE_TIMEOUT.as_secs()
            )));
        }
        sleep_for(client, interval).await?;
        waited += interval;
    }
}

/// Creates the table as `template.yaml` defines it (on-demand billing, `pk`/`sk` string keys, the LSI
/// [`EXTERNAL_ID_INDEX`] on `extKey` with projection ALL, server-side encryption, deletion protection), waits
/// until it is ACTIVE, then enables TTL on [`TTL_ATTRIBUTE`] and point-in-time recovery.
///
/// Returns `Ok(false)` without changing anything if the table already exists (after checking it has the key schema
/// and index this store needs: an LSI cannot be added later).
pub async fn bootstrap_table(client: &Client, table: &str) -> Result<bool, StoreError> {
    match client.describe_table().table_name(table).send().await {
        Ok(out) => {
            let description = match out.table {
                Some(d) if d.table_status() == Some(&TableStatus::Creating) => wait_active(client, table).await?,
                Some(d) => d,
                None => {
                    return Err(StoreError::Backend(format!("DescribeTable {table}: empty answer")));
                }
            };
            check_table_shape(table, &description)?;
            return Ok(false);
        }
        Err(e) if e.as_service_error().is_some_and(|e| e.is_resource_not_found_exception()) => {}
        Err(e) => return Err(sdk_error("DescribeTable", e)),
    }

    let attribute = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .map_err(build_error)
    };
    let lsi = LocalSecondaryIndex::builder()
        .index_name(EXTERNAL_ID_INDEX)
        .set_key_schema(Some(key_schema(&[("pk", KeyType::Hash), ("extKey", KeyType::Range)])?))
        .projection(Projection::builder().projection_type(ProjectionType::All).build())
        .build()
        .map_err(build_error)?;
    let created = client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attribute("pk")?)
        .attribute_definitions(attribute("sk")?)
        .attribute_definitions(attribute("extKey")?)
        .set_key_schema(Some(key_schema(&[("pk", KeyType::Hash), ("sk", KeyType::Range)])?))
        .local_secondary_indexes(lsi)
        .sse_specification(SseSpecification::builder().enabled(true).build())
        .deletion_protection_enabled(true)
        .send()
        .await;
    match created {
        Ok(_) => {}
        // Created concurrently by someone else: theirs to configure.
        Err(e) if e.as_service_error().is_some_and(|e| e.is_resource_in_use_exception()) => {
            let description = wait_active(client, table).await?;
            check_table_shape(table, &description)?;
            return Ok(false);
        }
        Err(e) => return Err(sdk_error("CreateTable", e)),
    }
    wait_active(client, table).await?;

    client
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .attribute_name(TTL_ATTRIBUTE)
                .enabled(true)
                .build()
                .map_err(build_error)?,
        )
        .send()
        .await
        .map_err(|e| sdk_error("UpdateTimeToLive", e))?;

    // Right after creation AWS may answer ContinuousBackupsUnavailableException for a while.
    let pitr = PointInTimeRecoverySpecification::builder()
        .point_in_time_recovery_enabled(true)
        .build()
        .map_err(build_error)?;
    for attempt in 1..=PITR_ATTEMPTS {
        let result = client
            .update_continuous_backups()
            .table_name(table)
            .point_in_time_recovery_specification(pitr.clone())
            .send()
            .await;
        match result {
            Ok(_) => break,
            Err(e)
                if attempt < PITR_ATTEMPTS
                    && e.as_service_error().is_some_and(|e| e.is_continuous_backups_unavailable_exception()) =>
            {
                sleep_for(client, Duration::from_secs(3)).await?;
            }
            Err(e) => return Err(sdk_error("UpdateContinuousBackups", e)),
        }
    }
    Ok(true)
}
