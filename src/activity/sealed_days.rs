//! Sealing student-days (SQLite): a day over in every time zone is marked sealed, which puts
//! the row, every column, in an index by student that group and role filters read in order.
//!
//! The days still being written stay out of that index, so a live write never moves an entry
//! of it; a late event for a sealed day still lands (its index entry is rewritten).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use foldhash::HashMap;
use rusqlite::{Connection, params};

/// How often a course's sealing runs at most when the day has not changed: an import of
/// past days gets its finished days sealed as it goes.
const RESEAL_AFTER: Duration = Duration::from_secs(60);

/// The days before this one are over in every time zone (local days count from the epoch,
/// and a zone's day runs at most 14 hours either side of UTC's).
pub fn sealing_cutoff(now_ms: i64) -> i64 {
    now_ms.div_euclid(86_400_000) - 1
}

/// When each course's days were last sealed, and up to which day: the writer's memory.
#[derive(Clone, Debug, Default)]
pub struct Sealing(Arc<Mutex<HashMap<i64, (i64, Instant)>>>);

impl Sealing {
    /// Seals `course`'s finished days when the day has changed since it last did, or a
    /// while has passed (inside the caller's write transaction).
    pub fn seal_if_due(&self, db: &Connection, course: i64, now_ms: i64) -> rusqlite::Result<()> {
        let cutoff = sealing_cutoff(now_ms);
        let due = {
            let last = self.0.lock().expect("sealing");
            last.get(&course)
                .is_none_or(|(day, at)| *day != cutoff || at.elapsed() >= RESEAL_AFTER)
        };
        if due {
            seal_days_before(db, course, cutoff)?;
            self.0
                .lock()
                .expect("sealing")
                .insert(course, (cutoff, Instant::now()));
        }
        Ok(())
    }
}

/// Marks `course`'s student-days before `cutoff` sealed.
pub fn seal_days_before(db: &Connection, course: i64, cutoff: i64) -> rusqlite::Result<usize> {
    db.execute(
        "UPDATE rollup_student_day SET sealed = 1 \
         WHERE course_id = ?1 AND sealed = 0 AND day < ?2",
        params![course, cutoff],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cutoff_leaves_out_a_day_still_running_anywhere() {
        let day = 20_500_i64;
        let noon = day * 86_400_000 + 43_200_000;
        // Yesterday in UTC is still today at UTC−12 until noon UTC: the cutoff is yesterday,
        // so only the days before it are sealed.
        assert_eq!(sealing_cutoff(noon), day - 1);
        assert_eq!(sealing_cutoff(day * 86_400_000), day - 1);
        assert_eq!(sealing_cutoff(day * 86_400_000 - 1), day - 2);
    }

    #[test]
    fn sealing_marks_only_the_days_before_the_cutoff_and_runs_again_on_a_new_day() {
        let db = Connection::open_in_memory().unwrap();
        db.execute_batch(
            "CREATE TABLE rollup_student_day (course_id INTEGER, day INTEGER, user_id INTEGER, \
             sealed INTEGER NOT NULL DEFAULT 0); \
             INSERT INTO rollup_student_day (course_id, day, user_id) VALUES \
             (1, 100, 7), (1, 101, 7), (1, 102, 7), (2, 100, 7);",
        )
        .unwrap();
        let sealed = |db: &Connection| -> Vec<(i64, i64)> {
            let mut s = db
                .prepare(
                    "SELECT course_id, day FROM rollup_student_day WHERE sealed = 1 ORDER BY 1, 2",
                )
                .unwrap();
            s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap()
        };
        let sealing = Sealing::default();
        // Day 102 at noon: the cutoff is 101, so only day 100 of course 1 is sealed.
        sealing.seal_if_due(&db, 1, 102 * 86_400_000 + 1).unwrap();
        assert_eq!(sealed(&db), vec![(1, 100)]);
        // Not due again on the same day: a row put back unsealed stays so.
        db.execute("UPDATE rollup_student_day SET sealed = 0", [])
            .unwrap();
        sealing.seal_if_due(&db, 1, 102 * 86_400_000 + 2).unwrap();
        assert_eq!(sealed(&db), vec![]);
        // The next day it runs: days 100 and 101.
        sealing.seal_if_due(&db, 1, 103 * 86_400_000).unwrap();
        assert_eq!(sealed(&db), vec![(1, 100), (1, 101)]);
    }
}
