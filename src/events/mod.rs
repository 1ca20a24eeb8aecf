//! Course events — single, repeating and submission — on the course calendar: validation
//! of what staff enter, and expansion of repeating events into concrete instants.

mod calendar;
mod date;
mod form;
mod occurrences;

pub use calendar::{Calendar, CalendarError, MAX_WEEKS};
pub use date::{CourseDate, DateError, FIRST_DATE, LAST_DATE, checked_instant};
pub use form::{EventForm, EventKind};
pub use occurrences::{Occurrence, expand};
