//! Read models behind the instructor views: one function per view computes that view's
//! numbers from rollups and small tables, as [`Table`]s the web layer draws, lists and
//! exports. Views never run SQL.

mod access;
mod cohort;
mod cohort_counts;
mod comparison;
mod dashboard;
mod discussions;
mod offerings;
mod outreach;
mod people;
mod resource;
mod table;
mod table_view;
mod tree;
mod who;
mod windows;

pub use access::{AccessTab, Group, access};
pub use cohort::{Cohort, CohortFilter, RoleChoice};
pub use comparison::{EventWindow, comparison, event_split_by_item, event_split_by_student};
pub use dashboard::{Dashboard, dashboard};
pub use offerings::{
    LinkSource, MatchedBy, OfferingChoices, OfferingComparison, PreviousOffering,
    ResourceComparison, choose_previous, offering_choices, offering_comparison,
    resource_comparison,
};
pub use outreach::{Outreach, OutreachList, OutreachParams, OutreachQuery, outreach};
pub use people::{StudentDetail, course_list, student_detail, students};
pub use resource::{ResourceDetail, resource_detail};
pub use table::{Cell, Row, Table, TreePos};
pub use table_view::{Search, Sort, TableView};
pub use windows::{HourWindow, Hours, hour_windows};

use jiff::civil::Weekday;

use crate::events::{Calendar, CourseDate, MAX_WEEKS, Occurrence, expand};
use crate::store::course_events::CourseEventRow;
use crate::store::courses::Course;
use crate::store::{CourseId, EpochMs, Store, StoreError, StoreResult};

/// A course with its calendar, visible events and data freshness: what every page needs.
#[derive(Clone, Debug)]
pub struct CourseView {
    pub course: Course,
    pub cal: Calendar,
    /// False while the start date is a guess (staff have not set it and the LMS sent none).
    pub dates_known: bool,
    pub events: Vec<CourseEventRow>,
    pub occurrences: Vec<Occurrence>,
    pub last_sync: Option<EpochMs>,
    pub last_event: Option<EpochMs>,
    /// How the LTI services (roster, gradebook) last fared for this course.
    pub data_sources: Vec<crate::lti::services::DataSourceStatus>,
    /// Whom the numbers count: the page's cohort filter resolved against the roster.
    pub cohort: Cohort,
}

impl CourseView {
    /// The course as every page needs it, counting the default cohort (students who left
    /// left out).
    pub async fn load(store: &Store, id: CourseId) -> StoreResult<Self> {
        Self::load_for(store, id, CohortFilter::default()).await
    }

    /// The course with its numbers counted for the cohort `filter` chooses.
    pub async fn load_for(store: &Store, id: CourseId, filter: CohortFilter) -> StoreResult<Self> {
        // Independent reads, on separate connections at once: every course page waits
        // for these before its own.
        let course_and_calendar = async {
            let course = store.course(id).await?;
            let calendar = course_calendar(store, &course).await?;
            Ok((course, calendar))
        };
        let ((course, (cal, dates_known)), events, (last_sync, last_event), data_sources, cohort) =
            tokio::try_join!(
                course_and_calendar,
                store.course_events(id),
                store.course_freshness(id),
                crate::lti::services::status(store, id),
                Cohort::load(store, id, filter),
            )?;
        let occurrences = expand(&events, &cal);
        Ok(Self {
            course,
            cal,
            dates_known,
            events,
            occurrences,
            last_sync,
            last_event,
            data_sources,
            cohort,
        })
    }

    /// The instant the local day begins.
    pub fn day_start(&self, day: i64) -> EpochMs {
        self.cal.instant(Calendar::date_of(day), 0)
    }

    /// The days a range covers.
    pub fn days(&self, range: Range) -> (i64, i64) {
        match range {
            Range::All => (self.cal.start_day(), self.cal.end_day()),
            Range::Week(n) => self.cal.week_days(n),
        }
    }

    /// Column heads and day spans of the buckets of a range: weeks for all weeks, days for
    /// one week.
    pub fn buckets(&self, range: Range) -> Vec<Bucket> {
        match range {
            Range::All => (1..=self.cal.weeks)
                .map(|n| {
                    let (from, to) = self.cal.week_days(n);
                    Bucket {
                        label: format!("W{n}"),
                        from,
                        to,
                    }
                })
                .collect(),
            Range::Week(n) => {
                let (from, _) = self.cal.week_days(n);
                (from..from + 7)
                    .map(|d| Bucket {
                        label: day_label(d),
                        from: d,
                        to: d + 1,
                    })
                    .collect()
            }
        }
    }
}

/// The course's teaching calendar, and whether its start date is known rather than guessed.
async fn course_calendar(store: &Store, course: &Course) -> StoreResult<(Calendar, bool)> {
    let tz = if jiff::tz::TimeZone::get(&course.time_zone).is_ok() {
        course.time_zone.clone()
    } else {
        "UTC".to_string()
    };
    // Stored values may predate the Settings checks: out-of-range ones are read as unset,
    // so every page (Settings included, where staff fix them) still renders.
    let weeks = course.weeks.clamp(1, MAX_WEEKS);
    let stored = course
        .start_date
        .and_then(|d| CourseDate::from_stored(d).ok());
    let (start, dates_known) = match stored {
        Some(d) => (d, true),
        None => (guess_start(store, course.id, &tz).await?, false),
    };
    let cal = Calendar::new(start, weeks, &tz).map_err(|e| {
        StoreError::Conflict(format!("course {} has no usable calendar: {e}", course.id))
    })?;
    Ok((cal, dates_known))
}

/// Until the dates are set, weeks start on the Monday of the first recorded day (or of
/// today, when nothing is recorded or the first day is outside the accepted dates).
async fn guess_start(store: &Store, id: CourseId, tz: &str) -> StoreResult<CourseDate> {
    let clock = crate::ingest::CourseClock::or_utc(tz);
    let today = clock.day_of(EpochMs::now()).0;
    let monday = |day: i64| {
        let date = Calendar::date_of(day);
        let back = i64::from(date.weekday().to_monday_zero_offset());
        CourseDate::new(Calendar::date_of(day.saturating_sub(back))).ok()
    };
    let first = store.first_rollup_day(id).await?;
    Ok(first
        .and_then(monday)
        .or_else(|| monday(today))
        .unwrap_or(CourseDate::FIRST))
}

/// A column of a heat map: a week or a day.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bucket {
    pub label: String,
    pub from: i64,
    pub to: i64,
}

/// "All weeks" or one teaching week.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Range {
    All,
    Week(i64),
}

impl Range {
    /// From the `week` query parameter; out-of-range weeks mean all weeks.
    pub fn parse(week: Option<&str>, weeks: i64) -> Self {
        match week.and_then(|w| w.parse::<i64>().ok()) {
            Some(n) if (1..=weeks).contains(&n) => Self::Week(n),
            _ => Self::All,
        }
    }

    pub fn query_value(self) -> String {
        match self {
            Self::All => String::new(),
            Self::Week(n) => n.to_string(),
        }
    }
}

/// `Mon 02 Mar` for a day number.
pub fn day_label(day: i64) -> String {
    let d = Calendar::date_of(day);
    let wd = match d.weekday() {
        Weekday::Monday => "Mon",
        Weekday::Tuesday => "Tue",
        Weekday::Wednesday => "Wed",
        Weekday::Thursday => "Thu",
        Weekday::Friday => "Fri",
        Weekday::Saturday => "Sat",
        Weekday::Sunday => "Sun",
    };
    format!("{wd} {}", d.strftime("%Y-%m-%d"))
}
