//! The sort and search of each table of a page, read from the request (`sort=<table>:<n>`,
//! `sort=<table>:-<n>`, `q.<table>=<words>`), and the links that change one of them.

use std::convert::Infallible;

use axum::extract::{FromRequestParts, OriginalUri};
use axum::http::request::Parts;
use url::form_urlencoded;

use super::links::Links;
use crate::analytics::{Search, Sort, TableView};
use crate::web::session::TOKEN_PARAM;

const SORT: &str = "sort";
const SEARCH_PREFIX: &str = "q.";

/// The page's path and every query parameter it was asked with, but the session token and
/// the CSV choice. Links that change one table's sort or search keep all the others as they
/// came, whichever view, filter or table they belong to. Bad values are no sort, no search.
#[derive(Clone, Default)]
pub struct TableQuery {
    path: String,
    pairs: Vec<(String, String)>,
}

impl<S: Send + Sync> FromRequestParts<S> for TableQuery {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let uri = match parts.extensions.get::<OriginalUri>() {
            Some(original) => &original.0,
            None => &parts.uri,
        };
        Ok(Self::parse(uri.path(), uri.query().unwrap_or_default()))
    }
}

impl TableQuery {
    pub fn parse(path: &str, query: &str) -> Self {
        let pairs = form_urlencoded::parse(query.as_bytes())
            .filter(|(k, _)| k != TOKEN_PARAM && k != "csv")
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        Self {
            path: path.to_string(),
            pairs,
        }
    }

    /// How the table `id` is to be shown; a later parameter wins over an earlier one.
    pub fn view(&self, id: &str) -> TableView {
        let sort = self
            .pairs
            .iter()
            .rev()
            .find_map(|(k, v)| (k == SORT).then(|| sort_of(v, id)).flatten())
            .and_then(Sort::parse);
        let search_key = search_key(id);
        let search = self
            .pairs
            .iter()
            .rev()
            .find(|(k, _)| *k == search_key)
            .map(|(_, v)| Search::parse(v))
            .unwrap_or_default();
        TableView { sort, search }
    }

    /// The page's parameters but those named `keys`: what a form on the page that sets
    /// `keys` keeps as hidden fields, so choosing there keeps the page's other choices.
    pub fn pairs_except<'a>(
        &'a self,
        keys: &'a [&str],
    ) -> impl Iterator<Item = &'a (String, String)> + 'a {
        self.pairs
            .iter()
            .filter(|(k, _)| !keys.contains(&k.as_str()))
    }

    /// The parameters that give the table `id` its sort and search, for its CSV link.
    pub fn own_params(&self, id: &str) -> Vec<(String, String)> {
        let view = self.view(id);
        let mut own = Vec::new();
        if let Some(sort) = view.sort {
            own.push((SORT.to_string(), format!("{id}:{}", sort.param())));
        }
        if !view.search.is_empty() {
            own.push((search_key(id), view.search.text().to_string()));
        }
        own
    }

    /// The page again with the table `id` sorted by `sort` (`None`: in its own order), every
    /// other parameter kept, scrolled to the table.
    pub fn sort_href(&self, links: &Links, id: &str, sort: Option<Sort>) -> String {
        let mut query = self.kept(links, |k, v| k == SORT && sort_of(v, id).is_some());
        if let Some(sort) = sort {
            query.append_pair(SORT, &format!("{id}:{}", sort.param()));
        }
        format!("{}?{}#fig-{id}", self.path, query.finish())
    }

    /// The page again without the search of the table `id`.
    pub fn clear_search_href(&self, links: &Links, id: &str) -> String {
        let key = search_key(id);
        let query = self.kept(links, |k, _| k == key).finish();
        format!("{}?{query}#fig-{id}", self.path)
    }

    /// Where the search form of the table `id` goes, and the hidden fields it keeps (the
    /// token and every other parameter); the search box itself is named [`search_key`].
    pub fn search_form(&self, links: &Links, id: &str) -> (String, Vec<(String, String)>) {
        let key = search_key(id);
        let mut fields = vec![(TOKEN_PARAM.to_string(), links.token.clone())];
        fields.extend(self.pairs.iter().filter(|(k, _)| *k != key).cloned());
        (format!("{}#fig-{id}", self.path), fields)
    }

    fn kept(
        &self,
        links: &Links,
        dropped: impl Fn(&str, &str) -> bool,
    ) -> form_urlencoded::Serializer<'static, String> {
        let mut query = form_urlencoded::Serializer::new(String::new());
        query.append_pair(TOKEN_PARAM, &links.token);
        for (k, v) in self.pairs.iter().filter(|(k, v)| !dropped(k, v)) {
            query.append_pair(k, v);
        }
        query
    }
}

/// The name of the search box of the table `id`.
pub fn search_key(id: &str) -> String {
    format!("{SEARCH_PREFIX}{id}")
}

/// The column part of a `sort` value naming the table `id`.
fn sort_of<'a>(value: &'a str, id: &str) -> Option<&'a str> {
    value
        .rsplit_once(':')
        .and_then(|(table, column)| (table == id).then_some(column))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::CourseId;

    fn links() -> Links {
        Links {
            course: CourseId(1),
            token: "T".into(),
            cohort: Vec::new(),
            page: TableQuery::default(),
            plain_query: Default::default(),
        }
    }

    #[test]
    fn each_table_reads_its_own_sort_and_search() {
        let q = TableQuery::parse(
            "/courses/1/students",
            "s=T&week=3&sort=students:-4&sort=over-time:1&q.students=Ann%20Lee&csv=students",
        );
        let v = q.view("students");
        assert_eq!(v.sort.map(Sort::param).as_deref(), Some("-4"));
        assert_eq!(v.search.text(), "Ann Lee");
        assert_eq!(
            q.view("over-time").sort.map(Sort::param).as_deref(),
            Some("1")
        );
        assert_eq!(q.view("other"), TableView::default());
        assert_eq!(
            q.own_params("students"),
            [
                ("sort".into(), "students:-4".into()),
                ("q.students".into(), "Ann Lee".into())
            ]
        );
    }

    #[test]
    fn a_sort_link_keeps_every_other_parameter() {
        let q = TableQuery::parse(
            "/courses/1/students",
            "s=OLD&week=3&group=7&sort=students:2&sort=over-time:1&q.students=ann",
        );
        let href = q.sort_href(&links(), "students", Sort::parse("-2"));
        assert_eq!(
            href,
            "/courses/1/students?s=T&week=3&group=7&sort=over-time%3A1&q.students=ann\
             &sort=students%3A-2#fig-students"
        );
        let (action, fields) = q.search_form(&links(), "students");
        assert_eq!(action, "/courses/1/students#fig-students");
        let names: Vec<&str> = fields.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["s", "week", "group", "sort", "sort"]);
        assert_eq!(
            q.clear_search_href(&links(), "students"),
            "/courses/1/students?s=T&week=3&group=7&sort=students%3A2&sort=over-time%3A1#fig-students"
        );
    }

    #[test]
    fn junk_parameters_are_no_sort_and_no_search() {
        let q = TableQuery::parse("/p", "sort=students&sort=:&sort=students:x&q.=y&sort=%FF");
        assert_eq!(q.view("students"), TableView::default());
    }
}
