//! The Loop zip import through the admin upload, against a zip bomb:
//!
//! - A Loop export whose `activity.txt` expands far past its compressed size (16 MiB of
//!   one repeated row in a few KB) → 422 "refused as a zip bomb", nothing imported, and
//!   neither the upload nor the extracted copy is left in the temporary folder.
//! - A genuine Loop export of the same course → imported.
//!
//! (The extraction cap itself, counted on the bytes copied rather than the zip's headers,
//! is tested in `ingest::loop_export` with a small cap and with lying headers.)

use std::io::Write;

use cloop::ingest::synthetic::{self, CourseShape, Generator};

use crate::helpers::{TestApp, count_activity};
use crate::ingest_support::{course, platform};
use crate::sync_admin::admin_cookie;
use crate::{app_on, on_both_backends};

const BOUNDARY: &str = "cloop-test-boundary";

/// Posts `zip` as a Loop export of `course` through `/admin/import`, with the form's CSRF
/// token when it has one.
async fn upload(app: &TestApp, course: cloop::store::CourseId, zip: &[u8]) -> reqwest::Response {
    let cookie = admin_cookie(app).await;
    let form = app
        .client
        .get(app.url("/admin/import"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    let page = form.text().await.unwrap();
    let csrf = page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next());
    let mut body = Vec::new();
    let mut field = |name: &str, value: &str| {
        write!(
            body,
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        )
        .unwrap();
    };
    if let Some(csrf) = csrf {
        field("csrf", csrf);
    }
    field("course", &course.to_string());
    field("format", "loop");
    write!(
        body,
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"loop.zip\"\r\nContent-Type: application/zip\r\n\r\n"
    )
    .unwrap();
    body.extend_from_slice(zip);
    write!(body, "\r\n--{BOUNDARY}--\r\n").unwrap();
    app.client
        .post(app.url("/admin/import"))
        .header("cookie", &cookie)
        .header("origin", app.url(""))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(body)
        .send()
        .await
        .unwrap()
}

fn bomb() -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    let mut zip = zip::ZipWriter::new(&mut out);
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    zip.start_file("activity.txt", options).unwrap();
    let row = b"_101_1|_202_1||2024-03-04 10:11:12\n";
    for _ in 0..(16 << 20) / row.len() {
        zip.write_all(row).unwrap();
    }
    zip.finish().unwrap();
    out.into_inner()
}

/// Files in the temporary folder now.
fn temp_files() -> std::collections::BTreeSet<std::path::PathBuf> {
    std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .collect()
}

on_both_backends! {
    async fn a_zip_bomb_upload_is_refused_and_leaves_nothing_behind(backend: Backend) {
        let app = app_on!(backend);
        let platform = platform(&app.store).await;
        let course = course(&app.store, platform.id, 4242, "Australia/Melbourne").await;
        let bomb = bomb();
        assert!(bomb.len() < 1 << 20, "the bomb is small: {} bytes", bomb.len());

        let before = temp_files();
        let response = upload(&app, course, &bomb).await;
        let status = response.status();
        let body = response.text().await.unwrap();
        assert_eq!(status, 422, "{body}");
        assert!(body.contains("expands past") && body.contains("refused as a zip bomb"), "{body}");
        assert_eq!(count_activity(&app.store).await, 0);
        // Files other tests made meanwhile may come and go; none of this upload's stays.
        let left: Vec<_> = temp_files()
            .difference(&before)
            .filter(|p| std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.len() >= bomb.len() as u64))
            .cloned()
            .collect();
        assert!(left.is_empty(), "left behind: {left:?}");

        let mut export = std::io::Cursor::new(Vec::new());
        let mut shape = CourseShape::semester(12);
        shape.course_pk1 = 4242;
        let written = synthetic::write_loop_zip(&mut Generator::new(shape, 3, 500), &mut export).unwrap();
        let response = upload(&app, course, export.get_ref()).await;
        assert_eq!(response.status(), 200);
        let body = response.text().await.unwrap();
        assert!(body.contains(&format!("<td>{written}</td>")), "all {written} rows imported: {body}");
    }
}
