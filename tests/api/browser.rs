//! The dashboard in real headless Chromium, opened as an LMS does: a parent page on one
//! origin (`localhost`) framing cloop's LTI login on another (`127.0.0.1`), the launch
//! auto-posted with a signed id_token. Checks the charts and
//! events render, links keep working inside the frame and the console stays clean, and
//! saves screenshots under target/artifacts/.

use std::path::{Path, PathBuf};
use std::time::Duration;

use axum::response::Html;
use serde_json::{Value, json};
use tokio::process::{Child, Command};

use crate::helpers::{Backend, spawn_app};
use crate::views_fixture::{V, exec, seed};

pub(crate) const CHROMIUM: &str = "/usr/bin/chromium";
pub(crate) const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A WebDriver session on a chromedriver this test started (killed when dropped).
pub(crate) struct Browser {
    http: reqwest::Client,
    base: String,
    _driver: Child,
    _profile: tempfile::TempDir,
}

impl Browser {
    pub(crate) async fn start() -> Self {
        let port = free_port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .kill_on_drop(true)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let http = reqwest::Client::new();
        let driver_url = format!("http://127.0.0.1:{port}");
        for _ in 0..100 {
            if http
                .get(format!("{driver_url}/status"))
                .send()
                .await
                .is_ok()
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let profile = tempfile::tempdir().unwrap();
        let caps = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:loggingPrefs": { "browser": "ALL" },
            "goog:chromeOptions": { "binary": CHROMIUM, "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--window-size=1280,1000",
                format!("--user-data-dir={}", profile.path().display()),
            ] }
        } } });
        let created: Value = http
            .post(format!("{driver_url}/session"))
            .json(&caps)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = created["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("session: {created}"));
        Self {
            http,
            base: format!("{driver_url}/session/{id}"),
            _driver: driver,
            _profile: profile,
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let req = self
            .http
            .request(method.clone(), format!("{}{path}", self.base));
        let req = if method == reqwest::Method::GET {
            req
        } else {
            req.json(&body)
        };
        let v: Value = req.send().await.unwrap().json().await.unwrap();
        assert!(v["value"].get("error").is_none(), "{path}: {v}");
        v["value"].clone()
    }

    pub(crate) async fn post(&self, path: &str, body: Value) -> Value {
        self.call(reqwest::Method::POST, path, body).await
    }

    pub(crate) async fn js(&self, script: &str) -> Value {
        self.post("/execute/sync", json!({ "script": script, "args": [] }))
            .await
    }

    async fn find(&self, css: &str) -> Value {
        let v = self
            .post("/element", json!({ "using": "css selector", "value": css }))
            .await;
        json!({ ELEMENT: v[ELEMENT] })
    }

    pub(crate) async fn click(&self, css: &str) {
        let el = self.find(css).await;
        let id = el[ELEMENT].as_str().unwrap().to_string();
        self.post(&format!("/element/{id}/click"), json!({})).await;
    }

    /// Waits until the script returns true.
    pub(crate) async fn wait_for(&self, script: &str) {
        for _ in 0..100 {
            if self.js(script).await == json!(true) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("timed out waiting for: {script}");
    }

    pub(crate) async fn enter_frame(&self) {
        let frame = self.find("iframe").await;
        self.post("/frame", json!({ "id": frame })).await;
    }

    pub(crate) async fn screenshot(&self, dir: &Path, name: &str) {
        let png = self
            .call(reqwest::Method::GET, "/screenshot", json!({}))
            .await;
        use base64::Engine;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().unwrap())
            .unwrap();
        std::fs::write(dir.join(name), bytes).unwrap();
    }

    /// Closes the browser (chromedriver itself dies with its child handle).
    pub(crate) async fn quit(self) {
        self.http.delete(&self.base).send().await.ok();
    }

    pub(crate) async fn console_errors(&self) -> Vec<String> {
        let logs = self.post("/se/log", json!({ "type": "browser" })).await;
        logs.as_array()
            .into_iter()
            .flatten()
            .filter(|e| e["level"] == "SEVERE")
            .map(|e| e["message"].to_string())
            .collect()
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub(crate) fn artifacts() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A minimal LMS on `localhost`: a course page framing cloop's LTI login, an OIDC
/// authorization endpoint that answers with an auto-posted signed id_token, and its JWKS.
struct Lms {
    port: u16,
}

impl Lms {
    async fn start(cloop_port: u16) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let origin = format!("http://localhost:{port}");
        let cloop = format!("http://127.0.0.1:{cloop_port}");
        let key = cloop::lti::keys::generate().unwrap();
        let jwks: Value =
            json!({ "keys": [serde_json::from_str::<Value>(&key.public_jwk).unwrap()] });
        let login = format!(
            "{cloop}/lti/login?iss={origin}&login_hint=t&client_id=browser-client&lti_deployment_id=d1&target_link_uri={cloop}/lti/launch"
        );
        let page = format!(
            "<!doctype html><html><head><title>LMS course</title><link rel=\"icon\" href=\"data:,\"></head><body style=\"margin:0\">\
             <h1 style=\"font:16px sans-serif\">Course tools</h1>\
             <iframe title=\"cloop\" src=\"{}\" style=\"width:100%;height:900px;border:0\"></iframe>\
             </body></html>",
            login.replace('&', "&amp;")
        );
        let auth = {
            let (origin, cloop) = (origin.clone(), cloop.clone());
            move |axum::extract::Query(q): axum::extract::Query<
                std::collections::HashMap<String, String>,
            >| async move {
                assert_eq!(q["redirect_uri"], format!("{cloop}/lti/launch"));
                let now = time::OffsetDateTime::now_utc().unix_timestamp();
                let claims = json!({
                    "iss": origin, "aud": "browser-client", "sub": q["login_hint"], "exp": now + 600, "iat": now,
                    "nonce": q["nonce"], "name": "Teacher",
                    "https://purl.imsglobal.org/spec/lti/claim/message_type": "LtiResourceLinkRequest",
                    "https://purl.imsglobal.org/spec/lti/claim/version": "1.3.0",
                    "https://purl.imsglobal.org/spec/lti/claim/deployment_id": "d1",
                    "https://purl.imsglobal.org/spec/lti/claim/target_link_uri": format!("{cloop}/lti/launch"),
                    "https://purl.imsglobal.org/spec/lti/claim/resource_link": { "id": "link-1" },
                    "https://purl.imsglobal.org/spec/lti/claim/roles": ["http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"],
                    "https://purl.imsglobal.org/spec/lti/claim/context": { "id": "ctx1", "title": "Intro <b>Stats</b> & more", "label": "STAT101" }
                });
                let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
                header.kid = Some(key.kid.clone());
                let encoding =
                    jsonwebtoken::EncodingKey::from_rsa_pem(key.private_key.as_bytes()).unwrap();
                let token = jsonwebtoken::encode(&header, &claims, &encoding).unwrap();
                Html(format!(
                    "<!doctype html><html><body><form id=\"f\" method=\"post\" action=\"{}\">\
                     <input type=\"hidden\" name=\"id_token\" value=\"{token}\">\
                     <input type=\"hidden\" name=\"state\" value=\"{}\"></form>\
                     <script>document.getElementById('f').submit()</script></body></html>",
                    q["redirect_uri"], q["state"]
                ))
            }
        };
        let app = axum::Router::new()
            .route("/", axum::routing::get(move || async move { Html(page) }))
            .route("/auth", axum::routing::get(auth))
            .route(
                "/jwks",
                axum::routing::get(move || async move { axum::Json(jwks) }),
            );
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { port }
    }

    fn origin(&self) -> String {
        format!("http://localhost:{}", self.port)
    }
}

#[tokio::test]
async fn dashboard_renders_in_an_lms_frame_in_chromium() {
    if crate::browser_demo::chromium_missing("browser test") {
        return;
    }
    let app = spawn_app(Backend::Sqlite, "browser")
        .await
        .expect("SQLite always runs");
    let f = seed(&app.store).await;
    // The fixture's platform becomes this LMS, so its launch opens the fixture's course.
    let lms = Lms::start(app.address.port()).await;
    let platform = app.store.platforms().await.unwrap().remove(0);
    exec(
        &app.store,
        "UPDATE platforms SET issuer = $1, client_id = 'browser-client', auth_url = $2, jwks_url = $3 WHERE id = $4 RETURNING id",
        &[V::S(lms.origin()), V::S(format!("{}/auth", lms.origin())), V::S(format!("{}/jwks", lms.origin())), V::I(platform.id.0)],
    )
    .await;
    app.store.add_deployment(platform.id, "d1").await.unwrap();
    app.state.frame_ancestors.invalidate();
    let dir = artifacts();

    let browser = Browser::start().await;
    browser
        .post("/url", json!({ "url": format!("{}/", lms.origin()) }))
        .await;
    browser.enter_frame().await;
    browser.wait_for("return document.readyState === 'complete' && !!document.querySelector('svg[role=img]')").await;
    let landed = browser.js("return location.pathname").await;
    assert_eq!(
        landed,
        json!(format!("/courses/{}", f.course)),
        "the LTI launch lands on the course dashboard"
    );
    let charts = browser
        .js("return document.querySelectorAll('svg[role=img]').length")
        .await;
    assert!(charts.as_u64().unwrap() >= 3, "dashboard charts: {charts}");
    let width = browser
        .js("return document.querySelector('svg.time-chart').getBoundingClientRect().width")
        .await;
    assert!(
        width.as_f64().unwrap() > 300.0,
        "the chart is laid out: {width}"
    );
    let lectures = browser
        .js("return document.querySelectorAll('svg.time-chart .ev-repeating line').length")
        .await;
    assert_eq!(
        lectures,
        json!(4),
        "two lectures on each of the two time charts"
    );
    browser.wait_for("return [...document.querySelectorAll('.ev-single text')].some(t => t.textContent.includes('Census'))").await;

    // The legend hides repeating events (CSS only).
    browser.click("label[for='daily-views-repeating']").await;
    let hidden = browser.js("return getComputedStyle(document.querySelector('#daily-views-repeating ~ svg .ev-repeating')).display").await;
    assert_eq!(hidden, json!("none"));
    browser.post("/frame/parent", json!({})).await;
    browser.screenshot(&dir, "dashboard-in-lms-frame.png").await;

    // A link inside the frame keeps the session: the content page loads with its tree.
    browser.enter_frame().await;
    browser.click("header nav a[href*='/content']").await;
    browser.wait_for("return location.pathname.endsWith('/content') && !!document.querySelector('#table-access')").await;
    browser
        .wait_for("return !document.querySelector('button.twisty').hidden")
        .await;
    browser.click("button.twisty").await;
    let collapsed = browser.js("return [...document.querySelectorAll('#table-access tbody tr')].filter(r => r.hidden).length").await;
    assert_eq!(collapsed, json!(2), "the folder's two resources collapse");
    browser.post("/frame/parent", json!({})).await;
    browser.screenshot(&dir, "content-in-lms-frame.png").await;

    // At phone width the page fits its frame (wide tables scroll in their own box).
    browser
        .post("/window/rect", json!({ "width": 360, "height": 900 }))
        .await;
    browser.enter_frame().await;
    let overflow = browser
        .js("return document.documentElement.scrollWidth - document.documentElement.clientWidth")
        .await;
    assert!(
        overflow.as_i64().unwrap() <= 1,
        "no sideways scrolling at 360 px: {overflow}"
    );
    browser.post("/frame/parent", json!({})).await;
    browser.screenshot(&dir, "content-at-360px.png").await;

    let errors = browser.console_errors().await;
    browser.quit().await;
    assert!(errors.is_empty(), "console errors: {errors:?}");
}
