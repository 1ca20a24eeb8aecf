//! A seeded generator of realistic course activity, shared by tests, benchmarks and the
//! demo: students of varied engagement (a long tail, some who stop), a weekly rhythm,
//! peaks around the weekly lecture and before due dates, a mid-semester break. It streams
//! one day at a time, so any size fits in constant memory, and writes every import format.

use std::io::{self, Write};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::clock::{CourseClock, TimestampReader};
use super::{ActivityKind, ItemGroup};
use crate::activity::Day;
use crate::store::EpochMs;

/// A content item of the synthetic course; `pk1` is its Learn pk1 (lms id `_pk1_1`).
#[derive(Clone, Debug)]
pub struct SynthItem {
    pub pk1: u64,
    pub title: String,
    pub group: ItemGroup,
    /// The folder it sits in, if any.
    pub parent: Option<u64>,
    /// The teaching week (0-based) from which it is available.
    pub week: u32,
    /// For assessments: when it is due, as (week, weekday 0 = Monday, hour).
    pub due: Option<(u32, u32, u32)>,
}

/// What the generated course looks like.
#[derive(Clone, Debug)]
pub struct CourseShape {
    /// The Monday the teaching starts, and the number of weeks.
    pub start: jiff::civil::Date,
    pub weeks: u32,
    pub students: u32,
    pub staff: u32,
    pub time_zone: String,
    /// The weekly lecture: weekday (0 = Monday) and hour.
    pub lecture: (u32, u32),
    /// A teaching week with no classes (0-based), if any.
    pub break_week: Option<u32>,
    pub items: Vec<SynthItem>,
    /// The course's Learn pk1 (`_pk1_1`).
    pub course_pk1: u64,
}

impl CourseShape {
    /// A 12-week course with a folder per week (notes, slides, a reading), a discussion
    /// forum, a quiz every third week and assignments due in weeks 4, 8 and 12.
    pub fn semester(students: u32) -> Self {
        let weeks = 12;
        let mut items = Vec::new();
        let mut pk1 = 1000;
        let mut next = || {
            pk1 += 1;
            pk1
        };
        items.push(SynthItem {
            pk1: next(),
            title: "Discussion board".into(),
            group: ItemGroup::Communication,
            parent: None,
            week: 0,
            due: None,
        });
        for week in 0..weeks {
            let folder = next();
            items.push(SynthItem {
                pk1: folder,
                title: format!("Week {}", week + 1),
                group: ItemGroup::Content,
                parent: None,
                week,
                due: None,
            });
            for name in ["Lecture notes", "Slides", "Reading"] {
                items.push(SynthItem {
                    pk1: next(),
                    title: format!("Week {} {name}", week + 1),
                    group: ItemGroup::Content,
                    parent: Some(folder),
                    week,
                    due: None,
                });
            }
            if week % 3 == 2 {
                items.push(SynthItem {
                    pk1: next(),
                    title: format!("Quiz {}", week / 3 + 1),
                    group: ItemGroup::Assessment,
                    parent: Some(folder),
                    week,
                    due: Some((week, 4, 17)),
                });
            }
            if matches!(week, 3 | 7 | 11) {
                items.push(SynthItem {
                    pk1: next(),
                    title: format!("Assignment {}", week / 4 + 1),
                    group: ItemGroup::Assessment,
                    parent: None,
                    week: week.saturating_sub(3),
                    due: Some((week, 6, 23)),
                });
            }
        }
        Self {
            start: jiff::civil::date(2024, 2, 26),
            weeks,
            students,
            staff: 2,
            time_zone: "Australia/Melbourne".into(),
            lecture: (2, 10),
            break_week: Some(6),
            items,
            course_pk1: 1358,
        }
    }

    /// Learn pk1 of the n-th person (staff first, then students).
    pub fn user_pk1(&self, n: u32) -> u64 {
        100_000 + u64::from(n)
    }

    pub fn people(&self) -> u32 {
        self.staff + self.students
    }
}

/// One generated event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SynthEvent {
    /// A unique, increasing id (the accumulator's pk1).
    pub pk1: u64,
    pub at: EpochMs,
    /// Milliseconds since 1970-01-01T00:00 of the course's wall clock.
    pub local_ms: i64,
    pub user_pk1: u64,
    pub item: Option<u64>,
    pub group: ItemGroup,
    pub kind: ActivityKind,
    pub session: u64,
}

struct Person {
    engagement: f64,
    stops_after: Option<u32>,
}

/// Streams a course's events day by day, in time order within each day.
pub struct Generator {
    pub shape: CourseShape,
    rng: StdRng,
    people: Vec<Person>,
    scale: f64,
    day: u32,
    next_pk1: u64,
    next_session: u64,
    times: TimestampReader,
}

const DAY_MS: i64 = 86_400_000;

impl Generator {
    /// A generator of about `target_events` events over the course (±10 %), from `seed`.
    pub fn new(shape: CourseShape, seed: u64, target_events: u64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let people = (0..shape.people())
            .map(|n| {
                let staff = n < shape.staff;
                // Exponential engagement: most students moderate, a long tail of keen ones.
                let u: f64 = rng.random_range(0.001..1.0);
                let engagement = if staff { 0.6 } else { -u.ln() };
                let stops_after = (!staff && rng.random_bool(0.12))
                    .then(|| rng.random_range(2..shape.weeks.max(3)));
                Person {
                    engagement,
                    stops_after,
                }
            })
            .collect();
        let clock = CourseClock::or_utc(&shape.time_zone);
        let mut generator = Self {
            shape,
            rng,
            people,
            scale: 1.0,
            day: 0,
            next_pk1: 1,
            next_session: 1,
            times: TimestampReader::new(clock),
        };
        let weight: f64 = (0..generator.days())
            .map(|day| {
                (0..generator.people.len())
                    .map(|p| generator.weight(p, day))
                    .sum::<f64>()
            })
            .sum();
        generator.scale = if weight > 0.0 {
            target_events as f64 / weight
        } else {
            0.0
        };
        generator
    }

    /// Days covered: the teaching weeks plus an exam week.
    pub fn days(&self) -> u32 {
        (self.shape.weeks + 1) * 7
    }

    /// The expected activity of a person on a day, before scaling.
    fn weight(&self, person: usize, day: u32) -> f64 {
        let p = &self.people[person];
        let week = day / 7;
        let weekday = day % 7;
        if p.stops_after.is_some_and(|w| week > w) {
            return 0.0;
        }
        let mut w = p.engagement * [1.0, 1.1, 1.2, 1.0, 0.8, 0.45, 0.6][weekday as usize];
        if self.shape.break_week == Some(week) {
            w *= 0.25;
        }
        if weekday == self.shape.lecture.0 {
            w *= 1.6;
        }
        for item in &self.shape.items {
            if let Some((due_week, due_day, _)) = item.due {
                let due = due_week * 7 + due_day;
                if day <= due && due - day < 3 {
                    w *= 1.0 + 0.9 / f64::from(due - day + 1);
                }
            }
        }
        w
    }

    fn pick_item(&mut self, week: u32, assessment_bias: f64) -> &SynthItem {
        let available: Vec<usize> = (0..self.shape.items.len())
            .filter(|i| self.shape.items[*i].week <= week)
            .collect();
        if self.rng.random_bool(assessment_bias.clamp(0.0, 1.0)) {
            let due_soon: Vec<usize> = available
                .iter()
                .copied()
                .filter(|i| {
                    self.shape.items[*i]
                        .due
                        .is_some_and(|(w, _, _)| w == week || w == week + 1)
                })
                .collect();
            if !due_soon.is_empty() {
                return &self.shape.items[due_soon[self.rng.random_range(0..due_soon.len())]];
            }
        }
        // Recent weeks' items are the most visited.
        loop {
            let i = available[self.rng.random_range(0..available.len())];
            let age = week - self.shape.items[i].week;
            if self.rng.random_bool(1.0 / f64::from(age + 1)) {
                return &self.shape.items[i];
            }
        }
    }

    fn start_ms(&self) -> i64 {
        let days = self
            .shape
            .start
            .since(jiff::civil::date(1970, 1, 1))
            .map(|s| i64::from(s.get_days()))
            .unwrap_or(0);
        days * DAY_MS
    }

    /// The next day's events in time order; `None` after the last day.
    pub fn next_day(&mut self) -> Option<Vec<SynthEvent>> {
        if self.day >= self.days() {
            return None;
        }
        let day = self.day;
        self.day += 1;
        let week = day / 7;
        let weekday = day % 7;
        let day_start = self.start_ms() + i64::from(day) * DAY_MS;
        let mut events = Vec::new();
        for person in 0..self.people.len() {
            let expected = self.weight(person, day) * self.scale;
            let noisy = expected * self.rng.random_range(0.5..1.5);
            let mut count = noisy.floor() as u64;
            if self.rng.random_bool(noisy.fract()) {
                count += 1;
            }
            let user_pk1 = self.shape.user_pk1(person as u32);
            let mut remaining = count;
            while remaining > 0 {
                let in_session = remaining.min(self.rng.random_range(3..15));
                remaining -= in_session;
                let hour = if weekday == self.shape.lecture.0 && self.rng.random_bool(0.4) {
                    self.shape.lecture.1 + self.rng.random_range(0..2)
                } else {
                    [9, 10, 11, 13, 14, 15, 16, 19, 20, 21, 22, 23][self.rng.random_range(0..12)]
                };
                let mut local =
                    day_start + i64::from(hour) * 3_600_000 + self.rng.random_range(0..3_600_000);
                let session = self.next_session;
                self.next_session += 1;
                for _ in 0..in_session {
                    let item = self.pick_item(week, 0.15).clone();
                    let kind = match item.group {
                        ItemGroup::Assessment if self.rng.random_bool(0.2) => {
                            if self.rng.random_bool(0.5) {
                                ActivityKind::Attempt
                            } else {
                                ActivityKind::Submission
                            }
                        }
                        ItemGroup::Communication if self.rng.random_bool(0.1) => ActivityKind::Post,
                        _ => ActivityKind::View,
                    };
                    let Ok(at) = self.times.local(local) else {
                        continue;
                    };
                    events.push(SynthEvent {
                        pk1: 0,
                        at,
                        local_ms: local,
                        user_pk1,
                        item: Some(item.pk1),
                        group: item.group,
                        kind,
                        session,
                    });
                    // Exponential-ish pauses of about two minutes, rarely long.
                    let u: f64 = self.rng.random_range(0.001..1.0);
                    local += (-u.ln() * 120_000.0) as i64 + 5_000;
                }
            }
        }
        events.sort_by_key(|e| e.local_ms);
        for e in &mut events {
            e.pk1 = self.next_pk1;
            self.next_pk1 += 1;
        }
        Some(events)
    }
}

/// `YYYY-MM-DD HH:MM:SS` of a wall-clock time in milliseconds since 1970-01-01T00:00.
pub fn local_text(local_ms: i64) -> String {
    let secs = local_ms.div_euclid(1000);
    let date = Day(secs.div_euclid(86_400)).date();
    let s = secs.rem_euclid(86_400);
    format!("{date} {:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// The accumulator's `event_type` of a generated event.
pub fn accumulator_event_type(e: &SynthEvent) -> &'static str {
    match e.kind {
        ActivityKind::Attempt => "ASSESSMENT_ATTEMPT",
        ActivityKind::Submission => "ASSESSMENT_SUBMIT",
        ActivityKind::Post => "DISCUSSION_RESPONSE",
        _ => "CONTENT_ACCESS",
    }
}

/// Writes a generator's whole output as an activity accumulator export (pipe-delimited
/// when `pipe`), returning the number of events written.
pub fn write_accumulator(
    generator: &mut Generator,
    out: &mut impl Write,
    pipe: bool,
) -> io::Result<u64> {
    let d = if pipe { '|' } else { ',' };
    writeln!(
        out,
        "pk1{d}event_type{d}user_pk1{d}course_pk1{d}group_pk1{d}forum_pk1{d}internal_handle{d}content_pk1{d}data{d}timestamp{d}status{d}messages{d}session_id"
    )?;
    let course = generator.shape.course_pk1;
    let mut n = 0;
    while let Some(day) = generator.next_day() {
        for e in day {
            writeln!(
                out,
                "{}{d}{}{d}{}{d}{course}{d}{d}{d}{d}{}{d}{d}{}{d}0{d}{d}{}",
                e.pk1,
                accumulator_event_type(&e),
                e.user_pk1,
                e.item.map(|i| i.to_string()).unwrap_or_default(),
                local_text(e.local_ms),
                e.session
            )?;
            n += 1;
        }
    }
    Ok(n)
}

/// Writes the output as a Loop export zip (`activity.txt` plus a resource and a user list).
pub fn write_loop_zip(generator: &mut Generator, out: impl Write + io::Seek) -> io::Result<u64> {
    let mut zip = zip::ZipWriter::new(out);
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    let to_io = |e: zip::result::ZipError| io::Error::other(e.to_string());
    zip.start_file("resources.txt", options).map_err(to_io)?;
    for item in &generator.shape.items {
        writeln!(zip, "{}|{}|{}", item.pk1, item.title, item.group.as_str())?;
    }
    zip.start_file("users.txt", options).map_err(to_io)?;
    for n in 0..generator.shape.people() {
        writeln!(zip, "{}|user{n}", generator.shape.user_pk1(n))?;
    }
    zip.start_file("activity.txt", options).map_err(to_io)?;
    writeln!(zip, "user_key|content_key|forum_key|timestamp")?;
    let mut n = 0;
    while let Some(day) = generator.next_day() {
        for e in day.iter().filter(|e| e.kind == ActivityKind::View) {
            let (content, forum) = match e.group {
                ItemGroup::Communication => (String::new(), e.item.unwrap_or(0).to_string()),
                _ => (e.item.unwrap_or(0).to_string(), String::new()),
            };
            writeln!(
                zip,
                "{}|{content}|{forum}|{}",
                e.user_pk1,
                local_text(e.local_ms)
            )?;
            n += 1;
        }
    }
    zip.finish().map_err(to_io)?;
    Ok(n)
}

/// Writes the output as Caliper events, one per line, as Learn would send them.
pub fn write_caliper_jsonl(generator: &mut Generator, out: &mut impl Write) -> io::Result<u64> {
    let course = generator.shape.course_pk1;
    let mut n = 0;
    while let Some(day) = generator.next_day() {
        for e in day {
            serde_json::to_writer(&mut *out, &caliper_event(course, &e))?;
            out.write_all(b"\n")?;
            n += 1;
        }
    }
    Ok(n)
}

/// One synthetic event as a Blackboard-shaped Caliper 1.1 event.
pub fn caliper_event(course_pk1: u64, e: &SynthEvent) -> serde_json::Value {
    let site = "https://caliper-mapping.cloudbb.blackboard.com/v1/sites/synthetic";
    let (kind, action) = match e.kind {
        ActivityKind::Attempt => ("AssessmentEvent", "Started"),
        ActivityKind::Submission => ("AssessmentEvent", "Submitted"),
        ActivityKind::Post => ("MessageEvent", "Posted"),
        _ => ("ViewEvent", "Viewed"),
    };
    let object = match e.item {
        Some(item) => format!("{site}/content/_{item}_1"),
        None => format!("{site}/unknown/unknown"),
    };
    let time = jiff::Timestamp::from_millisecond(e.at.0)
        .map(|t| t.to_string())
        .unwrap_or_default();
    serde_json::json!({
        "@context": "http://purl.imsglobal.org/ctx/caliper/v1p1",
        "id": format!("urn:uuid:00000000-0000-4000-8000-{:012x}", e.pk1),
        "type": kind,
        "action": action,
        "actor": {
            "id": format!("{site}/users/{}", e.user_pk1),
            "type": "Person",
            "extensions": { "bb:user.id": format!("_{}_1", e.user_pk1) }
        },
        "object": { "id": object, "type": "DigitalResource" },
        "eventTime": time,
        "group": {
            "id": format!("{site}/courses/{course_pk1}"),
            "type": "CourseOffering",
            "extensions": { "bb:course.id": format!("_{course_pk1}_1") },
            "courseNumber": format!("SYN{course_pk1}")
        },
        "federatedSession": { "id": format!("{site}/sessions/{}", e.session), "type": "LtiSession", "name": e.session.to_string() }
    })
}

/// Writes the output as Moodle-style xAPI statements, one per line.
pub fn write_xapi_jsonl(generator: &mut Generator, out: &mut impl Write) -> io::Result<u64> {
    let course = generator.shape.course_pk1;
    let mut n = 0;
    while let Some(day) = generator.next_day() {
        for e in day {
            let verb = match e.kind {
                ActivityKind::Attempt => "http://adlnet.gov/expapi/verbs/attempted",
                ActivityKind::Submission => "http://adlnet.gov/expapi/verbs/completed",
                ActivityKind::Post => "http://adlnet.gov/expapi/verbs/commented",
                _ => "http://id.tincanapi.com/verb/viewed",
            };
            let module = match e.group {
                ItemGroup::Communication => "forum",
                ItemGroup::Assessment => "quiz",
                ItemGroup::Content => "page",
            };
            let statement = serde_json::json!({
                "id": format!("00000000-0000-4000-9000-{:012x}", e.pk1),
                "actor": { "name": format!("user{}", e.user_pk1), "account": { "homePage": "https://moodle.example.edu", "name": e.user_pk1.to_string() } },
                "verb": { "id": verb },
                "object": { "id": format!("https://moodle.example.edu/mod/{module}/view.php?id={}", e.item.unwrap_or(0)), "objectType": "Activity" },
                "timestamp": jiff::Timestamp::from_millisecond(e.at.0).map(|t| t.to_string()).unwrap_or_default(),
                "context": { "platform": "Moodle", "contextActivities": { "grouping": [
                    { "id": "https://moodle.example.edu" },
                    { "id": format!("https://moodle.example.edu/course/view.php?id={course}") }
                ] } }
            });
            serde_json::to_writer(&mut *out, &statement)?;
            out.write_all(b"\n")?;
            n += 1;
        }
    }
    Ok(n)
}

/// Writes the output as Moodle's standard log CSV.
pub fn write_moodle_log(generator: &mut Generator, out: &mut impl Write) -> io::Result<u64> {
    let mut csv = csv::Writer::from_writer(out);
    csv.write_record([
        "Time",
        "User full name",
        "Affected user",
        "Event context",
        "Component",
        "Event name",
        "Description",
        "Origin",
        "IP address",
    ])?;
    let mut n = 0;
    while let Some(day) = generator.next_day() {
        for e in day {
            let item = e.item.unwrap_or(0);
            let (component, name, description) = match (e.kind, e.group) {
                (ActivityKind::Post, _) => (
                    "Forum",
                    "Post created",
                    format!(
                        "The user with id '{}' has created the post with id '{}' in the discussion with id '1' in the forum with course module id '{item}'.",
                        e.user_pk1, e.pk1
                    ),
                ),
                (ActivityKind::Attempt, _) => (
                    "Quiz",
                    "Quiz attempt started",
                    format!(
                        "The user with id '{}' has started the attempt with id '{}' for the quiz with course module id '{item}'.",
                        e.user_pk1, e.pk1
                    ),
                ),
                (ActivityKind::Submission, _) => (
                    "Quiz",
                    "Quiz attempt submitted",
                    format!(
                        "The user with id '{}' has submitted the attempt with id '{}' for the quiz with course module id '{item}'.",
                        e.user_pk1, e.pk1
                    ),
                ),
                (_, group) => (
                    match group {
                        ItemGroup::Communication => "Forum",
                        ItemGroup::Assessment => "Quiz",
                        ItemGroup::Content => "Page",
                    },
                    "Course module viewed",
                    format!(
                        "The user with id '{}' viewed the course module with id '{item}' for the 'page' activity.",
                        e.user_pk1
                    ),
                ),
            };
            let text = local_text(e.local_ms);
            // Moodle's en_AU format: d/m/y, H:M (minutes only).
            let time = format!(
                "{}/{}/{}, {}",
                &text[8..10],
                &text[5..7],
                &text[2..4],
                &text[11..16]
            );
            csv.write_record([
                time.as_str(),
                &format!("user{}", e.user_pk1),
                "-",
                "Course: Synthetic",
                component,
                name,
                &description,
                "web",
                "10.0.0.1",
            ])?;
            n += 1;
        }
    }
    csv.flush()?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_events() {
        let mut a = Generator::new(CourseShape::semester(20), 7, 5_000);
        let mut b = Generator::new(CourseShape::semester(20), 7, 5_000);
        let (mut all_a, mut all_b) = (Vec::new(), Vec::new());
        while let Some(day) = a.next_day() {
            all_a.extend(day);
        }
        while let Some(day) = b.next_day() {
            all_b.extend(day);
        }
        assert_eq!(all_a, all_b);
        let n = all_a.len() as f64;
        assert!(
            (4_000.0..6_000.0).contains(&n),
            "about 5,000 events, got {n}"
        );
    }

    #[test]
    fn the_break_is_quiet_and_lecture_days_are_busy() {
        let mut g = Generator::new(CourseShape::semester(60), 1, 40_000);
        let mut per_week = vec![0usize; 13];
        let mut per_weekday = [0usize; 7];
        let mut day = 0;
        while let Some(events) = g.next_day() {
            per_week[day / 7] += events.len();
            per_weekday[day % 7] += events.len();
            day += 1;
        }
        assert!(per_week[6] * 2 < per_week[5], "{per_week:?}");
        assert!(per_weekday[2] > per_weekday[5], "{per_weekday:?}");
    }

    #[test]
    fn local_text_formats_wall_clock_times() {
        assert_eq!(local_text(1_709_595_000_000), "2024-03-04 23:30:00");
    }
}
