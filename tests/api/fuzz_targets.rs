//! The parsers that read what strangers send, each a function of arbitrary bytes that must
//! give events or a clear error and never panic; with valid inputs to mutate and the
//! mutations. Shared by the property tests (`fuzz`) and the million-case run
//! (`cargo bench --bench fuzz_parsers`).

use std::io::{Cursor, Write};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cloop::ingest::accumulator::AccumulatorRows;
use cloop::ingest::clock::TimestampReader;
use cloop::ingest::import::RowSource;
use cloop::ingest::loop_export::{LoopRows, extract_activity};
use cloop::ingest::moodle_log::{MoodleContext, MoodleLogRows};
use cloop::ingest::{CourseClock, Mapped, caliper, xapi};
use cloop::lti::claims::IdTokenClaims;
use rand::Rng;

/// A parser under test: its name, valid inputs to mutate, and the parser itself, which
/// returns how many events it read or the first error it gave.
pub struct Target {
    pub name: &'static str,
    pub seeds: Vec<Vec<u8>>,
    pub parse: fn(&[u8]) -> Result<usize, String>,
}

pub fn targets() -> Vec<Target> {
    let fixture = |path: &str| {
        std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures")
                .join(path),
        )
        .expect("fixture")
    };
    vec![
        Target {
            name: "id_token claims",
            seeds: vec![id_token_seed()],
            parse: id_token,
        },
        Target {
            name: "Caliper envelope",
            seeds: vec![
                fixture("caliper/learn-batch.json"),
                fixture("caliper/mixed-batch.json"),
            ],
            parse: caliper_envelope,
        },
        Target {
            name: "xAPI statements",
            seeds: vec![fixture("xapi/moodle-statements.json")],
            parse: xapi_statements,
        },
        Target {
            name: "accumulator CSV",
            seeds: vec![fixture("imports/accumulator.txt")],
            parse: accumulator,
        },
        Target {
            name: "Moodle log",
            seeds: vec![fixture("imports/moodle-log.csv")],
            parse: moodle_log,
        },
        Target {
            name: "Loop zip",
            seeds: vec![loop_zip_seed()],
            parse: loop_zip,
        },
    ]
}

/// A clear error: one that says something.
fn refused<T>(reason: String) -> Result<T, String> {
    assert!(!reason.trim().is_empty(), "an error with no words");
    Err(reason)
}

/// Reads every row of a file reader; rejected rows must say why.
fn drain(mut rows: impl RowSource) -> Result<usize, String> {
    let mut read = 0;
    while let Some((_, row)) = rows.next_row() {
        match row {
            Ok(_) => read += 1,
            Err(reason) => assert!(!reason.trim().is_empty(), "a row rejected with no words"),
        }
    }
    Ok(read)
}

fn mapped(events: Vec<(Option<String>, Mapped)>) -> usize {
    events
        .into_iter()
        .filter(|(_, m)| match m {
            Ok(_) => true,
            Err(reason) => {
                assert!(!reason.trim().is_empty(), "an event rejected with no words");
                false
            }
        })
        .count()
}

fn times() -> TimestampReader {
    TimestampReader::new(CourseClock::or_utc("Australia/Melbourne"))
}

/// The bytes as the id_token a launch posts (`header.payload.signature`), and as the JSON
/// payload alone, read as the launch reads them before the signature is checked.
fn id_token(bytes: &[u8]) -> Result<usize, String> {
    if let Ok(claims) = serde_json::from_slice::<IdTokenClaims>(bytes) {
        let _ = claims.is_blackboard();
        let _ = cloop::lti::record::framing_origins(&claims);
        let _ = cloop::lti::roles::parse_roles(&claims.roles);
    }
    let text = String::from_utf8_lossy(bytes);
    let text: &str = &text;
    jsonwebtoken::decode_header(text)
        .map_err(|e| e.to_string())
        .or_else(refused)?;
    match jsonwebtoken::dangerous::insecure_decode::<IdTokenClaims>(text) {
        Ok(_) => Ok(1),
        Err(e) => refused(e.to_string()),
    }
}

fn caliper_envelope(bytes: &[u8]) -> Result<usize, String> {
    let envelope = caliper::parse_envelope(bytes).or_else(refused)?;
    Ok(mapped(caliper::map_envelope(envelope)))
}

fn xapi_statements(bytes: &[u8]) -> Result<usize, String> {
    let statements = xapi::parse_statements(bytes).or_else(refused)?;
    Ok(mapped(xapi::map_statements(statements)))
}

fn accumulator(bytes: &[u8]) -> Result<usize, String> {
    drain(AccumulatorRows::new(Cursor::new(bytes), times(), Some("_1358_1")).or_else(refused)?)
}

fn moodle_log(bytes: &[u8]) -> Result<usize, String> {
    drain(
        MoodleLogRows::new(Cursor::new(bytes), times(), MoodleContext::default())
            .or_else(refused)?,
    )
}

fn loop_zip(bytes: &[u8]) -> Result<usize, String> {
    let mut zip = tempfile::NamedTempFile::new().expect("temp file");
    zip.write_all(bytes).expect("write");
    let activity = extract_activity(zip.path())
        .map_err(|e| e.to_string())
        .or_else(refused)?;
    let file = std::io::BufReader::new(std::fs::File::open(activity.path()).expect("extracted"));
    drain(LoopRows::new(file, times()).or_else(refused)?)
}

fn id_token_seed() -> Vec<u8> {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","typ":"JWT","kid":"k1"}"#);
    let payload = URL_SAFE_NO_PAD.encode(
        serde_json::json!({
            "iss": "https://blackboard.com", "aud": ["client-1"], "azp": "client-1",
            "exp": 4_102_444_800_i64, "iat": 1_700_000_000, "nonce": "n-1", "sub": "user-1",
            "name": "Ann Lee",
            "https://purl.imsglobal.org/spec/lti/claim/message_type": "LtiResourceLinkRequest",
            "https://purl.imsglobal.org/spec/lti/claim/version": "1.3.0",
            "https://purl.imsglobal.org/spec/lti/claim/deployment_id": "d-1",
            "https://purl.imsglobal.org/spec/lti/claim/roles": ["http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"],
            "https://purl.imsglobal.org/spec/lti/claim/context": {"id": "ctx-1", "title": "Biology"},
            "https://purl.imsglobal.org/spec/lti/claim/resource_link": {"id": "rl-1"},
        })
        .to_string(),
    );
    format!("{header}.{payload}.c2lnbmF0dXJl").into_bytes()
}

fn loop_zip_seed() -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    zip.start_file("activity.txt", zip::write::SimpleFileOptions::default())
        .unwrap();
    zip.write_all(
        b"11|c5|f0|2024-03-04 10:00:00\n12|c6|f0|2024-03-04 10:05:00\n13||f2|2024-03-05 09:00:00\n",
    )
    .unwrap();
    zip.finish().unwrap().into_inner()
}

/// `seed` with a few random edits: bytes flipped, inserted, deleted, a run repeated or the
/// end cut, as a fuzzer mutates.
pub fn mutate(seed: &[u8], rng: &mut impl Rng) -> Vec<u8> {
    let mut bytes = seed.to_vec();
    for _ in 0..rng.random_range(1..=8) {
        let at = rng.random_range(0..=bytes.len());
        match rng.random_range(0..6) {
            0 if at < bytes.len() => bytes[at] ^= 1 << rng.random_range(0..8),
            1 => bytes.insert(at, rng.random()),
            2 if at < bytes.len() => {
                let end = (at + rng.random_range(1..64)).min(bytes.len());
                bytes.drain(at..end);
            }
            3 => bytes.truncate(at),
            4 if at < bytes.len() => {
                let end = (at + rng.random_range(1..32)).min(bytes.len());
                let run = bytes[at..end].to_vec();
                bytes.splice(at..at, run);
            }
            _ => {
                const SPECIAL: [&[u8]; 9] = [
                    b"\"",
                    b",",
                    b"|",
                    b"\n",
                    b"{",
                    b"}",
                    b"\\u0000",
                    b"\xff\xfe",
                    b"99999999999999999999",
                ];
                let special = SPECIAL[rng.random_range(0..SPECIAL.len())];
                bytes.splice(at..at, special.iter().copied());
            }
        }
    }
    bytes
}
