//! LTI roles: full URIs, simple names and old URNs normalised to one vocabulary, and the
//! one decision that matters here: does the launch make the user course staff?

use std::fmt;

/// A context (course) role, or an institution/system role that grants no course rights.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// A context role such as `Instructor`, or a sub-role such as `Instructor#TeachingAssistant`.
    Context {
        role: String,
        sub_role: Option<String>,
    },
    /// An institution or system role (`institution:Administrator`): never course rights.
    Institution(String),
    /// The platform's student-preview user.
    TestUser,
}

const MEMBERSHIP: &str = "http://purl.imsglobal.org/vocab/lis/v2/membership";
const INSTITUTION: &str = "http://purl.imsglobal.org/vocab/lis/v2/institution/person#";
const SYSTEM: &str = "http://purl.imsglobal.org/vocab/lis/v2/system/person#";
const TEST_USER: &str = "http://purl.imsglobal.org/vocab/lti/system/person#TestUser";

/// The context roles that may see course data.
const STAFF_ROLES: [&str; 4] = [
    "Instructor",
    "TeachingAssistant",
    "ContentDeveloper",
    "Administrator",
];

impl Role {
    /// Reads one role as platforms send it; `None` for text that names no role.
    pub fn parse(raw: &str) -> Option<Self> {
        let raw = raw.trim();
        if raw.is_empty() {
            return None;
        }
        if raw == TEST_USER {
            return Some(Self::TestUser);
        }
        if let Some(rest) = raw.strip_prefix(MEMBERSHIP) {
            // `…/membership#Instructor` or `…/membership/Instructor#TeachingAssistant`
            if let Some(role) = rest.strip_prefix('#') {
                return Some(Self::context(role, None));
            }
            if let Some(rest) = rest.strip_prefix('/') {
                let (role, sub) = rest.split_once('#').unwrap_or((rest, ""));
                return Some(Self::context(role, Some(sub).filter(|s| !s.is_empty())));
            }
            return None;
        }
        for prefix in [INSTITUTION, SYSTEM] {
            if let Some(role) = raw.strip_prefix(prefix) {
                return Some(Self::Institution(role.to_string()));
            }
        }
        // LTI 1.1 URNs: urn:lti:role:ims/lis/Instructor, urn:lti:role:ims/lis/Instructor/TeachingAssistant,
        // urn:lti:instrole:ims/lis/Administrator, urn:lti:sysrole:ims/lis/Administrator.
        if let Some(rest) = raw.strip_prefix("urn:lti:role:ims/lis/") {
            let (role, sub) = rest.split_once('/').unwrap_or((rest, ""));
            return Some(Self::context(role, Some(sub).filter(|s| !s.is_empty())));
        }
        for prefix in ["urn:lti:instrole:ims/lis/", "urn:lti:sysrole:ims/lis/"] {
            if let Some(role) = raw.strip_prefix(prefix) {
                return Some(Self::Institution(role.to_string()));
            }
        }
        if raw.contains(':') || raw.contains('/') {
            return None;
        }
        // A simple name ("Instructor", "Learner") is a context role.
        let (role, sub) = raw.split_once('#').unwrap_or((raw, ""));
        Some(Self::context(role, Some(sub).filter(|s| !s.is_empty())))
    }

    fn context(role: &str, sub_role: Option<&str>) -> Self {
        Self::Context {
            role: role.to_string(),
            sub_role: sub_role.map(str::to_string),
        }
    }

    /// Course staff: Instructor (and any Instructor sub-role), TeachingAssistant,
    /// ContentDeveloper or Administrator of the context.
    pub fn is_course_staff(&self) -> bool {
        match self {
            Self::Context { role, sub_role } => {
                STAFF_ROLES.contains(&role.as_str())
                    || (role == "Instructor" && sub_role.is_some())
                    || sub_role.as_deref() == Some("TeachingAssistant")
            }
            Self::Institution(_) | Self::TestUser => false,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Context {
                role,
                sub_role: None,
            } => f.write_str(role),
            Self::Context {
                role,
                sub_role: Some(sub),
            } => write!(f, "{role}#{sub}"),
            Self::Institution(role) => write!(f, "institution:{role}"),
            Self::TestUser => f.write_str("TestUser"),
        }
    }
}

/// Normalises a launch's roles, dropping text that names no role.
pub fn parse_roles<S: AsRef<str>>(raw: &[S]) -> Vec<Role> {
    let mut roles: Vec<Role> = raw.iter().filter_map(|r| Role::parse(r.as_ref())).collect();
    roles.sort();
    roles.dedup();
    roles
}

/// True when any role makes the user course staff. Empty or unknown roles: least privilege.
pub fn is_course_staff(roles: &[Role]) -> bool {
    roles.iter().any(Role::is_course_staff)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn staff(raw: &str) -> bool {
        is_course_staff(&parse_roles(&[raw]))
    }

    #[test]
    fn full_uris_simple_names_and_urns_normalise_alike() {
        for raw in [
            "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor",
            "Instructor",
            "urn:lti:role:ims/lis/Instructor",
        ] {
            assert_eq!(Role::parse(raw).unwrap().to_string(), "Instructor", "{raw}");
            assert!(staff(raw), "{raw}");
        }
    }

    #[test]
    fn teaching_assistants_and_instructor_sub_roles_are_staff() {
        assert!(staff(
            "http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistant"
        ));
        assert!(staff(
            "http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#Grader"
        ));
        assert!(staff("urn:lti:role:ims/lis/TeachingAssistant"));
        assert!(staff(
            "http://purl.imsglobal.org/vocab/lis/v2/membership#ContentDeveloper"
        ));
        assert!(staff(
            "http://purl.imsglobal.org/vocab/lis/v2/membership#Administrator"
        ));
        assert!(staff(
            "http://purl.imsglobal.org/vocab/lis/v2/membership/Learner#TeachingAssistant"
        ));
    }

    #[test]
    fn learners_mentors_and_institution_admins_are_not_staff() {
        assert!(!staff(
            "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
        ));
        assert!(!staff(
            "http://purl.imsglobal.org/vocab/lis/v2/membership#Mentor"
        ));
        assert!(!staff(
            "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Administrator"
        ));
        assert!(!staff(
            "http://purl.imsglobal.org/vocab/lis/v2/system/person#Administrator"
        ));
        assert!(!staff("urn:lti:instrole:ims/lis/Administrator"));
        assert!(!staff(TEST_USER));
        assert!(!staff("https://example.com/custom#Boss"));
        assert!(!is_course_staff(&parse_roles::<&str>(&[])));
    }
}
