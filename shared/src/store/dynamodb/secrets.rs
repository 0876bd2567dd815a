//! Secrets Manager: creating and loading the pepper and session-key secrets.

use super::*;

/// Creates the secret `secret_id` (the pepper, or the session-signing key) with a fresh random value
/// ([`Pepper::generate_text`]) unless it exists. Returns whether it was created.
pub async fn bootstrap_secret(
    client: &aws_sdk_secretsmanager::Client,
    secret_id: &str,
    description: &str,
) -> Result<bool, StoreError> {
    match client.describe_secret().secret_id(secret_id).send().await {
        Ok(_) => return Ok(false),
        Err(e) if e.as_service_error().is_some_and(|e| e.is_resource_not_found_exception()) => {}
        Err(e) => return Err(sdk_error("DescribeSecret", e)),
    }
    let created = client
        .create_secret()
        .name(secret_id)
        .description(description)
        .secret_string(Pepper::generate_text())
        .send()
        .await;
    match created {
        Ok(_) => Ok(true),
        Err(e) if e.as_service_error().is_some_and(|e| e.is_resource_exists_exception()) => Ok(false),
        Err(e) => Err(sdk_error("CreateSecret", e)),
    }
}

/// Reads the pepper: the bytes of the secret's `SecretString`.
pub async fn load_pepper(client: &aws_sdk_secretsmanager::Client, secret_id: &str) -> Result<Pepper, StoreError> {
    let text = load_secret_text(client, secret_id).await?;
    Pepper::new(text.into_bytes())
        .map_err(|_| StoreError::Backend(format!("secret {secret_id} is too short to be a pepper (32 bytes minimum)")))
}

/// Reads a secret's `SecretString`.
pub async fn load_secret_text(client: &aws_sdk_secretsmanager::Client, secret_id: &str) -> Result<String, StoreError> {
    let out =
        client.get_secret_value().secret_id(secret_id).send().await.map_err(|e| sdk_error("GetSecretValue", e))?;
    out.secret_string.ok_or_else(|| StoreError::Backend(format!("secret {secret_id} has no SecretString")))
}
