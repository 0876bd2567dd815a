//! [`AddressBookStore`] on DynamoDB. A directory's users version is the sum of `v` over its 16 counter shards:
//! every user write adds 1 to one shard, chosen at random, inside its own transaction (so concurrent writers
//! rarely meet on one item), and a reader gets every shard of up to six directories in one `BatchGetItem`.

use super::*;

#[async_trait]
impl AddressBookStore for DynamoStore {
    async fn find_company(&self, short_name: &str) -> Result<Option<Company>, StoreError> {
        AdminStore::get_company(self, short_name).await
    }

    async fn find_directory(&self, id: &str) -> Result<Option<Directory>, StoreError> {
        AdminStore::get_directory(self, id).await
    }

    async fn company_directories(&self, company_key: &str) -> Result<Vec<Directory>, StoreError> {
        let all = AdminStore::list_directories(self).await?;
        Ok(all.into_iter().filter(|d| d.company_key() == company_key).collect())
    }

    async fn users_versions(&self, directories: &[String]) -> Result<Vec<u64>, StoreError> {
        let keys: Vec<Item> = directories
            .iter()
            .flat_map(|d| (0..COUNTER_SHARDS).map(move |shard| primary_key(dir_pk(d), counter_sk(shard))))
            .collect();
        let mut items = Vec::new();
        for chunk in keys.chunks(100) {
            items.extend(self.batch_get(chunk.to_vec()).await?);
        }
        let mut versions = vec![0u64; directories.len()];
        for item in &items {
            let Some(AttributeValue::S(pk)) = item.get("pk") else { continue };
            if let Some(slot) = directories.iter().position(|d| dir_pk(d) == *pk) {
                let v: u64 = match item.get("v") {
                    Some(_) => get_n(item, "v")?,
                    None => 0,
                };
                versions[slot] = versions[slot].wrapping_add(v);
            }
        }
        Ok(versions)
    }

    async fn directory_users(&self, directory: &str) -> Result<Vec<UserRecord>, StoreError> {
        let items = self.query_all("Query", self.query_prefix(&dir_pk(directory), "USER#"), None).await?;
        items.iter().map(user_from_item).collect()
    }
}
