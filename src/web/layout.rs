//! The page shell every server-rendered page shares.

use maud::{DOCTYPE, Markup, Render, html};

/// Markup set into a larger page with room reserved for it and what follows it: a page of
/// megabytes is then copied into the next buffer once, not again at each doubling.
pub struct Roomy<'a>(pub &'a Markup);

impl Render for Roomy<'_> {
    fn render_to(&self, out: &mut String) {
        const AFTER: usize = 16 * 1024;
        out.reserve(self.0.0.len() + AFTER);
        out.push_str(&self.0.0);
    }
}

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
                main { (Roomy(&body)) }
            }
        }
    }
}
