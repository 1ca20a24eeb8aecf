//! Recording a valid launch: the nonce as used, user, course, enrolment, service URLs,
//! framing origins and the jobs the launch queues, all in one write transaction.

use std::time::Duration;

use crate::Config;
use crate::SecretKey;
use crate::jobs::{COURSE_SYNC, LTI_ROSTER};
use crate::lti::claims::IdTokenClaims;
use crate::lti::error::LaunchError;
use crate::lti::launch::{LEEWAY_SECS, ValidLaunch};
use crate::lti::services::token::SCOPE_GROUPS;
use crate::store::courses::CourseUpsert;
use crate::store::launches::{JobCondition, LaunchJob, LaunchWrite};
use crate::store::users::UserUpsert;
use crate::store::{CourseId, DeploymentId, EpochMs, PlatformId, Store, StoreError, UserId};

/// How long after a launch its Blackboard one-time session token is offered for REST
/// authorisation.
pub const REST_OFFER_TTL_SECS: i64 = 3600;

/// What a recorded launch opened.
#[derive(Clone, Copy, Debug)]
pub struct LaunchedSession {
    pub user: UserId,
    pub platform: PlatformId,
    pub deployment: DeploymentId,
    pub course: CourseId,
    pub staff: bool,
    /// True when this launch created the course (its first launch).
    pub new_course: bool,
    /// The launch showed an origin framing cloop that the platform had not shown before.
    pub new_origin: bool,
}

/// Records what a valid launch says, in one transaction: user (of the platform, since an
/// LTI `sub` is unique per issuer), course (the context of the launch's deployment) and
/// enrolment; a roster read when the launch offers LTI services and none ran within the
/// roster interval; a course sync on a course's first launch when the platform has REST
/// credentials. Activity that waited for the course is attached after the commit.
pub async fn record(
    store: &Store,
    config: &Config,
    secret: &SecretKey,
    launch: &ValidLaunch,
) -> Result<LaunchedSession, LaunchError> {
    let claims = &launch.claims;
    let registration = &launch.registration;
    let sub = claims
        .sub
        .as_deref()
        .filter(|s| !s.is_empty())
        .ok_or(LaunchError::Anonymous)?;
    let context = claims.context.as_ref().ok_or(LaunchError::MissingContext)?;
    let context_id = context
        .id
        .as_deref()
        .filter(|s| !s.is_empty())
        .ok_or(LaunchError::MissingContext)?;
    let nonce = claims.nonce.as_deref().ok_or(LaunchError::MissingNonce)?;

    let name = claims.name.clone().unwrap_or_else(|| {
        [claims.given_name.as_deref(), claims.family_name.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ")
    });
    let memberships_url = claims
        .names_roles
        .as_ref()
        .and_then(|n| n.context_memberships_url.as_deref());
    let lineitems_url = claims
        .ags_endpoint
        .as_ref()
        .and_then(|a| a.lineitems.as_deref());
    let known_origins = &registration.platform.frame_origins;
    let write = LaunchWrite {
        platform: registration.platform.id,
        deployment: launch.deployment,
        nonce: nonce.to_string(),
        nonce_expires: EpochMs((claims.exp + LEEWAY_SECS) * 1000),
        user: UserUpsert {
            lms_sub: sub.to_string(),
            lms_user_pk: None,
            name,
            given_name: claims.given_name.clone().unwrap_or_default(),
            family_name: claims.family_name.clone().unwrap_or_default(),
            email: claims.email.clone().filter(|e| !e.is_empty()),
        },
        course: CourseUpsert {
            lms_context_id: context_id.to_string(),
            // In Blackboard Learn the LTI context id is the course's uuid.
            lms_course_uuid: claims.is_blackboard().then(|| context_id.to_string()),
            title: context.title.clone().unwrap_or_default(),
            code: context.label.clone().unwrap_or_default(),
        },
        roles: launch
            .roles
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(" "),
        staff: launch.staff,
        memberships_url: memberships_url.map(str::to_string),
        lineitems_url: lineitems_url.map(str::to_string),
        // Groups are named through the Course Groups service where the platform grants it.
        groups_url: claims.groups_service.as_ref().and_then(|g| {
            g.scope
                .iter()
                .any(|s| s == SCOPE_GROUPS)
                .then(|| g.context_groups_url.clone())
                .flatten()
        }),
        ags_scopes: lineitems_url
            .and(claims.ags_endpoint.as_ref())
            .map(|a| a.scope.join(" ")),
        frame_origins: framing_origins(claims)
            .into_iter()
            .filter(|o| !known_origins.split_whitespace().any(|k| k == o))
            .collect(),
        jobs: jobs(
            memberships_url.is_some() || lineitems_url.is_some(),
            registration.has_rest,
            config.roster_interval,
        ),
        rest_grant_offer: claims
            .blackboard_one_time_session_token
            .as_deref()
            .filter(|_| launch.staff && registration.has_rest)
            .map(|token| {
                (
                    secret.seal(token),
                    EpochMs::now().plus_secs(REST_OFFER_TTL_SECS),
                )
            }),
    };
    let recorded = match store.record_launch(write).await {
        Ok(Some(recorded)) => recorded,
        Ok(None) => return Err(LaunchError::ReplayedNonce),
        Err(StoreError::NotFound(_)) => {
            store.registry().clear();
            return Err(LaunchError::NotRegistered {
                issuer: registration.platform.issuer.clone(),
                client_id: registration.platform.client_id.clone(),
            });
        }
        Err(e) => return Err(e.into()),
    };
    // Activity pushed before cloop knew the course (or its Learn ids, which the REST sync
    // fills in) waits in `pending_activity` until a launch finds it.
    if recorded.pending_activity {
        crate::ingest::attach_pending(store, recorded.course, config.session_gap).await?;
    }
    Ok(LaunchedSession {
        user: recorded.user,
        platform: registration.platform.id,
        deployment: launch.deployment,
        course: recorded.course,
        staff: launch.staff,
        new_course: recorded.new_course,
        new_origin: recorded.new_origin,
    })
}

/// The jobs a launch queues: the LTI services read (roster, gradebook) when the launch
/// offers the services, unless one ran within `roster_interval`; a course sync on the
/// course's first launch when the platform has REST credentials.
fn jobs(offers_services: bool, has_rest: bool, roster_interval: Duration) -> Vec<LaunchJob> {
    let interval_ms = i64::try_from(roster_interval.as_millis()).unwrap_or(i64::MAX);
    let mut jobs = Vec::new();
    if offers_services {
        jobs.push(LaunchJob {
            kind: LTI_ROSTER,
            when: JobCondition::ServicesIdleSince(EpochMs(
                EpochMs::now().0.saturating_sub(interval_ms),
            )),
        });
    }
    if has_rest {
        jobs.push(LaunchJob {
            kind: COURSE_SYNC,
            when: JobCondition::NewCourse,
        });
    }
    jobs
}

/// Origins the launch says frame cloop (the LMS site), for the CSP `frame-ancestors`.
pub fn framing_origins(claims: &IdTokenClaims) -> Vec<String> {
    [
        claims.tool_platform.as_ref().and_then(|p| p.url.as_deref()),
        claims
            .launch_presentation
            .as_ref()
            .and_then(|p| p.return_url.as_deref()),
    ]
    .into_iter()
    .flatten()
    .filter_map(|u| url::Url::parse(u).ok())
    .filter(|u| matches!(u.scheme(), "https" | "http"))
    .map(|u| u.origin().ascii_serialization())
    .collect()
}
