//! `cloop demo` in headless Chromium, as a newcomer uses it: open the simulator's page,
//! click "Open as instructor", see the dashboard with charts and events in the frame; the
//! student button shows the staff-only page. Saves its screenshots under target/artifacts/,
//! or over the README's under docs/ when `CLOOP_UPDATE_SCREENSHOTS=1`.

use std::path::Path;

use cloop::demo;
use serde_json::json;

use crate::browser::Browser;

#[tokio::test]
async fn demo_simulator_opens_the_dashboard_in_chromium() {
    let Some(running) = crate::browser_demo::running_demo("demo browser test").await else {
        return;
    };
    let url = running.url.clone();
    // Test runs leave the checkout as it was; the README's pictures change only when asked.
    let docs = if std::env::var_os("CLOOP_UPDATE_SCREENSHOTS").is_some_and(|v| v == "1") {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("docs")
    } else {
        crate::browser::artifacts()
    };
    std::fs::create_dir_all(&docs).unwrap();

    let browser = Browser::start().await;
    browser.post("/url", json!({ "url": url })).await;
    browser
        .wait_for("return document.body.textContent.includes('LMS simulator')")
        .await;

    browser.click("a[data-persona='instructor']").await;
    browser.enter_frame().await;
    browser
        .wait_for(
            "return location.pathname.startsWith('/courses/') && document.readyState === 'complete' \
             && document.querySelectorAll('svg[role=img]').length >= 3",
        )
        .await;
    let title = browser.js("return document.body.textContent").await;
    assert!(
        title.as_str().unwrap().contains(demo::CURRENT.title),
        "the dashboard of the seeded course"
    );
    let lectures = browser
        .js("return document.querySelectorAll('svg.time-chart .ev-repeating line').length")
        .await;
    assert!(
        lectures.as_u64().unwrap() >= 10,
        "weekly lectures drawn over the time charts: {lectures}"
    );
    browser.post("/frame/parent", json!({})).await;
    browser.screenshot(&docs, "dashboard.png").await;

    browser.enter_frame().await;
    browser.click("header nav a[href*='/content']").await;
    browser
        .wait_for("return location.pathname.endsWith('/content') && !!document.querySelector('#table-access')")
        .await;
    browser.post("/frame/parent", json!({})).await;
    browser.screenshot(&docs, "content.png").await;

    let errors = browser.console_errors().await;
    assert!(errors.is_empty(), "console errors: {errors:?}");

    browser.click("a[data-persona='student']").await;
    browser.enter_frame().await;
    browser
        .wait_for("return document.body.textContent.includes('cloop is for course staff')")
        .await;
    let charts = browser
        .js("return document.querySelectorAll('svg[role=img]').length")
        .await;
    assert_eq!(charts, json!(0), "a student sees no course data");
    browser.quit().await;
    drop(running);
}
