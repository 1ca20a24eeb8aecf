//! The page shell every server-rendered page shares.

use maud::{DOCTYPE, Markup, html};

/// A complete HTML page with cloop's stylesheet and no third-party requests.
pub fn page(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " — cloop" }
                link rel="stylesheet" href="/static/cloop.css";
            }
            body {
                main { (body) }
            }
        }
    }
}
