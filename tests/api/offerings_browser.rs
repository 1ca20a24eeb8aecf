//! `cloop demo` in headless Chromium, for the pages instructors act on: the outreach lists
//! and the comparison with the previous offering, each opened in the simulator's LMS frame,
//! checked rendered, and saved as screenshots under target/artifacts/.

use cloop::demo;
use serde_json::json;

use crate::browser::Browser;

#[tokio::test]
async fn outreach_and_the_offering_comparison_render_in_the_lms_frame_in_chromium() {
    let Some(running) = crate::browser_demo::running_demo("offering browser test").await else {
        return;
    };
    let url = running.url.clone();
    let shots = crate::browser::artifacts();

    let browser = Browser::start().await;
    browser.post("/url", json!({ "url": url })).await;
    browser
        .wait_for("return document.body.textContent.includes('LMS simulator')")
        .await;
    browser.click("a[data-persona='instructor']").await;
    browser.enter_frame().await;
    browser
        .wait_for("return location.pathname.startsWith('/courses/') && document.readyState === 'complete'")
        .await;

    browser.click("header nav a[href*='/outreach']").await;
    browser
        .wait_for(
            "return location.pathname.endsWith('/outreach') && document.readyState === 'complete' \
             && !!document.querySelector('#table-inactive')",
        )
        .await;
    let lists = browser
        .js("return document.querySelectorAll('table[id^=table-]').length")
        .await;
    assert!(
        lists.as_u64().unwrap() >= 3,
        "the outreach lists are drawn: {lists}"
    );
    browser.post("/frame/parent", json!({})).await;
    browser
        .screenshot(&shots, "outreach-in-lms-frame.png")
        .await;

    // Back to the dashboard, scrolled to the comparison with the 2025 offering.
    browser.enter_frame().await;
    browser.click("header nav a").await;
    browser
        .wait_for(
            "return !location.pathname.endsWith('/outreach') && document.readyState === 'complete' \
             && !!document.querySelector('#offering-comparison svg[role=img]')",
        )
        .await;
    let section = browser
        .js("const s = document.getElementById('offering-comparison'); s.scrollIntoView(); return s.textContent")
        .await;
    let section = section.as_str().unwrap();
    assert!(
        section.contains(demo::PREVIOUS.title),
        "the previous demo offering is named: {section}"
    );
    let bars = browser
        .js("return document.querySelectorAll('#offering-comparison svg[role=img] rect').length")
        .await;
    assert!(
        bars.as_u64().unwrap() >= 2 * demo::seed::WEEKS as u64,
        "a bar per offering per teaching week: {bars}"
    );
    let height = browser
        .js("return document.querySelector('#offering-comparison svg[role=img]').getBoundingClientRect().height")
        .await;
    assert!(
        height.as_f64().unwrap() > 100.0,
        "the chart is laid out: {height}"
    );
    browser.post("/frame/parent", json!({})).await;
    browser
        .screenshot(&shots, "offering-comparison-in-lms-frame.png")
        .await;

    let errors = browser.console_errors().await;
    browser.quit().await;
    drop(running);
    assert!(errors.is_empty(), "console errors: {errors:?}");
}
