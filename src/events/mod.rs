//! Course events — single, repeating and submission — on the course calendar: validation
//! of what staff enter, and expansion of repeating events into concrete instants.

mod calendar;
mod form;
mod occurrences;

pub use calendar::{Calendar, CalendarError};
pub use form::{EventForm, EventKind};
pub use occurrences::{Occurrence, expand};
