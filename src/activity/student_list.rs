//! The stored form of a list of students (`rollup_content_day.students`): runs of sorted
//! ids, each appended to the stored text as it is, about a byte a student.
//!
//! A run is its first id, then each next id less the one before, each number as base-32
//! digits, most significant first: `P`..`o` for a digit with more to come, `0`..`O` for
//! the last; a comma ends the run. Every character is printable ASCII, so both engines
//! keep the list as text and append with `||`. A course's students have ids close
//! together, so most gaps take one character, where decimal ids took five to eight.

/// The first character of a number's last digit, and of its other digits.
const LAST: u8 = b'0';
const MORE: u8 = b'P';
const RUN_END: u8 = b',';

/// `students` (sorted here) as one run, to append to a stored list; none, as nothing.
pub fn student_list_text(students: &mut [i64]) -> String {
    if students.is_empty() {
        return String::new();
    }
    students.sort_unstable();
    let mut text = Vec::with_capacity(students.len() + 4);
    let mut previous = 0;
    for &student in students.iter() {
        push_number(&mut text, student.abs_diff(previous));
        previous = student;
    }
    text.push(RUN_END);
    String::from_utf8(text).expect("the digits are ASCII")
}

/// `n` as base-32 digits, most significant first.
fn push_number(text: &mut Vec<u8>, n: u64) {
    let digits = (64 - n.leading_zeros()).div_ceil(5).max(1);
    for at in (1..digits).rev() {
        text.push(MORE + ((n >> (5 * at)) & 31) as u8);
    }
    text.push(LAST + (n & 31) as u8);
}

/// The students of a stored list, in stored order. Only cloop writes the lists; a
/// character outside the form ends the run it is in.
pub fn listed_students(text: &str) -> impl Iterator<Item = i64> + '_ {
    let mut bytes = text.as_bytes().iter();
    let (mut previous, mut number): (i64, i64) = (0, 0);
    std::iter::from_fn(move || {
        for &b in bytes.by_ref() {
            match b {
                MORE..=b'o' => number = (number << 5) | i64::from(b - MORE),
                LAST..=b'O' => {
                    previous = previous.wrapping_add((number << 5) | i64::from(b - LAST));
                    number = 0;
                    return Some(previous);
                }
                _ => (previous, number) = (0, 0),
            }
        }
        None
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_are_appended_to_as_they_are_and_read_back() {
        let stored = student_list_text(&mut [1018, 3, 1020, 40_000_000_000]);
        let appended = stored + &student_list_text(&mut [7]) + &student_list_text(&mut []);
        assert_eq!(
            listed_students(&appended).collect::<Vec<_>>(),
            [3, 1018, 1020, 40_000_000_000, 7]
        );
        assert_eq!(listed_students("").count(), 0);
        assert_eq!(student_list_text(&mut []), "", "no students, no run");
    }

    #[test]
    fn close_ids_take_a_character_each() {
        let mut students: Vec<i64> = (0..500).map(|n| 1_000_000 + 3 * n).collect();
        let text = student_list_text(&mut students);
        assert!(text.len() < 510, "{} characters", text.len());
        assert!(text.bytes().all(|b| b.is_ascii_graphic()));
        assert_eq!(listed_students(&text).collect::<Vec<_>>(), students);
    }

    #[test]
    fn every_number_round_trips() {
        for n in [0, 1, 31, 32, 1023, 1024, i64::from(u32::MAX), i64::MAX] {
            let text = student_list_text(&mut [n]);
            assert_eq!(listed_students(&text).collect::<Vec<_>>(), [n], "{text}");
        }
    }

    #[test]
    fn a_damaged_run_is_dropped_from_where_it_breaks() {
        let good = student_list_text(&mut [5, 9]);
        let text = format!("{good}P~{good}");
        assert_eq!(listed_students(&text).collect::<Vec<_>>(), [5, 9, 5, 9]);
    }
}
