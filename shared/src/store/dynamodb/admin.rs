//! [`AdminStore`] on DynamoDB: directories, access keys, SAML configuration.

use super::*;

#[async_trait]
impl AdminStore for DynamoStore {
    async fn create_company(&self, company: &Company) -> Result<(), StoreError> {
        let mut item = primary_key(COMPANY_PK.into(), crate::company::fold(&company.short_name));
        item.insert("shortName".into(), s(&company.short_name));
        item.insert("name".into(), s(&company.name));
        item.insert("created".into(), s(&company.created));
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => {
                Err(StoreError::Conflict)
            }
            Err(e) => Err(sdk_error("PutItem", e)),
        }
    }

    async fn get_company(&self, short_name: &str) -> Result<Option<Company>, StoreError> {
        let key = crate::company::fold(short_name);
        if key.is_empty() || unusable_key(&key) {
            return Ok(None);
        }
        if let Some(item) = self.get_item(COMPANY_PK.into(), key.clone()).await? {
            return company_from_item(&item).map(Some);
        }
        if !crate::auth::is_id(&key) {
            return Ok(None);
        }
        // A directory that is a company of its own (every directory written before companies existed).
        Ok(self.get_directory(&key).await?.filter(|d| d.company.is_none()).map(|d| Company {
            short_name: d.id,
            name: d.name,
            created: d.created,
        }))
    }

    async fn create_directory(&self, directory: &Directory) -> Result<(), StoreError> {
        let company = directory.company.as_deref().map(crate::company::fold);
        let result = self
            .transact("TransactWriteItems", || {
                let mut item = primary_key(DIRECTORY_PK.into(), directory.id.clone());
                item.insert("name".into(), s(&directory.name));
                item.insert("created".into(), s(&directory.created));
                let mut actions = Vec::new();
                if let Some(key) = &company {
                    item.insert("company".into(), s(key));
                    let check = ConditionCheck::builder()
                        .table_name(&self.table)
                        .set_key(Some(primary_key(COMPANY_PK.into(), key.clone())))
                        .condition_expression("attribute_exists(pk)")
                        .build()
                        .map_err(build_error)?;
                    actions.push(TransactWriteItem::builder().condition_check(check).build());
                }
                actions.push(self.put(item, "attribute_not_exists(pk)", &[], vec![], false)?);
                Ok(actions)
            })
            .await?;
        match result {
            Ok(()) => Ok(()),
            Err(reasons) if company.is_some() && failed(&reasons, 0) => Err(StoreError::NotFound),
            Err(reasons) if failed(&reasons, usize::from(company.is_some())) => {
                Err(StoreError::Backend(format!("directory {} already exists", directory.id)))
            }
            Err(reasons) => Err(cancelled("create_directory", &reasons)),
        }
    }

    async fn list_directories(&self) -> Result<Vec<Directory>, StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s(DIRECTORY_PK))
            .consistent_read(true);
        let items = self.query_all("Query", query, None).await?;
        let mut directories = items.iter().map(directory_from_item).collect::<Result<Vec<_>, _>>()?;
        directories.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.id.cmp(&b.id)));
        Ok(directories)
    }

    async fn get_directory(&self, id: &str) -> Result<Option<Directory>, StoreError> {
        self.get_item(DIRECTORY_PK.into(), id.into()).await?.as_ref().map(directory_from_item).transpose()
    }

    async fn create_key(&self, key: &KeyRecord) -> Result<(), StoreError> {
        let pk = dir_pk(&key.directory);
        let result = self
            .transact("TransactWriteItems", || {
                let check = ConditionCheck::builder()
                    .table_name(&self.table)
                    .set_key(Some(primary_key(DIRECTORY_PK.into(), key.directory.clone())))
                    .condition_expression("attribute_exists(pk)")
                    .build()
                    .map_err(build_error)?;
                let mut item = primary_key(pk.clone(), key_sk(&key.id));
                item.insert("name".into(), s(&key.name));
                item.insert("hash".into(), s(key.hash.to_hex()));
                item.insert("created".into(), s(&key.created));
                if let Some(revoked) = &key.revoked {
                    item.insert("revoked".into(), s(revoked));
                }
                Ok(vec![
                    TransactWriteItem::builder().condition_check(check).build(),
                    self.put(item, "attribute_not_exists(pk)", &[], vec![], false)?,
                ])
            })
            .await?;
        match result {
            Ok(()) => Ok(()),
            Err(reasons) if failed(&reasons, 0) => Err(StoreError::NotFound),
            Err(reasons) if failed(&reasons, 1) => {
                Err(StoreError::Backend(format!("access key {} already exists", key.id)))
            }
            Err(reasons) => Err(cancelled("create_key", &reasons)),
        }
    }

    async fn list_keys(&self, directory: &str) -> Result<Vec<KeyRecord>, StoreError> {
        let items = self.query_all("Query", self.query_prefix(&dir_pk(directory), "KEY#"), None).await?;
        let mut keys = items.iter().map(|item| key_from_item(directory, item)).collect::<Result<Vec<_>, _>>()?;
        keys.sort_by(|a, b| a.created.cmp(&b.created).then_with(|| a.id.cmp(&b.id)));
        Ok(keys)
    }

    async fn revoke_key(&self, directory: &str, key_id: &str, at: &str) -> Result<(), StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(primary_key(dir_pk(directory), key_sk(key_id))))
            // The first revocation time is kept.
            .update_expression("SET #revoked = if_not_exists(#revoked, :at)")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#revoked", "revoked")
            .expression_attribute_values(":at", s(at))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => {
                Err(StoreError::NotFound)
            }
            Err(e) => Err(sdk_error("UpdateItem", e)),
        }
    }

    async fn set_saml_config(&self, directory: &str, config: &SamlConfig) -> Result<(), StoreError> {
        let json = serde_json::to_string(config).map_err(|e| StoreError::Backend(e.to_string()))?;
        let previous = AdminStore::saml_config(self, directory).await?;
        if previous.is_some_and(|old| old.certificates != config.certificates) {
            // The marker first: should the update then fail, sessions have ended (fail closed).
            self.end_directory_sessions(directory).await?;
        }
        self.update_directory(directory, "SET #saml = :saml", Some(s(json))).await
    }

    async fn saml_config(&self, directory: &str) -> Result<Option<SamlConfig>, StoreError> {
        let item = self.get_item(DIRECTORY_PK.into(), directory.into()).await?;
        match item.as_ref().map(|item| get_opt_s(item, "saml")).transpose()?.flatten() {
            Some(json) => serde_json::from_str(&json).map(Some).map_err(|_| corrupt("saml")),
            None => Ok(None),
        }
    }

    async fn clear_saml_config(&self, directory: &str) -> Result<(), StoreError> {
        if AdminStore::get_directory(self, directory).await?.is_none() {
            return Err(StoreError::NotFound);
        }
        self.end_directory_sessions(directory).await?;
        self.update_directory(directory, "REMOVE #saml", None).await
    }

    /// Each user whose name has a claim key from before the identity rule: one transaction (the user unchanged
    /// since read, the claim put under the identity key unless another user holds it, the old claim deleted).
    async fn migrate_user_names(&self, directory: &str) -> Result<NameMigration, StoreError> {
        let pk = dir_pk(directory);
        let mut migration = NameMigration::default();
        for user in AddressBookStore::directory_users(self, directory).await? {
            migration.checked += 1;
            let Some(legacy) = legacy_claim_sk(user.doc.user_name()) else { continue };
            if self.get_item(pk.clone(), legacy.clone()).await?.is_none() {
                continue;
            }
            let result = self
                .transact("TransactWriteItems", || {
                    Ok(vec![
                        self.at_version(&pk, &user)?,
                        self.put_own_claim(&pk, &user)?,
                        self.delete_own_claim(&pk, legacy.clone(), &user.id)?,
                    ])
                })
                .await?;
            match result {
                Ok(()) => migration.moved += 1,
                // Written since it was read: that write moved the claim.
                Err(reasons) if failed(&reasons, 0) => {}
                Err(reasons) if failed(&reasons, 1) => migration.conflicts.push(user.id.clone()),
                Err(reasons) => return Err(cancelled("migrate_user_names", &reasons)),
            }
        }
        Ok(migration)
    }
}
