//! What a Moodle log reader knows of the course it imports into: the year of times
//! written without one, and the members and items by name, for downloads that hide ids.

use std::collections::HashMap;

use jiff::civil::Date;

use crate::store::courses::Course;
use crate::store::{Store, StoreResult};

/// What the reader knows of the course: the year of times written without one, and its
/// members and items by name, for downloads whose ids are hidden.
#[derive(Debug, Default)]
pub struct MoodleContext {
    /// The year the operator gave.
    pub(super) year: Option<i16>,
    /// The course's first and last day.
    pub(super) span: Option<(Date, Date)>,
    /// Full name → the member's LMS key; `None` where two members share the name.
    pub(super) people: HashMap<String, Option<String>>,
    /// Title → the item's LMS id; `None` where two items share the title.
    pub(super) items: HashMap<String, Option<String>>,
}

impl MoodleContext {
    pub async fn of_course(store: &Store, course: &Course, year: Option<i16>) -> StoreResult<Self> {
        let span = course.start_date.and_then(|start| {
            let start = jiff::civil::date(
                i16::try_from(start.year()).ok()?,
                start.month() as i8,
                i8::try_from(start.day()).ok()?,
            );
            let end = start
                .checked_add(jiff::Span::new().days(course.weeks.max(1) * 7))
                .ok()?;
            Some((start, end))
        });
        let mut context = Self {
            year,
            span,
            ..Self::default()
        };
        for (name, key) in store.members_by_name(course.id).await? {
            context.add_person(&name, key);
        }
        for item in store.content_items(course.id).await? {
            let entry = context.items.entry(item.title.trim().to_string());
            entry
                .and_modify(|known| *known = None)
                .or_insert(Some(item.lms_id));
        }
        Ok(context)
    }

    pub(super) fn add_person(&mut self, name: &str, key: String) {
        self.people
            .entry(name.trim().to_lowercase())
            .and_modify(|known| *known = None)
            .or_insert(Some(key));
    }

    /// The year of a day and month written without one: the operator's, or the one that
    /// puts it within the course's dates (a month either side).
    pub(super) fn year_of(&self, month: i8, day: i8) -> Option<i16> {
        if self.year.is_some() {
            return self.year;
        }
        let (start, end) = self.span?;
        let slack = jiff::Span::new().days(31);
        let (from, to) = (start.checked_sub(slack).ok()?, end.checked_add(slack).ok()?);
        [start.year(), start.year() + 1]
            .into_iter()
            .find(|&year| Date::new(year, month, day).is_ok_and(|date| (from..=to).contains(&date)))
            .or(Some(start.year()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_course_in_the_southern_summer_gives_yearless_times_the_right_year() {
        let context = MoodleContext {
            span: Some((
                jiff::civil::date(2024, 11, 25),
                jiff::civil::date(2025, 2, 28),
            )),
            ..MoodleContext::default()
        };
        assert_eq!(context.year_of(12, 1), Some(2024));
        assert_eq!(context.year_of(1, 15), Some(2025));
    }
}
