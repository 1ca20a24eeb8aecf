//! Setting a platform's REST credentials: checked against Learn first (a token request),
//! then stored with the secret sealed. The secret is never echoed back.

use secrecy::SecretString;

use super::client::{BbError, ClientOptions, LearnClient};
use crate::secret::SecretKey;
use crate::store::{PlatformId, Store};

/// Checks the credentials by fetching a token, then stores them for the platform.
pub async fn set_rest_credentials(
    store: &Store,
    secret: &SecretKey,
    platform: PlatformId,
    base_url: &str,
    key: &str,
    rest_secret: &str,
    options: &ClientOptions,
) -> Result<(), BbError> {
    let base_url = base_url.trim().trim_end_matches('/');
    let key = key.trim();
    if key.is_empty() || rest_secret.trim().is_empty() {
        return Err(BbError::BadCredentials(
            "the application key and secret must not be empty".into(),
        ));
    }
    store.platform(platform).await?;
    let client = LearnClient::new(
        store.clone(),
        platform,
        base_url,
        key,
        SecretString::from(rest_secret.trim().to_string()),
        options.clone(),
    )?;
    client.authenticate().await?;
    store
        .set_platform_rest(platform, base_url, key, &secret.seal(rest_secret.trim()))
        .await?;
    tracing::info!(platform = %platform, base_url, "Blackboard REST credentials set");
    Ok(())
}
