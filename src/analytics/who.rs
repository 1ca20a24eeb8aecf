//! Who a student is on a table row: the name, marked "(left)" once their enrolment ended,
//! and a second identifier that tells namesakes apart.

use super::dashboard::display_name;
use super::table::Cell;
use crate::store::UserId;
use crate::store::reports::Person;

/// The header of the identifier column that follows a student's name.
pub const IDENTIFIER: &str = "Identifier";

/// The first identifier the LMS sent: user name, else external (student) id, else email,
/// else the LTI sub, which every user has.
pub fn identifier<'a>(
    username: Option<&'a str>,
    external_id: Option<&'a str>,
    email: Option<&'a str>,
    lms_sub: &'a str,
) -> &'a str {
    [username, external_id, email]
        .into_iter()
        .flatten()
        .find(|v| !v.trim().is_empty())
        .unwrap_or(lms_sub)
}

/// The name a row shows, with "(left)" for a student who is no longer enrolled.
pub fn shown_name(name: &str, id: UserId, active: bool) -> String {
    let name = display_name(name, id);
    if active {
        name
    } else {
        format!("{name} (left)")
    }
}

/// The name cell and the identifier cell of a person's row.
pub fn person_cells(p: &Person) -> [Cell; 2] {
    [
        Cell::Student(p.user_id, shown_name(&p.name, p.user_id, p.active)),
        Cell::Text(person_identifier(p).into()),
    ]
}

/// A person's identifier, as [`identifier`] picks it.
pub fn person_identifier(p: &Person) -> &str {
    identifier(
        p.username.as_deref(),
        p.external_id.as_deref(),
        p.email.as_deref(),
        &p.lms_sub,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifier_falls_back_from_user_name_to_sub() {
        assert_eq!(identifier(Some("ann"), Some("s1"), None, "sub"), "ann");
        assert_eq!(identifier(Some(" "), Some("s1"), None, "sub"), "s1");
        assert_eq!(identifier(None, None, Some("a@x"), "sub"), "a@x");
        assert_eq!(identifier(None, Some(""), None, "sub"), "sub");
    }

    #[test]
    fn a_leaver_is_marked_left() {
        assert_eq!(shown_name("Ann", UserId(1), false), "Ann (left)");
        assert_eq!(shown_name("", UserId(7), true), "User #7");
    }
}
