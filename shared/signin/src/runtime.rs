//! Building the sign-in service as the `saml-acs` Lambda function runs it.

use crate::endpoints::SpEndpoints;
use crate::service::SignInService;
use fd_shared::runtime::{ConfigError, lambda_sign_in_parts, public_url_from_env};

/// Why the function could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("{0}")]
    Config(#[from] ConfigError),
    #[error("FD_PUBLIC_URL: {0}")]
    PublicUrl(#[from] crate::endpoints::InvalidPublicUrl),
}

/// The service over the DynamoDB table `FD_DYNAMODB_TABLE`, signing sessions with the key in the Secrets
/// Manager secret `FD_SESSION_SECRET_ID` (fetched in the background from init on), under the public base URL
/// `FD_PUBLIC_URL`. Also starts logging.
pub async fn lambda_service() -> Result<SignInService, StartError> {
    Ok(lambda_parts().await?.1)
}

/// The store and the sign-in service over it, as [`lambda_service`] builds them (the web function builds its
/// address book over the same store).
pub async fn lambda_parts() -> Result<(std::sync::Arc<dyn fd_shared::store::Store>, SignInService), StartError> {
    let (store, session_secret) = lambda_sign_in_parts().await?;
    let endpoints = SpEndpoints::new(&public_url_from_env()?)?;
    Ok((store.clone(), SignInService::new(store, session_secret, endpoints)))
}
