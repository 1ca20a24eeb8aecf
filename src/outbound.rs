//! Outbound HTTP to URLs an LMS hands cloop in-band (dynamic registration, launch claims):
//! by default only public addresses are reached, so an LMS cannot aim cloop at its own network.

use std::error::Error as StdError;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::LazyLock;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::redirect;
use url::{Host, Url};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const TIMEOUT: Duration = Duration::from_secs(30);
const MAX_REDIRECTS: usize = 5;

/// Where URLs an LMS supplies may lead. What is trusted: URLs a tool admin typed (`cloop
/// platform add`, the admin page, Blackboard REST base URLs) are fetched with the ordinary
/// client. What is guarded: dynamic registration (the configuration URL, the registration
/// endpoint, and the endpoints it stores, checked once when stored) and the NRPS / AGS
/// URLs of launches, unless they are on the origin of one of the platform's stored
/// endpoints (that reaches nothing the platform's registration did not already reach).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Guard {
    /// Public addresses only: loopback, link-local, private, shared (CGNAT), unspecified,
    /// multicast and reserved addresses are refused, literal or resolved.
    #[default]
    PublicOnly,
    /// Any address, for a development LMS on this machine or network (`allow_private_urls`).
    Off,
}

/// A URL cloop will not fetch, and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "cloop does not fetch {url}: {reason}. URLs an LMS sends cloop must lead to public addresses; for a development LMS on a private network set allow_private_urls = true"
)]
pub struct Refused {
    url: String,
    reason: String,
}

impl Refused {
    fn new(url: &Url, reason: String) -> Self {
        Self {
            url: shown(url),
            reason,
        }
    }
}

/// The resolver's refusal, before reqwest attaches the URL.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct HostRefused(String);

/// The URL without its query and fragment, which may carry tokens.
fn shown(url: &Url) -> String {
    let mut url = url.clone();
    url.set_query(None);
    url.set_fragment(None);
    url.to_string()
}

static GUARDED: LazyLock<reqwest::Client> = LazyLock::new(|| {
    // No proxy: a proxy would resolve names itself, outside the guard.
    builder()
        .no_proxy()
        .dns_resolver(PublicOnlyResolver)
        .redirect(redirect::Policy::custom(|attempt| {
            if attempt.previous().len() >= MAX_REDIRECTS {
                return attempt.error(format!("more than {MAX_REDIRECTS} redirects"));
            }
            match literal_refusal(attempt.url()) {
                Some(refused) => attempt.error(refused),
                None => attempt.follow(),
            }
        }))
        .build()
        .expect("a TLS-capable HTTP client")
});

static OPEN: LazyLock<reqwest::Client> = LazyLock::new(|| {
    builder()
        .redirect(redirect::Policy::limited(MAX_REDIRECTS))
        .build()
        .expect("a TLS-capable HTTP client")
});

fn builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .user_agent(concat!("cloop/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(TIMEOUT)
}

impl Guard {
    /// `allow_private_urls` as a guard.
    pub fn allowing_private(allow: bool) -> Self {
        if allow { Self::Off } else { Self::PublicOnly }
    }

    /// The client to fetch `url` with, once its scheme and any literal address pass. A
    /// host name is checked again by the client's resolver when it connects, and every
    /// redirect hop is checked the same way.
    pub fn client_for(self, url: &Url) -> Result<&'static reqwest::Client, Refused> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Refused::new(url, "only http(s) URLs are fetched".into()));
        }
        match self {
            Self::Off => Ok(&OPEN),
            Self::PublicOnly => literal_refusal(url).map_or(Ok(&GUARDED), Err),
        }
    }

    /// Checks `url` now: its literal address, or the addresses its host resolves to. For a
    /// URL cloop keeps to fetch later (a platform's endpoints from dynamic registration),
    /// and before asking for a token to send to one.
    pub async fn check(self, url: &Url) -> Result<(), Refused> {
        self.client_for(url)?;
        if self == Self::Off {
            return Ok(());
        }
        let Some(Host::Domain(host)) = url.host() else {
            return Ok(());
        };
        public_addresses(host)
            .await
            .map(drop)
            .map_err(|e| Refused::new(url, e.0))
    }
}

/// The guard's refusal (by the resolver or at a redirect) behind a failed request.
pub fn refusal(error: &reqwest::Error) -> Option<Refused> {
    let mut source = error.source();
    while let Some(cause) = source {
        if let Some(refused) = cause.downcast_ref::<Refused>() {
            return Some(refused.clone());
        }
        if let Some(host) = cause.downcast_ref::<HostRefused>() {
            return Some(Refused {
                url: error.url().map(shown).unwrap_or_default(),
                reason: host.0.clone(),
            });
        }
        source = cause.source();
    }
    None
}

fn literal_refusal(url: &Url) -> Option<Refused> {
    let ip = match url.host()? {
        Host::Ipv4(ip) => IpAddr::V4(ip),
        Host::Ipv6(ip) => IpAddr::V6(ip),
        Host::Domain(_) => return None,
    };
    non_public(ip).map(|kind| Refused::new(url, format!("{ip} is {kind}")))
}

/// Resolves with the system resolver and keeps only public addresses.
struct PublicOnlyResolver;

impl Resolve for PublicOnlyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs = public_addresses(&host).await?;
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

async fn public_addresses(host: &str) -> Result<Vec<SocketAddr>, HostRefused> {
    let resolved: Vec<SocketAddr> = tokio::net::lookup_host((host, 0))
        .await
        .map_err(|e| HostRefused(format!("{host} cannot be resolved: {e}")))?
        .collect();
    let (public, refused): (Vec<_>, Vec<_>) = resolved
        .into_iter()
        .partition(|a| non_public(a.ip()).is_none());
    match refused.first() {
        Some(first) if public.is_empty() => Err(HostRefused(format!(
            "{host} resolves only to addresses cloop does not fetch from ({} is {})",
            first.ip(),
            non_public(first.ip()).unwrap_or_default()
        ))),
        None if public.is_empty() => Err(HostRefused(format!("{host} has no address"))),
        _ => Ok(public),
    }
}

/// What kind of non-public address `ip` is, or `None` for a public one.
pub fn non_public(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => non_public_v4(v4),
        IpAddr::V6(v6) => non_public_v6(v6),
    }
}

fn non_public_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, ..] = ip.octets();
    Some(match (a, b) {
        _ if ip.is_loopback() => "a loopback address",
        _ if ip.is_private() => "a private address",
        _ if ip.is_link_local() => "a link-local address (such as a cloud metadata service)",
        (0, _) => "an unspecified address",
        (100, 64..=127) => "a shared (carrier-grade NAT) address",
        (192, 0) if ip.octets()[2] == 0 => "a reserved address",
        (198, 18 | 19) => "a reserved (benchmarking) address",
        _ if ip.is_multicast() || ip.is_broadcast() || a >= 240 => {
            "a multicast, broadcast or reserved address"
        }
        _ => return None,
    })
}

fn non_public_v6(ip: Ipv6Addr) -> Option<&'static str> {
    // IPv4-mapped and -compatible (::ffff:a.b.c.d, ::a.b.c.d) and NAT64 / 6to4 forms carry
    // an IPv4 address that is what gets reached.
    if let Some(v4) = ip.to_ipv4() {
        return non_public_v4(v4);
    }
    let segments = ip.segments();
    let embedded = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    match segments {
        [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => return non_public_v4(embedded(hi, lo)),
        [0x2002, hi, lo, ..] => return non_public_v4(embedded(hi, lo)),
        _ => {}
    }
    Some(match segments[0] {
        0xfe80..=0xfebf => "a link-local address",
        0xfec0..=0xfeff => "a site-local address",
        0xfc00..=0xfdff => "a private (unique local) address",
        0xff00..=0xffff => "a multicast address",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(text: &str) -> Option<&'static str> {
        non_public(text.parse().unwrap())
    }

    #[test]
    fn loopback_link_local_private_and_shared_addresses_are_not_public() {
        for ip in [
            "127.0.0.1",
            "127.5.5.5",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "100.127.255.254",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fe80::1",
            "fc00::1",
            "fd12:3456::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::ffff:10.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "2002:7f00:1::",
        ] {
            assert!(kind(ip).is_some(), "{ip} is not public");
        }
        assert_eq!(
            kind("169.254.169.254"),
            Some("a link-local address (such as a cloud metadata service)")
        );
    }

    #[test]
    fn public_addresses_pass() {
        for ip in [
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "192.0.2.1",
            "2001:db8::1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert_eq!(kind(ip), None, "{ip} is public");
        }
    }

    #[test]
    fn literal_hosts_are_refused_before_any_request_with_the_url_and_reason() {
        let url = Url::parse("http://169.254.169.254/latest/meta-data?token=secret").unwrap();
        let refused = Guard::PublicOnly.client_for(&url).unwrap_err().to_string();
        assert!(
            refused.starts_with(
                "cloop does not fetch http://169.254.169.254/latest/meta-data: 169.254.169.254 is a link-local address"
            ),
            "{refused}"
        );
        assert!(!refused.contains("secret"), "{refused}");
        for text in [
            "http://[::ffff:7f00:1]/",
            "https://10.0.0.8/x",
            "http://0.0.0.0:8080/",
        ] {
            let url = Url::parse(text).unwrap();
            assert!(Guard::PublicOnly.client_for(&url).is_err(), "{text}");
            assert!(Guard::Off.client_for(&url).is_ok(), "{text}");
        }
        let file = Url::parse("file:///etc/passwd").unwrap();
        assert!(Guard::Off.client_for(&file).is_err());
        assert!(
            Guard::PublicOnly
                .client_for(&Url::parse("https://lms.example.edu/x").unwrap())
                .is_ok()
        );
    }

    #[tokio::test]
    async fn a_name_resolving_to_loopback_is_refused() {
        let url = Url::parse("http://localhost:8080/jwks").unwrap();
        let refused = Guard::PublicOnly.check(&url).await.unwrap_err().to_string();
        assert!(
            refused.contains("localhost resolves only to addresses cloop does not fetch from"),
            "{refused}"
        );
        assert!(Guard::Off.check(&url).await.is_ok());
    }

    /// Every redirect hop is checked: a public page cannot bounce cloop to a private one.
    /// (The first hop here is loopback only because a test has no public server; the
    /// guarded client is used directly, past the literal check of `client_for`.)
    #[tokio::test]
    async fn redirects_to_private_addresses_are_refused() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let port = listener.local_addr().unwrap().port();
        let router = axum::Router::new()
            .route(
                "/metadata",
                axum::routing::get(|| async {
                    axum::response::Redirect::temporary("http://169.254.169.254/latest/meta-data/")
                }),
            )
            .route(
                "/named",
                axum::routing::get(move || async move {
                    axum::response::Redirect::temporary(&format!("http://localhost:{port}/x"))
                }),
            );
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        let refused = |path: &str| {
            let url = format!("{base}{path}");
            async move {
                let error = GUARDED.get(&url).send().await.unwrap_err();
                refusal(&error).expect("the guard refused").to_string()
            }
        };
        let metadata = refused("/metadata").await;
        assert!(
            metadata.starts_with("cloop does not fetch http://169.254.169.254/latest/meta-data/: 169.254.169.254 is a link-local address"),
            "{metadata}"
        );
        let named = refused("/named").await;
        assert!(named.contains("localhost resolves only to"), "{named}");
    }
}
