//! Readers for id_token claims that accept every shape the LTI specs allow (and the shapes
//! platforms actually send), so a legal but unusual claim never fails a launch. Text loses
//! any NUL, which PostgreSQL cannot store (a NUL in a user's LMS name must not lock them out).

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::store::text::without_nul;

/// A string, or a number written as one; any other value (null, object…) is absent.
pub fn text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => Some(without_nul(s)),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    })
}

/// An array of strings, one string, or null/absent (empty); items that are not strings are
/// left out.
pub fn strings<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => vec![without_nul(s)],
        Value::Array(items) => items
            .into_iter()
            .filter_map(|v| match v {
                Value::String(s) => Some(without_nul(s)),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    })
}

/// NumericDate (RFC 7519): seconds since the epoch, integer or not (the fraction is dropped).
pub fn seconds<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    optional_seconds(d)?
        .ok_or_else(|| serde::de::Error::custom("a NumericDate (seconds since 1970) is required"))
}

/// An optional NumericDate; any value that is not a number is absent.
pub fn optional_seconds<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.is_finite()).map(|f| f as i64)),
        _ => None,
    })
}

/// A claim object read when it has the expected shape, and treated as absent otherwise.
pub fn object<'de, D: Deserializer<'de>, T: DeserializeOwned>(d: D) -> Result<Option<T>, D::Error> {
    Ok(T::deserialize(Value::deserialize(d)?).ok())
}

/// Any JSON value but null.
pub fn any<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Ok(Some(Value::deserialize(d)?).filter(|v| !v.is_null()))
}
