//! The LTI 1.3 launch against a mock platform signing real RS256 tokens: the accepted
//! launches, and every rejection path, each of which creates no session, user or course.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;

use crate::helpers::{TestApp, count_rows};
use crate::lti_platform::{LEARNER, MockPlatform, launch_with, login, post_launch};
use crate::on_both_backends;

const ISSUER: &str = "https://blackboard.com";

async fn setup(backend: crate::helpers::Backend) -> Option<(TestApp, MockPlatform)> {
    let app = crate::helpers::spawn_app(backend, module_path!()).await?;
    let (mock, _) = MockPlatform::start(&app, ISSUER, "client-1").await;
    Some((app, mock))
}

/// The response is a rejection with `status` whose page says `says`, and nothing was created.
async fn assert_rejected(app: &TestApp, response: reqwest::Response, status: u16, says: &str) {
    assert_eq!(response.status(), status, "expected {status} for {says:?}");
    let sets_session = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .any(|c| c.to_str().unwrap().starts_with("cloop_session="));
    assert!(!sets_session, "a rejected launch opens no session");
    let body = response.text().await.unwrap();
    assert!(body.contains(says), "page should say {says:?}, got: {body}");
    for table in ["users", "courses", "enrolments"] {
        assert_eq!(
            count_rows(&app.store, table).await,
            0,
            "a rejected launch creates no {table}"
        );
    }
}

/// The session token from a launch's redirect to the course page.
fn session_from(response: &reqwest::Response) -> (String, String) {
    let location = response.headers()["location"].to_str().unwrap().to_string();
    let (path, token) = location
        .split_once("?s=")
        .expect("redirect carries the session token");
    (path.to_string(), token.to_string())
}

on_both_backends! {
    async fn instructor_launch_lands_on_the_course_page(backend: Backend) {
        let Some((app, mock)) = setup(backend).await else { return };
        let response = launch_with(&app, &mock, |_| {}).await;
        assert_eq!(response.status(), 303, "{:?}", response.text().await);
        let session_cookie = response
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|c| c.to_str().unwrap().to_string())
            .find(|c| c.starts_with("cloop_session="))
            .expect("a convenience session cookie");
        assert!(session_cookie.contains("Partitioned") && session_cookie.contains("SameSite=None"), "{session_cookie}");
        let (path, token) = session_from(&response);
        assert!(path.starts_with("/courses/"));

        let page = app.client.get(app.url(&path)).query(&[("s", &token)]).send().await.unwrap();
        assert_eq!(page.status(), 200);
        let csp = page.headers()["content-security-policy"].to_str().unwrap().to_string();
        assert!(csp.contains("frame-ancestors 'self'") && csp.contains("https://learn.example.edu"), "{csp}");
        assert_eq!(page.headers()["referrer-policy"], "same-origin");
        let body = page.text().await.unwrap();
        assert!(body.contains("Introduction to &lt;Ecology&gt;"), "course title, escaped: {body}");

        let course = app.store.course(path.trim_start_matches("/courses/").parse().unwrap()).await.unwrap();
        assert_eq!(course.lms_context_id, "ctx-1");
        assert_eq!(course.code, "ECOL101");
        assert_eq!(course.lms_course_uuid.as_deref(), Some("ctx-1"), "Blackboard's context id is the course uuid");
        assert_eq!(count_rows(&app.store, "users").await, 1);
    }
}

on_both_backends! {
    async fn learner_launch_gets_no_course_data(backend: Backend) {
        let Some((app, mock)) = setup(backend).await else { return };
        let response = launch_with(&app, &mock, |c| {
            c["sub"] = json!("user-student");
            c["https://purl.imsglobal.org/spec/lti/claim/roles"] = json!([LEARNER]);
        })
        .await;
        assert_eq!(response.status(), 303);
        let (path, token) = session_from(&response);
        let page = app.client.get(app.url(&path)).query(&[("s", &token)]).send().await.unwrap();
        assert_eq!(page.status(), 403);
        let body = page.text().await.unwrap();
        assert!(body.contains("cloop is for course staff"), "{body}");
        assert!(!body.contains("ECOL101"));
    }
}

on_both_backends! {
    async fn wrong_signature_is_rejected(backend: Backend) {
        let Some((app, mock)) = setup(backend).await else { return };
        let login = login(&app, &mock).await;
        let other = cloop::lti::keys::generate().unwrap();
        let token = mock.sign_with(&mock.claims(&app, &login.nonce), &other, Some(&mock.signing.kid), Algorithm::RS256);
        let response = post_launch(&app, &token, Some(&login.state), Some(&login.cookie)).await;
        assert_rejected(&app, response, 401, "signature does not verify").await;
    }
}

on_both_backends! {
    async fn alg_none_is_rejected(backend: Backend) {
        let Some((app, mock)) = setup(backend).await else { return };
        let login = login(&app, &mock).await;
        let header = URL_SAFE_NO_PAD.encode(json!({"alg": "none", "typ": "JWT", "kid": mock.signing.kid}).to_string());
        let payload = URL_SAFE_NO_PAD.encode(mock.claims(&app, &login.nonce).to_string());
        let token = format!("{header}.{payload}.");
        let response = post_launch(&app, &token, Some(&login.state), Some(&login.cookie)).await;
        assert_rejected(&app, response, 401, "signed with none").await;
    }
}

on_both_backends! {
    async fn hs256_signed_with_the_public_key_is_rejected(backend: Backend) {
        let Some((app, mock)) = setup(backend).await else { return };
        let login = login(&app, &mock).await;
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(mock.signing.kid.clone());
        let token = jsonwebtoken::encode(
            &header,
            &mock.claims(&app, &login.nonce),
            &EncodingKey::from_secret(mock.signing.public_jwk.as_bytes()),
        )
        .unwrap();
        let response = post_launch(&app, &token, Some(&login.state), Some(&login.cookie)).await;
        assert_rejected(&app, response, 401, "only RS256, RS384 and RS512").await;
    }
}

on_both_backends! {
    async fn unknown_kid_is_rejected_after_exactly_one_refetch(backend: Backend) {
        let Some((app, mock)) = setup(backend).await else { return };
        // A first launch loads the key set.
        let first = launch_with(&app, &mock, |_| {}).await;
        assert_eq!(first.status(), 303);
        assert_eq!(mock.jwks_fetches(), 1);
        let users = count_rows(&app.store, "users").await;

        let login = login(&app, &mock).await;
        let stranger = cloop::lti::keys::generate().unwrap();
        let token = mock.sign_with(&mock.claims(&app, &login.nonce), &stranger, Some("kid-nobody-published"), Algorithm::RS256);
        let response = post_launch(&app, &token, Some(&login.state), Some(&login.cookie)).await;
        assert_eq!(response.status(), 401);
        assert!(response.text().await.unwrap().contains("kid-nobody-published"));
        assert_eq!(mock.jwks_fetches(), 2, "exactly one refetch for an unknown kid");

        // The same made-up kid again right away is refused without asking the platform.
        let login = crate::lti_platform::login(&app, &mock).await;
        let token = mock.sign_with(&mock.claims(&app, &login.nonce), &stranger, Some("kid-nobody-published"), Algorithm::RS256);
        let response = post_launch(&app, &token, Some(&login.state), Some(&login.cookie)).await;
        assert_eq!(response.status(), 401);
        assert_eq!(mock.jwks_fetches(), 2, "a kid just found missing is not fetched again");
        assert_eq!(count_rows(&app.store, "users").await, users);
    }
}

on_both_backends! {
    async fn rotated_platform_key_is_accepted_after_refetch(backend: Backend) {
        let Some((app, mut mock)) = setup(backend).await else { return };
        assert_eq!(launch_with(&app, &mock, |_| {}).await.status(), 303);
        mock.rotate(true);
        let response = launch_with(&app, &mock, |_| {}).await;
        assert_eq!(response.status(), 303, "{:?}", response.text().await);
        assert_eq!(mock.jwks_fetches(), 2);
    }
}

on_both_backends! {
    async fn expired_token_is_rejected(backend: Backend) {
        let Some((app, mock)) = setup(backend).await else { return };
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let response = launch_with(&app, &mock, |c| {
            c["iat"] = json!(now - 7200);
            c["exp"] = json!(now - 120);
        })
        .await;
        assert_rejected(&app, response, 401, "has expired").await;
    }
}

on_both_backends! {
    async fn token_issued_in_the_future_beyond_leeway_is_rejected(backend: Backend) {
        let Some((app, mock)) = setup(backend).await else { return };
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let response = launch_with(&app, &mock, |c| c["iat"] = json!(now + 300)).await;
        assert_rejected(&app, response, 401, "issued in the future").await;
    }
}

on_both_backends! {
    async fn clock_skew_within_leeway_is_accepted(backend: Backend) {
        let Some((app, mock)) = setup(backend).await else { return };
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let response = launch_with(&app, &mock, |c| {
            c["iat"] = json!(now + 30);
        })
        .await;
        assert_eq!(response.status(), 303, "iat 30 s ahead is within the 60 s leeway");
        let response = launch_with(&app, &mock, |c| {
            c["iat"] = json!(now - 3600);
            c["exp"] = json!(now - 30);
        })
        .await;
        assert_eq!(response.status(), 303, "exp 30 s ago is within the 60 s leeway");
    }
}

on_both_backends! {
    async fn wrong_issuer_is_rejected(backend: Backend) {
        let Some((app, mock)) = setup(backend).await else { return };
        let response = launch_with(&app, &mock, |c| c["iss"] = json!("https://evil.example.com")).await;
        assert_rejected(&app, response, 401, "is not registered with cloop").await;
    }
}

on_both_backends! {
    async fn wrong_audience_is_rejected(backend: Backend) {
        let Some((app, mock)) = setup(backend).await else { return };
        let response = launch_with(&app, &mock, |c| c["aud"] = json!("someone-else")).await;
        assert_rejected(&app, response, 401, "client id someone-else").await;
    }
}

on_both_backends! {
    async fn audience_array_without_azp_is_rejected(backend: Backend) {
        let Some((app, mock)) = setup(backend).await else { return };
        let response = launch_with(&app, &mock, |c| c["aud"] = json!(["client-1", "other-tool"])).await;
        assert_rejected(&app, response, 401, "no authorized party").await;
    }
}

on_both_backends! {
    async fn audience_array_with_azp_is_accepted(backend: Backend) {
        let Some((app, mock)) = setup(backend).await else { return };
        let response = launch_with(&app, &mock, |c| {
            c["aud"] = json!(["other-tool", "client-1"]);
            c["azp"] = json!("client-1");
        })
        .await;
        assert_eq!(response.status(), 303);
    }
}

on_both_backends! {
    async fn wrong_azp_is_rejected(backend: Backend) {
        let Some((app, mock)) = setup(backend).await else { return };
        let response = launch_with(&app, &mock, |c| {
            c["aud"] = json!(["client-1", "other-tool"]);
            c["azp"] = json!("other-tool");
        })
        .await;
        assert_rejected(&app, response, 401, "authorized party (azp) other-tool").await;
    }
}

on_both_backends! {
    async fn replayed_nonce_is_rejected(backend: Backend) {
        let Some((app, mock)) = setup(backend).await else { return };
        let login = login(&app, &mock).await;
        let token = mock.sign(&mock.claims(&app, &login.nonce));
        let first = post_launch(&app, &token, Some(&login.state), Some(&login.cookie)).await;
        assert_eq!(first.status(), 303);
        let users = count_rows(&app.store, "users").await;

        // The same token again, even with a fresh login's state and cookie.
        let second_login = crate::lti_platform::login(&app, &mock).await;
        let replay = post_launch(&app, &token, Some(&second_login.state), Some(&second_login.cookie)).await;
        assert_eq!(replay.status(), 401);
        assert!(replay.text().await.unwrap().contains("already been used"));
        assert_eq!(count_rows(&app.store, "users").await, users);
    }
}

on_both_backends! {
    async fn missing_nonce_is_rejected(backend: Backend) {
        let Some((app, mock)) = setup(backend).await else { return };
        let response = launch_with(&app, &mock, |c| {
            c.as_object_mut().unwrap().remove("nonce");
        })
        .await;
        assert_rejected(&app, response, 401, "carries no nonce").await;
    }
}

on_both_backends! {
    async fn state_not_bound_to_the_browser_is_rejected(backend: Backend) {
        let Some((app, mock)) = setup(backend).await else { return };
        let ours = login(&app, &mock).await;
        let theirs = crate::lti_platform::login(&app, &mock).await;
        // The attacker's state with the victim's browser cookie: a mismatch.
        let token = mock.sign(&mock.claims(&app, &ours.nonce));
        let response = post_launch(&app, &token, Some(&theirs.state), Some(&ours.cookie)).await;
        assert_rejected(&app, response, 401, "did not come from the browser that started the login").await;
    }
}

on_both_backends! {
    async fn missing_state_is_rejected(backend: Backend) {
        let Some((app, mock)) = setup(backend).await else { return };
        let login = login(&app, &mock).await;
        let token = mock.sign(&mock.claims(&app, &login.nonce));
        let response = post_launch(&app, &token, None, Some(&login.cookie)).await;
        assert_rejected(&app, response, 400, "carries no state").await;
    }
}

on_both_backends! {
    async fn unregistered_deployment_is_rejected(backend: Backend) {
        let Some((app, mock)) = setup(backend).await else { return };
        let response = launch_with(&app, &mock, |c| {
            c["https://purl.imsglobal.org/spec/lti/claim/deployment_id"] = json!("deployment-unknown");
        })
        .await;
        assert_rejected(&app, response, 403, "deployment (deployment-unknown)").await;
    }
}

on_both_backends! {
    async fn wrong_version_is_rejected(backend: Backend) {
        let Some((app, mock)) = setup(backend).await else { return };
        let response = launch_with(&app, &mock, |c| {
            c["https://purl.imsglobal.org/spec/lti/claim/version"] = json!("1.1");
        })
        .await;
        assert_rejected(&app, response, 400, "LTI version").await;
    }
}

on_both_backends! {
    async fn unknown_message_type_is_rejected(backend: Backend) {
        let Some((app, mock)) = setup(backend).await else { return };
        let response = launch_with(&app, &mock, |c| {
            c["https://purl.imsglobal.org/spec/lti/claim/message_type"] = json!("LtiSubmissionReviewRequest");
        })
        .await;
        assert_rejected(&app, response, 400, "LtiSubmissionReviewRequest").await;
    }
}

on_both_backends! {
    async fn deep_linking_by_a_learner_is_refused(backend: Backend) {
        let Some((app, mock)) = setup(backend).await else { return };
        let response = launch_with(&app, &mock, |c| deep_linking(c, &mock.base)).await;
        assert_eq!(response.status(), 303, "staff may place cloop");
        let learner = launch_with(&app, &mock, |c| {
            deep_linking(c, &mock.base);
            c["sub"] = json!("user-student");
            c["https://purl.imsglobal.org/spec/lti/claim/roles"] = json!([LEARNER]);
        })
        .await;
        assert_eq!(learner.status(), 403);
        assert!(learner.text().await.unwrap().contains("Only course staff can place cloop"));
    }
}

/// Turns a resource-link launch into a deep-linking request.
pub fn deep_linking(claims: &mut serde_json::Value, platform_base: &str) {
    claims["https://purl.imsglobal.org/spec/lti/claim/message_type"] =
        json!("LtiDeepLinkingRequest");
    claims
        .as_object_mut()
        .unwrap()
        .remove("https://purl.imsglobal.org/spec/lti/claim/resource_link");
    claims["https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"] = json!({
        "deep_link_return_url": format!("{platform_base}/deep-link-return?x=1"),
        "accept_types": ["ltiResourceLink", "link"],
        "accept_presentation_document_targets": ["iframe", "window"],
        "data": "opaque platform data: {\"a\":1} & more"
    });
}

on_both_backends! {
    async fn deep_linking_round_trip_returns_a_signed_resource_link(backend: Backend) {
        let Some((app, mock)) = setup(backend).await else { return };
        let response = launch_with(&app, &mock, |c| deep_linking(c, &mock.base)).await;
        assert_eq!(response.status(), 303);
        let location = response.headers()["location"].to_str().unwrap().to_string();
        assert!(location.contains("/deep-link?s="), "{location}");
        let page = app.client.get(app.url(&location)).send().await.unwrap();
        assert_eq!(page.status(), 200);
        let body = page.text().await.unwrap();
        assert!(body.contains("value=\"students\""), "{body}");
        let action = body.split("action=\"").nth(1).unwrap().split('"').next().unwrap().replace("&amp;", "&");
        let request = body.split("name=\"request\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();

        let csrf = body.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();

        let forged = app.client.post(app.url(&action)).form(&[("request", request.as_str()), ("view", "students")]).send().await.unwrap();
        assert_eq!(forged.status(), 403, "a placement without the form's CSRF token");
        let answer = app.client.post(app.url(&action)).form(&[("csrf", csrf.as_str()), ("request", request.as_str()), ("view", "students")]).send().await.unwrap();
        assert_eq!(answer.status(), 200);
        let answer = answer.text().await.unwrap();
        let return_url = format!("{}/deep-link-return?x=1", mock.base);
        assert!(answer.contains(&format!("action=\"{}\"", return_url.replace('&', "&amp;"))), "{answer}");
        assert!(answer.contains("/static/auto-submit.js"));
        let jwt = answer.split("name=\"JWT\" value=\"").nth(1).unwrap().split('"').next().unwrap();

        // The response verifies with the tool's published JWKS.
        let jwks: jsonwebtoken::jwk::JwkSet = app.client.get(app.url("/.well-known/jwks.json")).send().await.unwrap().json().await.unwrap();
        let header = jsonwebtoken::decode_header(jwt).unwrap();
        let jwk = jwks.find(header.kid.as_deref().expect("kid in header")).expect("kid is published");
        let mut validation = jsonwebtoken::Validation::new(Algorithm::RS256);
        validation.set_audience(&[ISSUER]);
        validation.set_issuer(&["client-1"]);
        let claims = jsonwebtoken::decode::<serde_json::Value>(jwt, &jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap(), &validation)
            .unwrap()
            .claims;
        assert_eq!(claims["https://purl.imsglobal.org/spec/lti/claim/message_type"], "LtiDeepLinkingResponse");
        assert_eq!(claims["https://purl.imsglobal.org/spec/lti/claim/version"], "1.3.0");
        assert_eq!(claims["https://purl.imsglobal.org/spec/lti/claim/deployment_id"], mock.deployment_id);
        assert_eq!(claims["https://purl.imsglobal.org/spec/lti-dl/claim/data"], "opaque platform data: {\"a\":1} & more", "data returned unaltered");
        let item = &claims["https://purl.imsglobal.org/spec/lti-dl/claim/content_items"][0];
        assert_eq!(item["type"], "ltiResourceLink");
        assert_eq!(item["url"], app.url("/lti/launch?view=students"));

        // A placed link opens its view.
        let placed = launch_with(&app, &mock, |c| {
            c["https://purl.imsglobal.org/spec/lti/claim/target_link_uri"] = json!(app.url("/lti/launch?view=students"));
        })
        .await;
        assert_eq!(placed.status(), 303);
        let location = placed.headers()["location"].to_str().unwrap();
        assert!(location.contains("/students?s="), "{location}");
    }
}

on_both_backends! {
    async fn deep_linking_without_a_return_url_is_rejected(backend: Backend) {
        let Some((app, mock)) = setup(backend).await else { return };
        let response = launch_with(&app, &mock, |c| {
            deep_linking(c, &mock.base);
            c["https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"] = json!({"accept_types": ["ltiResourceLink"]});
        })
        .await;
        assert_rejected(&app, response, 400, "deep_link_return_url").await;
    }
}

on_both_backends! {
    async fn missing_resource_link_id_is_rejected(backend: Backend) {
        let Some((app, mock)) = setup(backend).await else { return };
        let response = launch_with(&app, &mock, |c| {
            c["https://purl.imsglobal.org/spec/lti/claim/resource_link"] = json!({"title": "no id"});
        })
        .await;
        assert_rejected(&app, response, 400, "no resource link id").await;
    }
}

on_both_backends! {
    async fn target_link_uri_not_ours_is_rejected(backend: Backend) {
        let Some((app, mock)) = setup(backend).await else { return };
        let response = launch_with(&app, &mock, |c| {
            c["https://purl.imsglobal.org/spec/lti/claim/target_link_uri"] = json!("https://evil.example.com/phish");
        })
        .await;
        assert_rejected(&app, response, 400, "does not point at cloop").await;
    }
}

on_both_backends! {
    async fn login_with_a_foreign_target_link_uri_is_rejected(backend: Backend) {
        let Some((app, mock)) = setup(backend).await else { return };
        let response = app
            .client
            .get(app.url("/lti/login"))
            .query(&[
                ("iss", mock.issuer.as_str()),
                ("login_hint", "h"),
                ("target_link_uri", "https://evil.example.com/"),
                ("client_id", &mock.client_id),
            ])
            .send()
            .await
            .unwrap();
        assert_rejected(&app, response, 400, "does not point at cloop").await;
    }
}

on_both_backends! {
    async fn login_from_an_unregistered_issuer_is_rejected(backend: Backend) {
        let Some((app, _mock)) = setup(backend).await else { return };
        let response = app
            .client
            .get(app.url("/lti/login"))
            .query(&[
                ("iss", "https://unknown-lms.example.edu"),
                ("login_hint", "h"),
                ("target_link_uri", &app.url("/lti/launch")),
                ("client_id", "c"),
            ])
            .send()
            .await
            .unwrap();
        assert_rejected(&app, response, 401, "This LMS (issuer https://unknown-lms.example.edu, client id c) is not registered").await;
        assert_eq!(count_rows(&app.store, "used_nonces").await, 0);
    }
}

on_both_backends! {
    async fn blackboard_style_get_login_redirects_with_every_auth_parameter(backend: Backend) {
        let Some((app, mock)) = setup(backend).await else { return };
        let login = login(&app, &mock).await;
        let query: std::collections::HashMap<_, _> = login.redirect.query_pairs().into_owned().collect();
        assert_eq!(login.redirect.as_str().split('?').next().unwrap(), format!("{}/auth", mock.base));
        assert_eq!(query["scope"], "openid");
        assert_eq!(query["response_type"], "id_token");
        assert_eq!(query["response_mode"], "form_post");
        assert_eq!(query["prompt"], "none");
        assert_eq!(query["client_id"], "client-1");
        assert_eq!(query["redirect_uri"], app.url("/lti/launch"));
        assert_eq!(query["login_hint"], "hint-123");
        assert_eq!(query["lti_message_hint"], "msg-hint", "returned unaltered");
        assert!(login.cookie.starts_with(&format!("cloop_state_{}=", login.state)));
    }
}

on_both_backends! {
    async fn moodle_style_post_login_with_json_message_hint(backend: Backend) {
        let Some(app) = crate::helpers::spawn_app(backend, module_path!()).await else { return };
        let (mock, _) = MockPlatform::start(&app, "https://moodle.example.edu", "moodle-client").await;
        let hint = r#"{"cmid":7,"launchid":"ltilaunch1_1234"}"#;
        let response = app
            .client
            .post(app.url("/lti/login"))
            .form(&[
                ("iss", "https://moodle.example.edu"),
                ("login_hint", "2"),
                ("target_link_uri", &app.url("/lti/launch")),
                ("lti_message_hint", hint),
                ("client_id", "moodle-client"),
                ("lti_deployment_id", &mock.deployment_id),
            ])
            .send()
            .await
            .unwrap();
        let login = crate::lti_platform::login_answer(response).await;
        let query: std::collections::HashMap<_, _> = login.redirect.query_pairs().into_owned().collect();
        assert_eq!(query["lti_message_hint"], hint);
        let mut claims = mock.claims(&app, &login.nonce);
        claims["iss"] = json!("https://moodle.example.edu");
        claims["https://purl.imsglobal.org/spec/lti/claim/roles"] = json!(["Instructor"]);
        let response = post_launch(&app, &mock.sign(&claims), Some(&login.state), Some(&login.cookie)).await;
        assert_eq!(response.status(), 303, "{:?}", response.text().await);
    }
}

on_both_backends! {
    async fn two_registrations_under_one_issuer_are_told_apart_by_client_id(backend: Backend) {
        let Some(app) = crate::helpers::spawn_app(backend, module_path!()).await else { return };
        let (uni_a, platform_a) = MockPlatform::start(&app, ISSUER, "app-a").await;
        let (uni_b, platform_b) = MockPlatform::start(&app, ISSUER, "app-b").await;
        let a = launch_with(&app, &uni_a, |_| {}).await;
        let b = launch_with(&app, &uni_b, |_| {}).await;
        assert_eq!(a.status(), 303);
        assert_eq!(b.status(), 303);
        let (path_a, _) = session_from(&a);
        let (path_b, _) = session_from(&b);
        assert_ne!(path_a, path_b, "same context id, different registrations: two courses");
        let course_a = app.store.course(path_a.trim_start_matches("/courses/").parse().unwrap()).await.unwrap();
        let course_b = app.store.course(path_b.trim_start_matches("/courses/").parse().unwrap()).await.unwrap();
        assert_eq!(course_a.platform_id, platform_a.id);
        assert_eq!(course_b.platform_id, platform_b.id);

        // A token of B's client cannot pass as A's: signed by A, addressed to B.
        let login = login(&app, &uni_a).await;
        let mut claims = uni_a.claims(&app, &login.nonce);
        claims["aud"] = json!("app-b");
        let response = post_launch(&app, &uni_a.sign(&claims), Some(&login.state), Some(&login.cookie)).await;
        assert_eq!(response.status(), 401, "signed by A's key, B's JWKS does not verify it");

        // Without client_id the login cannot choose; the registration's name in the path can.
        let ambiguous = app
            .client
            .get(app.url("/lti/login"))
            .query(&[("iss", ISSUER), ("login_hint", "h"), ("target_link_uri", &app.url("/lti/launch"))])
            .send()
            .await
            .unwrap();
        assert_eq!(ambiguous.status(), 400);
        let named = app
            .client
            .get(app.url(&format!("/lti/login/{}", platform_b.name)))
            .query(&[("iss", ISSUER), ("login_hint", "h"), ("target_link_uri", &app.url("/lti/launch"))])
            .send()
            .await
            .unwrap();
        let login = crate::lti_platform::login_answer(named).await;
        assert_eq!(login.redirect.query_pairs().find(|(k, _)| k == "client_id").unwrap().1, "app-b");
    }
}

on_both_backends! {
    async fn first_launch_queues_a_sync_when_the_platform_has_rest_credentials(backend: Backend) {
        let Some((app, mock)) = setup(backend).await else { return };
        assert_eq!(launch_with(&app, &mock, |_| {}).await.status(), 303);
        assert_eq!(count_rows(&app.store, "jobs").await, 0, "no REST credentials: nothing to sync");

        let platform = app.store.platform_by_name("mock-client-1").await.unwrap().unwrap();
        let sealed = app.state.secret.seal("rest-secret");
        app.store.set_platform_rest(platform.id, "https://learn.example.edu", "rest-key", &sealed).await.unwrap();
        let second_course = launch_with(&app, &mock, |c| {
            c["https://purl.imsglobal.org/spec/lti/claim/context"]["id"] = json!("ctx-2");
        })
        .await;
        assert_eq!(second_course.status(), 303);
        let jobs = app.store.jobs_of_kind("course_sync").await.unwrap();
        assert_eq!(jobs.len(), 1, "the new course's first launch queues its sync");
        let course = second_course.headers()["location"].to_str().unwrap().split('/').nth(2).unwrap().split('?').next().unwrap().to_string();
        assert_eq!(jobs[0].dedupe_key, course);

        assert_eq!(launch_with(&app, &mock, |c| {
            c["https://purl.imsglobal.org/spec/lti/claim/context"]["id"] = json!("ctx-2");
        }).await.status(), 303);
        assert_eq!(app.store.jobs_of_kind("course_sync").await.unwrap().len(), 1, "later launches queue nothing more");
    }
}
