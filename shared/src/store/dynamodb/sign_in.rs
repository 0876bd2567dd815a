//! [`SignInStore`] on DynamoDB: configuration read, the sign-in user, single-use request and assertion ids.

use super::*;

#[async_trait]
impl SignInStore for DynamoStore {
    async fn directory_exists(&self, directory: &str) -> Result<bool, StoreError> {
        Ok(AdminStore::get_directory(self, directory).await?.is_some())
    }

    async fn sign_in_config(&self, directory: &str) -> Result<Option<SamlConfig>, StoreError> {
        AdminStore::saml_config(self, directory).await
    }

    async fn sign_in_user(&self, directory: &str, user_name: &str) -> Result<Option<UserRecord>, StoreError> {
        let items = self.batch_get(users::claim_keys(directory, user_name)).await?;
        users::claimed_user(&items, user_name)
    }

    async fn session_user(&self, directory: &str, id: &str) -> Result<Option<UserRecord>, StoreError> {
        self.get_item(dir_pk(directory), user_sk(id)).await?.as_ref().map(user_from_item).transpose()
    }

    async fn record_assertion(
        &self,
        directory: &str,
        assertion_id: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<bool, StoreError> {
        let mut item = primary_key(dir_pk(directory), assertion_sk(assertion_id));
        item.insert(TTL_ATTRIBUTE.into(), n(expires_at));
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            // An expired record that TTL has not deleted yet does not count.
            .condition_expression("attribute_not_exists(pk) OR #exp <= :now")
            .expression_attribute_names("#exp", TTL_ATTRIBUTE)
            .expression_attribute_values(":now", n(now))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => Ok(false),
            Err(e) => Err(sdk_error("PutItem", e)),
        }
    }
}
