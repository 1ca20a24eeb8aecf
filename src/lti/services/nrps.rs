//! Names and Role Provisioning Services: reads the course's membership container (every
//! page, or only the differences since the last read when the LMS offers them) and stores
//! the members, their roles and status; members who left are marked inactive. Members'
//! `group_enrollments` become the course's NRPS groups, named through the Course Groups
//! service where the launch advertised it.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;

use super::container::{ServiceError, get_page, merge_query};
use super::token::{AccessTokens, SCOPE_NRPS};
use crate::lti::roles::{is_course_staff, parse_roles};
use crate::store::groups::{GroupRow, GroupSource};
use crate::store::lti_services::RosterMember;
use crate::store::sync_runs::SyncCounts;
use crate::store::{CourseId, Store};

pub const MEDIA_TYPE: &str = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json";
/// The service name in the data-source status.
pub const SERVICE: &str = "nrps";
/// A roster of more pages than this is taken to be a paging loop.
const MAX_PAGES: usize = 1000;

/// What one roster read did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RosterReport {
    pub counts: SyncCounts,
    pub members: usize,
    pub pages: usize,
    /// The read started from the LMS's differences URL rather than the whole roster.
    pub differences: bool,
}

#[derive(Deserialize)]
struct Container {
    members: Vec<Member>,
}

#[derive(Deserialize)]
struct Member {
    user_id: String,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    given_name: Option<String>,
    #[serde(default)]
    family_name: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    roles: Vec<String>,
    /// The groups (sections, tutorials) the member is in, where the LMS sends them.
    #[serde(default)]
    group_enrollments: Vec<GroupEnrollment>,
}

#[derive(Deserialize)]
struct GroupEnrollment {
    group_id: String,
}

/// The groups named by members' `group_enrollments`, each with the subs of its members.
/// NRPS gives no group names: a group is shown by its name from `names`, else its id.
fn groups_of(members: &[Member], names: &HashMap<String, String>) -> Vec<GroupRow> {
    let mut groups: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for m in members {
        for g in &m.group_enrollments {
            groups
                .entry(&g.group_id)
                .or_default()
                .push(m.user_id.clone());
        }
    }
    groups
        .into_iter()
        .map(|(id, members)| GroupRow {
            lms_id: id.to_string(),
            name: names.get(id).cloned().unwrap_or_else(|| id.to_string()),
            members,
        })
        .collect()
}

impl Member {
    fn to_row(&self) -> RosterMember {
        let roles = parse_roles(&self.roles);
        let status = self.status.as_deref().unwrap_or("Active");
        RosterMember {
            lms_sub: self.user_id.clone(),
            name: self.name.clone().unwrap_or_default(),
            given_name: self.given_name.clone().unwrap_or_default(),
            family_name: self.family_name.clone().unwrap_or_default(),
            email: self.email.clone().filter(|e| !e.is_empty()),
            is_staff: is_course_staff(&roles),
            roles: roles
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(" "),
            available: !status.eq_ignore_ascii_case("Inactive"),
            active: !status.eq_ignore_ascii_case("Deleted"),
        }
    }
}

/// Reads the roster and records the outcome as the course's NRPS data-source status.
pub async fn sync_roster(
    store: &Store,
    tokens: &AccessTokens,
    course: CourseId,
) -> Result<RosterReport, ServiceError> {
    let outcome = read_roster(store, tokens, course)
        .await
        .map(|(report, differences_url)| {
            let summary = format!(
                "{} members read ({} new, {} changed, {} left)",
                report.members,
                report.counts.inserted,
                report.counts.updated,
                report.counts.removed
            );
            (report, summary, differences_url)
        });
    super::status::record_read(store, course, SERVICE, outcome).await
}

async fn read_roster(
    store: &Store,
    tokens: &AccessTokens,
    course_id: CourseId,
) -> Result<(RosterReport, Option<String>), ServiceError> {
    let course = store.course(course_id).await?;
    let platform = store.platform(course.platform_id).await?;
    let memberships_url = store
        .course_service_urls(course_id)
        .await?
        .0
        .ok_or(ServiceError::NoEndpoint)?;
    let previous = store.service_run(course_id, SERVICE).await?;
    let (mut url, differences) = match previous.and_then(|r| r.differences_url) {
        Some(since) => (since, true),
        None => (memberships_url.clone(), false),
    };
    let mut members = Vec::new();
    let mut next_differences = None;
    let mut pages = 0;
    loop {
        pages += 1;
        if pages > MAX_PAGES {
            return Err(ServiceError::Malformed(format!(
                "the roster has more than {MAX_PAGES} pages"
            )));
        }
        let page = get_page(tokens, store, &platform, &[SCOPE_NRPS], &url, MEDIA_TYPE).await?;
        let container: Container = serde_json::from_value(page.body).map_err(|e| {
            ServiceError::Malformed(format!("the membership container is not valid: {e}"))
        })?;
        members.extend(container.members);
        if page.differences.is_some() {
            next_differences = page.differences.map(|d| merge_query(&d, &memberships_url));
        }
        match page.next {
            Some(next) => url = merge_query(&next, &memberships_url),
            None => break,
        }
    }
    let rows: Vec<RosterMember> = members.iter().map(Member::to_row).collect();
    let counts = store
        .sync_roster(platform.id, course_id, &rows, !differences)
        .await?;
    // The names are a nicety: without them (service refused or down) groups show their ids.
    let names = match store.course_groups_url(course_id).await? {
        Some(url) if members.iter().any(|m| !m.group_enrollments.is_empty()) => {
            super::groups::group_names(tokens, store, &platform, &url)
                .await
                .unwrap_or_else(|e| {
                    tracing::warn!(course = %course_id, error = %e, "the course groups service failed");
                    HashMap::new()
                })
        }
        _ => HashMap::new(),
    };
    // A differences read lists only who changed: it adds to the groups, removes nobody.
    store
        .sync_groups(
            platform.id,
            course_id,
            GroupSource::Nrps,
            &groups_of(&members, &names),
            !differences,
        )
        .await?;
    Ok((
        RosterReport {
            counts,
            members: members.len(),
            pages,
            differences,
        },
        next_differences,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_status_and_roles_are_normalised() {
        let member: Member = serde_json::from_value(serde_json::json!({
            "user_id": "u1", "status": "Inactive",
            "roles": ["http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"]
        }))
        .unwrap();
        let row = member.to_row();
        assert!(row.is_staff && !row.available && row.active);
        assert_eq!(row.roles, "Instructor");
    }
}
