//! The LTI Course Groups service: the names of the course's groups, which NRPS members'
//! `group_enrollments` name only by id.

use std::collections::HashMap;

use serde::Deserialize;

use super::container::{ServiceError, get_page, merge_query};
use super::token::{AccessTokens, SCOPE_GROUPS};
use crate::store::Store;
use crate::store::platforms::Platform;

pub const MEDIA_TYPE: &str = "application/vnd.ims.lti-gs.v1.contextgroupcontainer+json";
/// A group list of more pages than this is taken to be a paging loop.
const MAX_PAGES: usize = 100;

#[derive(Deserialize)]
struct Container {
    #[serde(default)]
    groups: Vec<Group>,
}

#[derive(Deserialize)]
struct Group {
    id: String,
    #[serde(default)]
    name: Option<String>,
}

/// Group id → name, every page of the container at `url`.
pub(super) async fn group_names(
    tokens: &AccessTokens,
    store: &Store,
    platform: &Platform,
    url: &str,
) -> Result<HashMap<String, String>, ServiceError> {
    let mut names = HashMap::new();
    let mut next = url.to_string();
    for _ in 0..MAX_PAGES {
        let page = get_page(tokens, store, platform, &[SCOPE_GROUPS], &next, MEDIA_TYPE).await?;
        let container: Container = serde_json::from_value(page.body).map_err(|e| {
            ServiceError::Malformed(format!("the context group container is not valid: {e}"))
        })?;
        names.extend(
            container
                .groups
                .into_iter()
                .filter_map(|g| Some((g.id, g.name.filter(|n| !n.trim().is_empty())?))),
        );
        match page.next {
            Some(link) => next = merge_query(&link, url),
            None => return Ok(names),
        }
    }
    Err(ServiceError::Malformed(format!(
        "the group list has more than {MAX_PAGES} pages"
    )))
}
