//! Text from the LMS that the databases must hold: PostgreSQL cannot store NUL in text, so
//! records the LMS sends (REST, roster, gradebook, launch claims) lose their NULs on arrival.

use serde_json::Value;

/// Removes every NUL from the strings and keys of a JSON document.
pub fn strip_nul(value: &mut Value) {
    match value {
        Value::String(s) if s.contains('\0') => *s = s.replace('\0', ""),
        Value::Array(items) => items.iter_mut().for_each(strip_nul),
        Value::Object(map) => {
            if map.keys().any(|k| k.contains('\0')) {
                *map = std::mem::take(map)
                    .into_iter()
                    .map(|(k, v)| (k.replace('\0', ""), v))
                    .collect();
            }
            map.values_mut().for_each(strip_nul);
        }
        _ => {}
    }
}

/// The text without NUL characters.
pub fn without_nul(text: String) -> String {
    if text.contains('\0') {
        text.replace('\0', "")
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nul_is_removed_everywhere_and_other_text_kept() {
        let mut doc = json!({"na\u{0}me": "Ada\u{0} L.", "list": ["a\u{0}", 1, {"t": "\tok\n"}]});
        strip_nul(&mut doc);
        assert_eq!(
            doc,
            json!({"name": "Ada L.", "list": ["a", 1, {"t": "\tok\n"}]})
        );
        assert_eq!(without_nul("x\u{0}y".into()), "xy");
    }
}
