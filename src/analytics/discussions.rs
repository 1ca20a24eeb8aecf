//! Discussions outside the content tree (Ultra's have no `contentId`): each with its stored
//! posts, and their rows under a "Discussions" group of the Communication page.

use std::collections::{HashMap, HashSet};

use super::table::{Cell, Row, TreePos, pct};
use super::tree::{Node, flatten_all};
use crate::store::content::ItemGroup;
use crate::store::forums::Discussion;
use crate::store::reports::{PostRow, TreeItem};
use crate::store::{ContentItemId, CourseId, EpochMs, Store, StoreResult, UserId};

/// The tree node of the "Discussions" group; a discussion's node is below it (content
/// items' nodes are their positive ids).
const GROUP_NODE: i64 = -1;

/// A discussion outside the tree and its posts (author, time), not removed.
#[derive(Clone, Debug)]
pub struct LooseDiscussion {
    pub forum: Discussion,
    pub posts: Vec<(Option<UserId>, EpochMs)>,
}

impl LooseDiscussion {
    /// Posts in `[from, to)`.
    pub fn posts_in(&self, from: EpochMs, to: EpochMs) -> i64 {
        self.posts
            .iter()
            .filter(|(_, at)| *at >= from && *at < to)
            .count() as i64
    }

    /// Posts written by `user`.
    pub fn posts_by(&self, user: UserId) -> i64 {
        self.posts.iter().filter(|(u, _)| *u == Some(user)).count() as i64
    }

    /// The distinct students (not staff) who posted in `[from, to)`.
    pub fn posters(&self, from: EpochMs, to: EpochMs, staff: &HashSet<UserId>) -> usize {
        self.posts
            .iter()
            .filter(|(_, at)| *at >= from && *at < to)
            .filter_map(|(u, _)| u.filter(|u| !staff.contains(u)))
            .collect::<HashSet<_>>()
            .len()
    }
}

/// The course's discussions outside the tree with their posts among `posts` (the course's
/// or some people's, as [`Store::course_posts`] gives them, which the caller has read for
/// its own counts too), by title.
pub async fn loose_discussions(
    store: &Store,
    course: CourseId,
    posts: &[PostRow],
) -> StoreResult<Vec<LooseDiscussion>> {
    let forums = store.discussions_outside_tree(course).await?;
    Ok(forums
        .into_iter()
        .map(|forum| LooseDiscussion {
            posts: posts
                .iter()
                .filter(|p| p.forum_id == forum.id)
                .map(|p| (p.user_id, p.posted_at))
                .collect(),
            forum,
        })
        .collect())
}

/// Per bucket, the posts of each discussion and the students who wrote them.
#[derive(Debug)]
pub struct BucketedDiscussions {
    rows: Vec<(Discussion, Vec<i64>, Vec<HashSet<UserId>>)>,
    buckets: usize,
}

impl BucketedDiscussions {
    pub fn new(
        discussions: Vec<LooseDiscussion>,
        buckets: usize,
        bucket_of: impl Fn(EpochMs) -> Option<usize>,
        staff: &HashSet<UserId>,
    ) -> Self {
        let rows = discussions
            .into_iter()
            .map(|d| {
                let mut posts = vec![0; buckets];
                let mut posters = vec![HashSet::new(); buckets];
                for (user, at) in &d.posts {
                    if let Some(b) = bucket_of(*at) {
                        posts[b] += 1;
                        if let Some(u) = user.filter(|u| !staff.contains(u)) {
                            posters[b].insert(u);
                        }
                    }
                }
                (d.forum, posts, posters)
            })
            .collect();
        Self { rows, buckets }
    }

    /// The items whose page views stand for a discussion's.
    pub fn viewed_items(&self) -> impl Iterator<Item = ContentItemId> + '_ {
        self.rows
            .iter()
            .filter_map(|(forum, _, _)| forum.views_item)
    }

    /// All discussions' posts per bucket.
    pub fn post_totals(&self) -> Vec<i64> {
        let mut sum = vec![0; self.buckets];
        for (_, posts, _) in &self.rows {
            sum.iter_mut().zip(posts).for_each(|(a, b)| *a += b);
        }
        sum
    }

    /// The group row and one row per discussion, counting posts (shares of `grand`).
    pub fn post_rows(&self, grand: i64) -> Vec<Row> {
        if self.rows.is_empty() {
            return Vec::new();
        }
        let mut out = vec![row(None, "Discussions", self.post_totals(), grand)];
        for (forum, posts, _) in &self.rows {
            out.push(row(Some(forum), &forum.title, posts.clone(), grand));
        }
        out
    }

    /// The group row and one row per discussion, counting the page views of its item in
    /// `views` (per item, per bucket), as shares of `grand`; blank for a discussion no
    /// activity has named (its views are not known), and the group's when none is known.
    pub fn view_rows(&self, views: &HashMap<ContentItemId, Vec<i64>>, grand: i64) -> Vec<Row> {
        if self.rows.is_empty() {
            return Vec::new();
        }
        let counted = |known: bool, r: Row| if known { r } else { blank(r) };
        let any = self.rows.iter().any(|(f, _, _)| f.views_item.is_some());
        let mut out = vec![counted(
            any,
            row(None, "Discussions", self.view_totals(views), grand),
        )];
        for (forum, _, _) in &self.rows {
            let r = row(
                Some(forum),
                &forum.title,
                self.views_of(forum, views),
                grand,
            );
            out.push(counted(forum.views_item.is_some(), r));
        }
        out
    }

    /// All discussions' page views per bucket, from `views` (per item, per bucket).
    pub fn view_totals(&self, views: &HashMap<ContentItemId, Vec<i64>>) -> Vec<i64> {
        let mut sum = vec![0; self.buckets];
        for (forum, _, _) in &self.rows {
            sum.iter_mut()
                .zip(self.views_of(forum, views))
                .for_each(|(a, b)| *a += b);
        }
        sum
    }

    fn views_of(&self, forum: &Discussion, views: &HashMap<ContentItemId, Vec<i64>>) -> Vec<i64> {
        forum
            .views_item
            .and_then(|item| views.get(&item))
            .cloned()
            .unwrap_or_else(|| vec![0; self.buckets])
    }

    /// Per bucket, the students who posted in the discussion or viewed it (its item's
    /// viewers in `viewers`, per item, per bucket).
    fn students_of(
        &self,
        forum: &Discussion,
        posters: &[HashSet<UserId>],
        viewers: &HashMap<ContentItemId, Vec<HashSet<UserId>>>,
    ) -> Vec<HashSet<UserId>> {
        let mut sets = posters.to_vec();
        if let Some(seen) = forum.views_item.and_then(|item| viewers.get(&item)) {
            sets.iter_mut().zip(seen).for_each(|(a, b)| a.extend(b));
        }
        sets
    }

    /// All discussions' students (posters and viewers) per bucket.
    pub fn student_sets(
        &self,
        viewers: &HashMap<ContentItemId, Vec<HashSet<UserId>>>,
    ) -> Vec<HashSet<UserId>> {
        let mut sets = vec![HashSet::new(); self.buckets];
        for (forum, _, posters) in &self.rows {
            let own = self.students_of(forum, posters, viewers);
            sets.iter_mut().zip(own).for_each(|(a, b)| a.extend(b));
        }
        sets
    }

    /// The group row and one row per discussion, counting the students who posted in it or
    /// viewed it (shares of `all`, the students active anywhere on the page).
    pub fn student_rows(
        &self,
        viewers: &HashMap<ContentItemId, Vec<HashSet<UserId>>>,
        all: usize,
    ) -> Vec<Row> {
        if self.rows.is_empty() {
            return Vec::new();
        }
        let counted = |sets: &[HashSet<UserId>]| -> (Vec<i64>, i64) {
            let per = sets.iter().map(|s| s.len() as i64).collect();
            (
                per,
                sets.iter().flatten().collect::<HashSet<_>>().len() as i64,
            )
        };
        let (per, total) = counted(&self.student_sets(viewers));
        let mut out = vec![row_with_total(None, "Discussions", per, total, all as i64)];
        for (forum, _, posters) in &self.rows {
            let (per, total) = counted(&self.students_of(forum, posters, viewers));
            out.push(row_with_total(
                Some(forum),
                &forum.title,
                per,
                total,
                all as i64,
            ));
        }
        out
    }
}

/// `r` with its counts blank: not known.
fn blank(mut r: Row) -> Row {
    r.cells[1..].fill(Cell::Num(None, 0));
    r
}

fn row(forum: Option<&Discussion>, title: &str, values: Vec<i64>, grand: i64) -> Row {
    let total = values.iter().sum();
    row_with_total(forum, title, values, total, grand)
}

fn row_with_total(
    forum: Option<&Discussion>,
    title: &str,
    values: Vec<i64>,
    total: i64,
    grand: i64,
) -> Row {
    let mut cells = vec![Cell::Text(title.to_string())];
    cells.extend(values.into_iter().map(Cell::Int));
    cells.push(Cell::Int(total));
    cells.push(pct(total as f64, grand as f64));
    Row {
        cells,
        day: None,
        tree: Some(position(forum)),
    }
}

/// The tree position of the group row (`None`) or of a discussion's row.
fn position(forum: Option<&Discussion>) -> TreePos {
    match forum {
        None => TreePos {
            id: GROUP_NODE,
            parent: None,
            depth: 0,
            folder: true,
        },
        Some(f) => TreePos {
            id: GROUP_NODE - f.id.0,
            parent: Some(GROUP_NODE),
            depth: 1,
            folder: false,
        },
    }
}

/// Every resource whose views a per-resource table counts: the content tree's items, then
/// the discussions outside it whose views are known.
pub async fn resource_nodes(store: &Store, course: CourseId) -> StoreResult<Vec<Node>> {
    let mut nodes = flatten_all(&store.content_tree(course).await?);
    nodes.extend(discussion_nodes(
        &store.discussions_outside_tree(course).await?,
    ));
    Ok(nodes)
}

/// Tree nodes for the discussions among `forums` whose views are known (activity named
/// their item), under a "Discussions" group, for the tables that count views per resource
/// from the items' rollups; none when no discussion's views are known. The group's item id
/// is its (negative) position, which no stored item has.
pub fn discussion_nodes(forums: &[Discussion]) -> Vec<Node> {
    let known: Vec<(&Discussion, ContentItemId)> = forums
        .iter()
        .filter_map(|f| f.views_item.map(|item| (f, item)))
        .collect();
    if known.is_empty() {
        return Vec::new();
    }
    let node = |id: ContentItemId, title: &str, pos: TreePos, subtree| Node {
        item: TreeItem {
            id,
            parent_id: None,
            title: title.to_string(),
            item_group: ItemGroup::Communication.as_str().into(),
            position: 0,
        },
        pos,
        subtree,
    };
    let mut out = vec![node(
        ContentItemId(GROUP_NODE),
        "Discussions",
        position(None),
        known.iter().map(|(_, item)| *item).collect(),
    )];
    for (forum, item) in known {
        out.push(node(item, &forum.title, position(Some(forum)), vec![item]));
    }
    out
}
