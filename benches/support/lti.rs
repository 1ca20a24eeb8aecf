//! An LTI 1.3 platform and browser for the benchmarks: publishes the platform's key set,
//! signs RS256 id_tokens and drives `GET /lti/login` then `POST /lti/launch` over HTTP.
// Each benchmark uses a part of this module.
#![allow(dead_code)]

use std::collections::HashMap;

use cloop::store::signing_keys::StoredKey;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;

/// The registration the benchmarks make: a Blackboard platform and one deployment.
pub const ISSUER: &str = "https://blackboard.com";
pub const CLIENT_ID: &str = "bench";
pub const DEPLOYMENT: &str = "bench";
const INSTRUCTOR: &str = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor";

/// Serves the platform's key set on 127.0.0.1 from this process; returns its URL.
pub async fn publish_jwks(key: &StoredKey) -> String {
    let jwk: serde_json::Value = serde_json::from_str(&key.public_jwk).expect("jwk");
    let set = json!({ "keys": [jwk] });
    let router = axum::Router::new().route(
        "/jwks",
        axum::routing::get(move || {
            let set = set.clone();
            async move { axum::Json(set) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("jwks listener");
    let url = format!("http://{}/jwks", listener.local_addr().expect("address"));
    tokio::spawn(async move { axum::serve(listener, router).await.expect("jwks") });
    url
}

/// Writes the platform's private key where client processes read it.
pub fn write_key(key: &StoredKey, path: &std::path::Path) {
    std::fs::write(
        path,
        json!({"kid": key.kid, "pem": key.private_key}).to_string(),
    )
    .expect("key file");
}

/// Where a launch landed: the course page it redirects to and the session cookie it set
/// (`cloop_session=…`).
pub struct Landing {
    pub location: String,
    pub cookie: String,
}

/// The platform's signing key and a browser without cookie jar, in front of one server.
pub struct Launcher {
    http: reqwest::Client,
    base: String,
    header: Header,
    encoding: EncodingKey,
}

impl Launcher {
    /// A launcher for the server at `address` signing with the key in `key_file`.
    pub fn new(address: &str, key_file: &str) -> Self {
        let key: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(key_file).expect("key"))
                .expect("key json");
        let mut header = Header::new(Algorithm::RS256);
        header.kid = key["kid"].as_str().map(str::to_string);
        let encoding =
            EncodingKey::from_rsa_pem(key["pem"].as_str().expect("pem").as_bytes()).expect("pem");
        Self {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            base: format!("http://{address}"),
            header,
            encoding,
        }
    }

    /// Login and launch of instructor `user` into the course with LTI context `context`,
    /// the claims adjusted by `adjust`; panics unless it lands on a course page.
    pub async fn login_and_launch(
        &self,
        user: usize,
        context: &str,
        adjust: impl FnOnce(&mut serde_json::Value),
    ) -> Landing {
        let target = format!("{}/lti/launch", self.base);
        let login = self
            .http
            .get(format!("{}/lti/login", self.base))
            .query(&[
                ("iss", ISSUER),
                ("login_hint", &format!("hint-{user}")),
                ("target_link_uri", &target),
                ("client_id", CLIENT_ID),
                ("lti_deployment_id", DEPLOYMENT),
            ])
            .send()
            .await
            .expect("login");
        assert_eq!(login.status(), 303, "login redirects to the platform");
        let cookie = first_cookie(&login);
        let redirect = url::Url::parse(login.headers()["location"].to_str().expect("location"))
            .expect("redirect URL");
        let query: HashMap<_, _> = redirect.query_pairs().into_owned().collect();
        let mut claims = claims(&target, &query["nonce"], user, context);
        adjust(&mut claims);
        let id_token = jsonwebtoken::encode(&self.header, &claims, &self.encoding).expect("sign");
        let launch = self
            .http
            .post(&target)
            .header("cookie", cookie)
            .form(&[("id_token", id_token.as_str()), ("state", &query["state"])])
            .send()
            .await
            .expect("launch");
        assert_eq!(launch.status(), 303, "{:?}", launch.text().await);
        let location = launch.headers()["location"]
            .to_str()
            .expect("landing")
            .to_string();
        assert!(location.starts_with("/courses/"), "{location}");
        let cookie = launch
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|c| c.to_str().ok()?.split(';').next())
            .find(|c| c.starts_with("cloop_session="))
            .expect("a session cookie")
            .to_string();
        Landing { cookie, location }
    }
}

/// The `name=value` of the first cookie a response sets.
fn first_cookie(response: &reqwest::Response) -> String {
    response.headers()["set-cookie"]
        .to_str()
        .expect("cookie")
        .split(';')
        .next()
        .expect("cookie pair")
        .to_string()
}

/// A Blackboard-shaped instructor launch into the course with LTI context `context`.
fn claims(target: &str, nonce: &str, user: usize, context: &str) -> serde_json::Value {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    json!({
        "iss": ISSUER,
        "aud": CLIENT_ID,
        "sub": format!("user-{user}"),
        "exp": now + 3600,
        "iat": now,
        "nonce": nonce,
        "name": format!("Instructor {user}"),
        "given_name": "Instructor",
        "family_name": format!("{user}"),
        "email": format!("instructor{user}@bench.example.edu"),
        "https://purl.imsglobal.org/spec/lti/claim/message_type": "LtiResourceLinkRequest",
        "https://purl.imsglobal.org/spec/lti/claim/version": "1.3.0",
        "https://purl.imsglobal.org/spec/lti/claim/deployment_id": DEPLOYMENT,
        "https://purl.imsglobal.org/spec/lti/claim/target_link_uri": target,
        "https://purl.imsglobal.org/spec/lti/claim/resource_link": { "id": format!("link-{context}") },
        "https://purl.imsglobal.org/spec/lti/claim/roles": [INSTRUCTOR],
        "https://purl.imsglobal.org/spec/lti/claim/context": {
            "id": context, "label": format!("BENCH-{context}"), "title": format!("Bench course {context}"),
        },
        "https://purl.imsglobal.org/spec/lti/claim/tool_platform": {
            "guid": "bench", "product_family_code": "BlackboardLearn", "url": format!("{ISSUER}/"),
        },
        "https://purl.imsglobal.org/spec/lti/claim/launch_presentation": {
            "return_url": format!("{ISSUER}/ultra/courses/_1_1/outline"),
        },
    })
}
