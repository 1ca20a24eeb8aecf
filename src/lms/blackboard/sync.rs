//! One course sync: the course, content tree, memberships, groups, gradebook, discussions,
//! calendar and review status, each a stage recorded on the run so an interrupted run
//! resumes after its finished stages. After a full run, runs ask only for changes.

use std::collections::HashMap;

use secrecy::SecretString;
use time::{Date, OffsetDateTime};

use super::client::{BbError, ClientOptions, LearnClient};
use super::model::{self, instant, iso};
use crate::events::{CourseDate, MAX_WEEKS};
use crate::secret::SecretKey;
use crate::store::content::{ContentRow, ItemGroup, ReviewRow};
use crate::store::courses::Course;
use crate::store::forums::{ForumRow, PostRow};
use crate::store::gradebook::{AttemptRow, ColumnRow, GradeRow};
use crate::store::lms_courses::RestCourse;
use crate::store::memberships::MemberRow;
use crate::store::sync_runs::{RunStatus, SyncCounts, SyncRun};
use crate::store::synced_events::CalendarRow;
use crate::store::{CourseId, EpochMs, Store, StoreError};

/// The stages of a sync, in order; each is recorded on the run when done.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    Course,
    Content,
    Members,
    Groups,
    Gradebook,
    Discussions,
    Calendar,
    Reviews,
}

pub const STAGES: [Stage; 8] = [
    Stage::Course,
    Stage::Content,
    Stage::Members,
    Stage::Groups,
    Stage::Gradebook,
    Stage::Discussions,
    Stage::Calendar,
    Stage::Reviews,
];

impl Stage {
    pub fn name(self) -> &'static str {
        match self {
            Self::Course => "course",
            Self::Content => "content",
            Self::Members => "members",
            Self::Groups => "groups",
            Self::Gradebook => "gradebook",
            Self::Discussions => "discussions",
            Self::Calendar => "calendar",
            Self::Reviews => "reviews",
        }
    }
}

/// A full run (everything, deletions of members and posts, review status) at least this often.
const FULL_EVERY_MS: i64 = 24 * 3600 * 1000;
/// Changes are asked for from a little before the last good run started: Learn batches
/// `lastAccessed` (about five minutes late) and clocks differ.
const SINCE_MARGIN_MS: i64 = 15 * 60 * 1000;
/// Learn refuses calendar windows longer than 16 weeks.
const CALENDAR_WINDOW_DAYS: i64 = 16 * 7;
const DAY_MS: i64 = 24 * 3600 * 1000;

/// Where a running sync is, for progress bars.
#[derive(Clone, Copy, Debug)]
pub struct SyncProgress {
    pub stage: &'static str,
    pub done: usize,
    pub total: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Blackboard(#[from] BbError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The REST course id for a course: its primary key once known, else its uuid (the LTI
/// context id of a Learn course is its uuid), else its external id.
pub fn rest_course_id(
    context_id: &str,
    uuid: Option<&str>,
    pk: Option<&str>,
    external_id: Option<&str>,
) -> String {
    if let Some(pk) = pk.filter(|p| !p.is_empty()) {
        return pk.to_string();
    }
    let hex = |s: &str| s.replace('-', "");
    if let Some(uuid) = uuid.filter(|u| !u.is_empty()) {
        return format!("uuid:{}", hex(uuid));
    }
    if let Some(external) = external_id.filter(|e| !e.is_empty()) {
        return format!("externalId:{external}");
    }
    let candidate = hex(context_id);
    if candidate.len() == 32 && candidate.chars().all(|c| c.is_ascii_hexdigit()) {
        format!("uuid:{candidate}")
    } else {
        format!("courseId:{context_id}")
    }
}

/// Syncs one course now. Returns the finished run: `succeeded`, or `paused` when the
/// daily budget or the rate limit stopped it (the next run resumes it). Failures are
/// recorded on the run and returned.
pub async fn sync_course(
    store: &Store,
    secret: &SecretKey,
    course: CourseId,
    options: &ClientOptions,
    progress: &(dyn Fn(SyncProgress) + Sync),
) -> Result<SyncRun, SyncError> {
    let course = store.course(course).await?;
    let credentials = store
        .platform_rest(course.platform_id)
        .await?
        .ok_or(BbError::NoCredentials)?;
    let rest_secret: SecretString = secret
        .unseal(&credentials.sealed_secret)
        .ok_or(BbError::SecretUnreadable)?;
    let client = LearnClient::new(
        store.clone(),
        course.platform_id,
        &credentials.base_url,
        &credentials.key,
        rest_secret.clone(),
        options.clone(),
    )?;
    // Without an institution-wide REST integration, a staff member's own grant serves.
    let client = match store.course_rest_grant_user(course.id).await? {
        Some(user) if matches!(client.authenticate().await, Err(BbError::BadCredentials(_))) => {
            tracing::info!(course = %course.id, user = %user, "syncing with a staff member's Blackboard grant");
            LearnClient::new(
                store.clone(),
                course.platform_id,
                &credentials.base_url,
                &credentials.key,
                rest_secret,
                options.clone(),
            )?
            .for_user(user, secret.clone())
        }
        _ => client,
    };

    let now = EpochMs::now();
    let last_good = store.last_successful_sync_start(course.id, None).await?;
    let last_full = store
        .last_successful_sync_start(course.id, Some("full"))
        .await?;
    let run = match store.latest_sync_run(course.id).await? {
        Some(run) if run.status == "running" || run.status == "paused" => {
            store.resume_sync_run(run.id).await?;
            run
        }
        _ => {
            let full = last_full.is_none_or(|at| now.0 - at.0 > FULL_EVERY_MS);
            store
                .start_sync_run(course.id, if full { "full" } else { "incremental" })
                .await?
        }
    };
    let full = run.kind == "full";
    let since = (!full)
        .then(|| last_good.map(|at| EpochMs(at.0 - SINCE_MARGIN_MS)))
        .flatten();
    let done = run.stages_done();
    tracing::info!(course = %course.id, run = %run.id, kind = %run.kind, resumed = !done.is_empty(), "course sync started");

    let mut sync = CourseSync {
        store,
        client: &client,
        course,
        cid: String::new(),
        full: full || since.is_none(),
        since,
    };
    let mut recorded_calls = 0;
    for (index, stage) in STAGES.into_iter().enumerate() {
        progress(SyncProgress {
            stage: stage.name(),
            done: index,
            total: STAGES.len(),
        });
        let already_done = done.iter().any(|d| d == stage.name());
        // The course stage always runs: the later stages need the course's primary key.
        if stage != Stage::Course && already_done {
            continue;
        }
        match sync.stage(stage).await {
            Ok(counts) => {
                let calls = client.calls() - recorded_calls;
                recorded_calls = client.calls();
                if already_done {
                    store.add_sync_calls(run.id, calls).await?;
                } else {
                    store
                        .record_sync_stage(run.id, stage.name(), calls, counts)
                        .await?;
                }
            }
            Err(err) => {
                let status = if matches!(&err, SyncError::Blackboard(e) if e.is_pause()) {
                    RunStatus::Paused
                } else {
                    RunStatus::Failed
                };
                let message = err.to_string();
                let finished = store
                    .finish_sync_run(
                        run.id,
                        status,
                        client.calls() - recorded_calls,
                        Some(&message),
                    )
                    .await?;
                tracing::warn!(course = %sync.course.id, run = %run.id, stage = stage.name(), status = status.as_str(), error = %message, "course sync stopped");
                return match status {
                    RunStatus::Paused => Ok(finished),
                    _ => Err(err),
                };
            }
        }
    }
    progress(SyncProgress {
        stage: "done",
        done: STAGES.len(),
        total: STAGES.len(),
    });
    let finished = store
        .finish_sync_run(
            run.id,
            RunStatus::Succeeded,
            client.calls() - recorded_calls,
            None,
        )
        .await?;
    tracing::info!(course = %sync.course.id, run = %run.id, calls = finished.calls, inserted = finished.inserted, updated = finished.updated, removed = finished.removed, "course sync finished");
    Ok(finished)
}

struct CourseSync<'a> {
    store: &'a Store,
    client: &'a LearnClient,
    course: Course,
    /// The REST course id (primary key once the course stage has run).
    cid: String,
    full: bool,
    since: Option<EpochMs>,
}

impl CourseSync<'_> {
    async fn stage(&mut self, stage: Stage) -> Result<SyncCounts, SyncError> {
        match stage {
            Stage::Course => self.course().await,
            Stage::Content => self.content().await,
            Stage::Members => self.members().await,
            Stage::Groups => {
                super::groups::sync_groups(
                    self.store,
                    self.client,
                    &self.course,
                    &self.cid,
                    self.full,
                )
                .await
            }
            Stage::Gradebook => self.gradebook().await,
            Stage::Discussions => self.discussions().await,
            Stage::Calendar => self.calendar().await,
            Stage::Reviews => self.reviews().await,
        }
    }

    fn changed_since(&self, field: &str) -> String {
        match self.since {
            Some(at) => format!("&{field}={}&{field}Compare=greaterOrEqual", iso(at)),
            None => String::new(),
        }
    }

    async fn course(&mut self) -> Result<SyncCounts, SyncError> {
        let (context, uuid, pk, external) = self.store.course_lms_refs(self.course.id).await?;
        let id = rest_course_id(
            &context,
            uuid.as_deref(),
            pk.as_deref(),
            external.as_deref(),
        );
        let rest: model::Course = self
            .client
            .get(&format!(
                "/learn/api/public/v3/courses/{id}?fields=id,uuid,externalId,courseId,name,termId,availability"
            ))
            .await?;
        let mut duration = rest.availability.as_ref().and_then(|a| a.duration.as_ref());
        let mut term_name = self.course.term.clone();
        let term: Option<model::Term> = match (&rest.term_id, self.full) {
            (Some(term), true) => Some(
                self.client
                    .get(&format!(
                        "/learn/api/public/v1/terms/{term}?fields=name,availability"
                    ))
                    .await?,
            ),
            _ => None,
        };
        if let Some(term) = &term {
            term_name = term.name.clone().unwrap_or_default();
        }
        if duration.is_none_or(|d| d.kind.as_deref() != Some("DateRange")) {
            duration = term
                .as_ref()
                .and_then(|t| t.availability.as_ref())
                .and_then(|a| a.duration.as_ref());
        }
        let (start_date, weeks) = match duration {
            Some(d) => teaching_span(d),
            None => (None, None),
        };
        let changed = self
            .store
            .apply_rest_course(
                self.course.id,
                &RestCourse {
                    title: rest
                        .name
                        .clone()
                        .unwrap_or_else(|| self.course.title.clone()),
                    code: rest
                        .course_id
                        .clone()
                        .unwrap_or_else(|| self.course.code.clone()),
                    lms_course_pk: rest.id.clone(),
                    lms_course_uuid: rest.uuid.clone(),
                    lms_external_id: rest.external_id.clone(),
                    term: term_name,
                    start_date,
                    weeks,
                },
            )
            .await?;
        self.cid = rest.id;
        self.course = self.store.course(self.course.id).await?;
        Ok(SyncCounts {
            updated: i64::from(changed),
            ..SyncCounts::default()
        })
    }

    async fn content(&mut self) -> Result<SyncCounts, SyncError> {
        // The whole tree every time (a page of 200 items per call): it is how deletions show.
        let items: Vec<model::Content> = self
            .client
            .get_all(&format!(
                "/learn/api/public/v1/courses/{}/contents?recursive=true&fields=id,parentId,title,position,created,modified,reviewable,availability.available,contentHandler.id",
                self.cid
            ))
            .await?;
        let rows: Vec<ContentRow> = items
            .iter()
            .map(|c| {
                let handler = c
                    .content_handler
                    .as_ref()
                    .and_then(|h| h.id.clone())
                    .unwrap_or_default();
                ContentRow {
                    lms_id: c.id.clone(),
                    parent_lms_id: c.parent_id.clone(),
                    title: c.title.clone().unwrap_or_default(),
                    group: group_of(&handler),
                    handler,
                    position: c.position.unwrap_or(0),
                    available: c.availability.as_ref().is_none_or(|a| a.is_available()),
                    lms_created: instant(
                        c.created.as_deref(),
                        format_args!("content item {}", c.id),
                    ),
                    lms_modified: instant(
                        c.modified.as_deref(),
                        format_args!("content item {}", c.id),
                    ),
                }
            })
            .collect();
        Ok(self.store.sync_content_items(self.course.id, &rows).await?)
    }

    async fn members(&mut self) -> Result<SyncCounts, SyncError> {
        const FIELDS: &str = "fields=userId,courseRoleId,availability.available,lastAccessed,user.uuid,user.userName,user.externalId,user.name.given,user.name.family,user.contact.email";
        let base = format!(
            "/learn/api/public/v1/courses/{}/users?expand=user&{FIELDS}",
            self.cid
        );
        let mut members: Vec<model::Membership> = Vec::new();
        if self.full {
            members = self.client.get_all(&base).await?;
        } else {
            // Role or availability changes, then recent course visits.
            for field in ["modified", "lastAccessed"] {
                let page: Vec<model::Membership> = self
                    .client
                    .get_all(&format!("{base}{}", self.changed_since(field)))
                    .await?;
                for m in page {
                    if !members.iter().any(|x| x.user_id == m.user_id) {
                        members.push(m);
                    }
                }
            }
        }
        let rows: Vec<MemberRow> = members.iter().filter_map(member_row).collect();
        // The roster ends access of whoever it leaves out, so it counts as complete only
        // when every page was read and every membership named its user.
        let complete = self.full && rows.len() == members.len();
        Ok(self
            .store
            .sync_memberships(self.course.platform_id, self.course.id, &rows, complete)
            .await?)
    }

    async fn gradebook(&mut self) -> Result<SyncCounts, SyncError> {
        let columns: Vec<model::Column> = self
            .client
            .get_all(&format!(
                "/learn/api/public/v2/courses/{}/gradebook/columns?fields=id,name,contentId,score.possible,grading.due,modified",
                self.cid
            ))
            .await?;
        let items = self.store.content_items(self.course.id).await?;
        let item_of = |lms_id: &str| items.iter().find(|i| i.lms_id == lms_id);
        let rows: Vec<ColumnRow> = columns
            .iter()
            .map(|c| {
                let item = c.content_id.as_deref().and_then(item_of);
                ColumnRow {
                    lms_id: c.id.clone(),
                    name: c.name.clone().unwrap_or_default(),
                    content_item: item.map(|i| i.id),
                    points_possible: c.score.as_ref().and_then(|s| s.possible),
                    due_at: instant(
                        c.grading.as_ref().and_then(|g| g.due.as_deref()),
                        format_args!("gradebook column {}", c.id),
                    ),
                    lms_modified: instant(
                        c.modified.as_deref(),
                        format_args!("gradebook column {}", c.id),
                    ),
                    is_quiz: item.is_some_and(|i| i.handler.contains("asmt-test")),
                }
            })
            .collect();
        let mut counts = self.store.sync_assessments(self.course.id, &rows).await?;
        let users = self
            .store
            .user_ids_by_lms_pk(self.course.platform_id)
            .await?;
        for assessment in self.store.assessments(self.course.id).await? {
            if assessment.removed_at.is_some() {
                continue;
            }
            let column = format!(
                "/learn/api/public/v2/courses/{}/gradebook/columns/{}",
                self.cid, assessment.lms_id
            );
            let known = assessment.change_index.filter(|_| !self.full);
            if let Some(known) = known {
                // One call tells whether anything on this column changed since last time.
                let latest = match self
                    .client
                    .get::<model::Grade>(&format!("{column}/users/lastChanged?fields=changeIndex"))
                    .await
                {
                    Ok(grade) => grade.change_index,
                    Err(BbError::Api { status: 404, .. }) => None,
                    Err(e) => return Err(e.into()),
                };
                if latest.is_none_or(|l| l <= known) {
                    continue;
                }
            }
            let attempts: Vec<model::Attempt> = self
                .client
                .get_all(&format!(
                    "{column}/attempts?fields=id,userId,status,score,created,attemptDate,modified,attemptReceipt.submissionDate{}",
                    if known.is_some() { self.changed_since("modified") } else { String::new() }
                ))
                .await?;
            let attempt_rows: Vec<AttemptRow> = attempts
                .iter()
                .filter_map(|a| {
                    Some(AttemptRow {
                        lms_id: a.id.clone(),
                        user: *users.get(a.user_id.as_deref()?)?,
                        status: a.status.clone().unwrap_or_default(),
                        score: a.score,
                        attempted_at: instant(
                            a.attempt_date.as_deref(),
                            format_args!("attempt {}", a.id),
                        ),
                        submitted_at: instant(
                            a.attempt_receipt
                                .as_ref()
                                .and_then(|r| r.submission_date.as_deref()),
                            format_args!("attempt {}", a.id),
                        ),
                        created_at: instant(a.created.as_deref(), format_args!("attempt {}", a.id)),
                        lms_modified: instant(
                            a.modified.as_deref(),
                            format_args!("attempt {}", a.id),
                        ),
                    })
                })
                .collect();
            counts += self
                .store
                .sync_attempts(self.course.id, &assessment, &attempt_rows)
                .await?;
            let grades: Vec<model::Grade> = self
                .client
                .get_all(&format!(
                    "{column}/users?fields=userId,score,text,changeIndex{}",
                    known
                        .map(|k| format!("&changeIndex={k}"))
                        .unwrap_or_default()
                ))
                .await?;
            let grade_rows: Vec<GradeRow> = grades
                .iter()
                .filter_map(|g| {
                    Some(GradeRow {
                        user: *users.get(g.user_id.as_deref()?)?,
                        score: g.score,
                        text_grade: g.text.clone(),
                        change_index: g.change_index,
                    })
                })
                .collect();
            counts += self.store.sync_grades(assessment.id, &grade_rows).await?;
            let highest = grades.iter().filter_map(|g| g.change_index).max();
            if let Some(highest) = highest.max(known) {
                self.store
                    .set_assessment_change_index(assessment.id, highest)
                    .await?;
            }
        }
        Ok(counts)
    }

    async fn discussions(&mut self) -> Result<SyncCounts, SyncError> {
        let list: Vec<model::Discussion> = self
            .client
            .get_all(&format!(
                "/learn/api/public/v1/courses/{}/discussions?fields=id,title",
                self.cid
            ))
            .await?;
        let rows: Vec<ForumRow> = list
            .iter()
            .map(|d| ForumRow {
                lms_id: d.id.clone(),
                title: d.title.clone().unwrap_or_default(),
                content_item: None,
            })
            .collect();
        let (mut counts, forums) = self.store.sync_forums(self.course.id, &rows).await?;
        let users = self
            .store
            .user_ids_by_lms_pk(self.course.platform_id)
            .await?;
        for discussion in &list {
            let forum = forums[&discussion.id];
            let messages: Vec<model::Message> = self
                .client
                .get_all(&format!(
                    "/learn/api/public/v1/courses/{}/discussions/{}/messages?fields=id,parentId,threadId,userId,status,postDate,createdDate{}",
                    self.cid,
                    discussion.id,
                    self.changed_since("modified")
                ))
                .await?;
            let posts: Vec<PostRow> = messages
                .iter()
                .map(|m| PostRow {
                    lms_id: m.id.clone(),
                    parent_lms_id: m.parent_id.clone(),
                    thread_lms_id: m.thread_id.clone(),
                    user: m.user_id.as_deref().and_then(|u| users.get(u).copied()),
                    status: m.status.clone().unwrap_or_default(),
                    posted_at: instant(m.post_date.as_deref(), format_args!("message {}", m.id))
                        .or_else(|| {
                            instant(m.created_date.as_deref(), format_args!("message {}", m.id))
                        })
                        .unwrap_or_else(EpochMs::now),
                })
                .collect();
            counts += self
                .store
                .sync_forum_posts(self.course.id, forum, &posts, self.full)
                .await?;
        }
        Ok(counts)
    }

    async fn calendar(&mut self) -> Result<SyncCounts, SyncError> {
        let (from, until) = self.calendar_span();
        let mut counts = SyncCounts::default();
        let mut start = from;
        while start < until {
            let end = EpochMs((start.0 + CALENDAR_WINDOW_DAYS * DAY_MS).min(until.0));
            let items: Vec<model::CalendarItem> = self
                .client
                .get_all(&format!(
                    "/learn/api/public/v1/calendars/items?courseId={}&since={}&until={}",
                    self.cid,
                    iso(start),
                    iso(end)
                ))
                .await?;
            // Gradebook items repeat the due dates the gradebook stage already holds.
            let rows: Vec<CalendarRow> = items
                .iter()
                .filter(|i| i.kind.as_deref() != Some("GradebookColumn"))
                .filter_map(|i| {
                    Some(CalendarRow {
                        lms_id: i.id.clone(),
                        title: i.title.clone().unwrap_or_default(),
                        starts_at: instant(
                            i.start.as_deref(),
                            format_args!("calendar item {}", i.id),
                        )?,
                        ends_at: instant(i.end.as_deref(), format_args!("calendar item {}", i.id)),
                    })
                })
                .collect();
            counts += self
                .store
                .sync_calendar_events(self.course.id, start, end, &rows)
                .await?;
            start = end;
        }
        Ok(counts)
    }

    /// The teaching period with a week before and two after, or eight weeks around today.
    fn calendar_span(&self) -> (EpochMs, EpochMs) {
        // Stored dates may predate the Settings checks: out-of-range ones count as unset.
        let start = self
            .course
            .start_date
            .and_then(|d| CourseDate::from_stored(d).ok());
        match start {
            Some(start) => {
                let start = EpochMs::from(start.to_stored().midnight().assume_utc());
                let weeks = self.course.weeks.clamp(1, MAX_WEEKS);
                (
                    EpochMs(start.0 - 7 * DAY_MS),
                    EpochMs(start.0 + (weeks + 2) * 7 * DAY_MS),
                )
            }
            None => {
                let now = EpochMs::now();
                (EpochMs(now.0 - 56 * DAY_MS), EpochMs(now.0 + 56 * DAY_MS))
            }
        }
    }

    async fn reviews(&mut self) -> Result<SyncCounts, SyncError> {
        // Review status has no change filter and grows with students × items: full runs only.
        if !self.full {
            return Ok(SyncCounts::default());
        }
        let statuses: Vec<model::ReviewStatus> = match self
            .client
            .get_all(&format!(
                "/learn/api/public/v1/courses/{}/performance/contentReviewStatus",
                self.cid
            ))
            .await
        {
            Ok(statuses) => statuses,
            // Courses without reviewable content, or Learn versions before 3700.15.
            Err(BbError::Api {
                status: 403 | 404, ..
            }) => return Ok(SyncCounts::default()),
            Err(e) => return Err(e.into()),
        };
        let items: HashMap<String, _> = self.store.content_item_ids(self.course.id).await?;
        let users = self
            .store
            .user_ids_by_lms_pk(self.course.platform_id)
            .await?;
        let rows: Vec<ReviewRow> = statuses
            .iter()
            .filter_map(|s| {
                Some(ReviewRow {
                    content_item: *items.get(s.content_id.as_deref()?)?,
                    user: *users.get(s.user_id.as_deref()?)?,
                    reviewed: s.reviewed.unwrap_or(false),
                    reviewed_at: instant(
                        s.review_date.as_deref(),
                        format_args!("review status of user {:?}", s.user_id),
                    ),
                })
            })
            .collect();
        let updated = self
            .store
            .upsert_content_reviews(self.course.id, &rows)
            .await?;
        Ok(SyncCounts {
            updated,
            ..SyncCounts::default()
        })
    }
}

/// Loop's three groups, by content handler.
fn group_of(handler: &str) -> ItemGroup {
    const COMMUNICATION: [&str; 7] = [
        "forum",
        "discussion",
        "blog",
        "journal",
        "wiki",
        "collab",
        "announcement",
    ];
    const ASSESSMENT: [&str; 6] = ["asmt", "assignment", "survey", "turnitin", "test", "quiz"];
    let handler = handler.to_ascii_lowercase();
    if COMMUNICATION.iter().any(|k| handler.contains(k)) {
        ItemGroup::Communication
    } else if ASSESSMENT.iter().any(|k| handler.contains(k)) {
        ItemGroup::Assessment
    } else {
        ItemGroup::Content
    }
}

/// Normalised role name and staff flag for a Learn course role.
fn role_of(course_role: &str) -> (&'static str, bool) {
    match course_role {
        "Instructor" => ("Instructor", true),
        "TeachingAssistant" | "Grader" => ("TeachingAssistant", true),
        "CourseBuilder" => ("ContentDeveloper", true),
        "Student" => ("Learner", false),
        "Guest" => ("Guest", false),
        _ => ("", false),
    }
}

fn member_row(m: &model::Membership) -> Option<MemberRow> {
    let user = m.user.as_ref()?;
    let lms_role = m.course_role_id.clone().unwrap_or_default();
    let (role, is_staff) = role_of(&lms_role);
    let name = user.name.as_ref();
    Some(MemberRow {
        lms_sub: user.uuid.clone()?,
        lms_user_pk: m.user_id.clone(),
        username: user.user_name.clone(),
        external_id: user.external_id.clone(),
        given_name: name.and_then(|n| n.given.clone()).unwrap_or_default(),
        family_name: name.and_then(|n| n.family.clone()).unwrap_or_default(),
        email: user.contact.as_ref().and_then(|c| c.email.clone()),
        roles: role.to_string(),
        lms_role,
        is_staff,
        available: m.availability.as_ref().is_none_or(|a| a.is_available()),
        last_accessed: instant(
            m.last_accessed.as_deref(),
            format_args!("membership of user {}", m.user_id),
        ),
    })
}

/// Start date and length in weeks of a date range.
fn teaching_span(duration: &model::Duration) -> (Option<Date>, Option<i64>) {
    let parse = |s: Option<&str>| {
        s.and_then(|s| {
            OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()
        })
    };
    let start = parse(duration.start.as_deref());
    let end = parse(duration.end.as_deref());
    let weeks = match (start, end) {
        (Some(s), Some(e)) if e > s => Some(((e - s).whole_days() + 6).div_euclid(7).clamp(1, 104)),
        _ => None,
    };
    let start = start.map(|s| s.date()).filter(|date| {
        let accepted = CourseDate::from_stored(*date);
        if let Err(e) = &accepted {
            tracing::warn!(value = ?duration.start, "dropped a term start date from Learn: {e}");
        }
        accepted.is_ok()
    });
    (start, weeks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rest_course_ids_prefer_the_primary_key_then_uuid() {
        assert_eq!(
            rest_course_id("ctx", Some("a-b"), Some("_12_1"), None),
            "_12_1"
        );
        assert_eq!(
            rest_course_id(
                "ctx",
                Some("9f1c2b7e-0000-4000-8000-1234567890ab"),
                None,
                None
            ),
            "uuid:9f1c2b7e0000400080001234567890ab"
        );
        assert_eq!(
            rest_course_id("ctx", None, None, Some("BIO101")),
            "externalId:BIO101"
        );
        assert_eq!(
            rest_course_id("0123456789abcdef0123456789abcdef", None, None, None),
            "uuid:0123456789abcdef0123456789abcdef"
        );
        assert_eq!(
            rest_course_id("BIO101-2026", None, None, None),
            "courseId:BIO101-2026"
        );
    }

    #[test]
    fn handlers_fall_into_loops_groups() {
        assert_eq!(
            group_of("resource/x-bb-forumlink"),
            ItemGroup::Communication
        );
        assert_eq!(
            group_of("resource/x-bb-asmt-test-link"),
            ItemGroup::Assessment
        );
        assert_eq!(group_of("resource/x-bb-assignment"), ItemGroup::Assessment);
        assert_eq!(group_of("resource/x-bb-document"), ItemGroup::Content);
        assert_eq!(group_of("resource/x-bb-folder"), ItemGroup::Content);
    }

    #[test]
    fn term_dates_give_start_and_weeks() {
        let span = teaching_span(&model::Duration {
            kind: Some("DateRange".into()),
            start: Some("2026-03-02T00:00:00.000Z".into()),
            end: Some("2026-05-29T00:00:00.000Z".into()),
        });
        assert_eq!(span.0, Some(time::macros::date!(2026 - 03 - 02)));
        assert_eq!(span.1, Some(13));
    }

    #[test]
    fn term_dates_outside_the_accepted_years_are_dropped() {
        let span = teaching_span(&model::Duration {
            kind: Some("DateRange".into()),
            start: Some("9999-12-31T00:00:00.000Z".into()),
            end: Some("9999-12-31T23:00:00.000Z".into()),
        });
        assert_eq!(span.0, None);
        let due = model::instant(Some("0001-01-01T00:00:00Z"), format_args!("column _1_1"));
        assert_eq!(due, None);
        let ok = model::instant(Some("2026-03-02T00:00:00Z"), format_args!("column _1_1"));
        assert!(ok.is_some());
    }
}
