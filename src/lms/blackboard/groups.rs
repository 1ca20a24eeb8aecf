//! The groups stage of a course sync: Learn's course groups (those in group sets named
//! "set: group") and their members, read whole on full runs and stored as the REST groups.

use std::collections::HashMap;

use super::client::LearnClient;
use super::model;
use super::sync::SyncError;
use crate::store::Store;
use crate::store::courses::Course;
use crate::store::groups::{GroupRow, GroupSource};
use crate::store::sync_runs::SyncCounts;

/// Reads every group of the course and each one's members, and replaces the course's REST
/// groups with them. Groups change rarely, so only full runs read them: an incremental
/// run leaves them as they are.
pub async fn sync_groups(
    store: &Store,
    client: &LearnClient,
    course: &Course,
    cid: &str,
    full: bool,
) -> Result<SyncCounts, SyncError> {
    if !full {
        return Ok(SyncCounts::default());
    }
    let base = format!("/learn/api/public/v2/courses/{cid}/groups");
    let groups: Vec<model::Group> = client
        .get_all(&format!("{base}?fields=id,name,groupSetId"))
        .await?;
    let set_names: HashMap<String, String> = if groups.iter().any(|g| g.group_set_id.is_some()) {
        client
            .get_all::<model::Group>(&format!("{base}/sets?fields=id,name"))
            .await?
            .into_iter()
            .map(|s| (s.id, s.name.unwrap_or_default()))
            .collect()
    } else {
        HashMap::new()
    };
    let mut rows = Vec::with_capacity(groups.len());
    for g in groups {
        let members: Vec<model::GroupMembership> = client
            .get_all(&format!("{base}/{}/users?fields=userId", g.id))
            .await?;
        let name = g.name.unwrap_or_else(|| g.id.clone());
        let name = match g.group_set_id.as_ref().and_then(|s| set_names.get(s)) {
            Some(set) if !set.is_empty() => format!("{set}: {name}"),
            _ => name,
        };
        rows.push(GroupRow {
            lms_id: g.id,
            name,
            members: members.into_iter().map(|m| m.user_id).collect(),
        });
    }
    Ok(store
        .sync_groups(
            course.platform_id,
            course.id,
            GroupSource::Rest,
            &rows,
            true,
        )
        .await?)
}
