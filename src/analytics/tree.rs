//! The resource tree of one group, flattened depth-first for tree tables, and the folder
//! sums that roll children into their parents.

use std::collections::{HashMap, HashSet};

use super::table::{Cell, TreePos};
use crate::store::ContentItemId;
use crate::store::reports::TreeItem;

/// One row of a flattened tree.
#[derive(Clone, Debug)]
pub struct Node {
    pub item: TreeItem,
    pub pos: TreePos,
    /// Itself and every descendant.
    pub subtree: Vec<ContentItemId>,
}

impl Node {
    /// The row's first cell: a content item links to its resource page; a row made for what
    /// is outside the tree (its position is below zero: discussions) has none.
    pub fn label(&self) -> Cell {
        if self.pos.id > 0 {
            Cell::Item(self.item.id, self.item.title.clone())
        } else {
            Cell::Text(self.item.title.clone())
        }
    }
}

/// The items of `group` and the folders above them, parents before children.
pub fn flatten(items: &[TreeItem], group: &str) -> Vec<Node> {
    flatten_where(items, |i| i.item_group == group)
}

/// Every item of the tree, parents before children.
pub fn flatten_all(items: &[TreeItem]) -> Vec<Node> {
    flatten_where(items, |_| true)
}

fn flatten_where(items: &[TreeItem], wanted: impl Fn(&TreeItem) -> bool) -> Vec<Node> {
    let by_id: HashMap<ContentItemId, &TreeItem> = items.iter().map(|i| (i.id, i)).collect();
    let mut keep: HashSet<ContentItemId> = HashSet::new();
    for item in items.iter().filter(|i| wanted(i)) {
        let mut cur = Some(item.id);
        while let Some(id) = cur {
            if !keep.insert(id) {
                break;
            }
            cur = by_id.get(&id).and_then(|i| i.parent_id);
        }
    }
    let mut children: HashMap<Option<ContentItemId>, Vec<&TreeItem>> = HashMap::new();
    for item in items.iter().filter(|i| keep.contains(&i.id)) {
        let parent = item.parent_id.filter(|p| keep.contains(p));
        children.entry(parent).or_default().push(item);
    }
    for list in children.values_mut() {
        list.sort_by_key(|i| (i.position, i.id));
    }
    let mut out = Vec::new();
    walk(None, 0, &children, &mut out);
    out
}

fn walk(
    parent: Option<ContentItemId>,
    depth: usize,
    children: &HashMap<Option<ContentItemId>, Vec<&TreeItem>>,
    out: &mut Vec<Node>,
) -> Vec<ContentItemId> {
    let mut below = Vec::new();
    for item in children.get(&parent).into_iter().flatten() {
        let at = out.len();
        out.push(Node {
            item: (*item).clone(),
            pos: TreePos {
                id: item.id.0,
                parent: parent.map(|p| p.0),
                depth,
                folder: children.contains_key(&Some(item.id)),
            },
            subtree: Vec::new(),
        });
        let mut subtree = vec![item.id];
        subtree.extend(walk(Some(item.id), depth + 1, children, out));
        below.extend(subtree.iter().copied());
        out[at].subtree = subtree;
    }
    below
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(id: i64, parent: Option<i64>, group: &str, position: i64) -> TreeItem {
        TreeItem {
            id: ContentItemId(id),
            parent_id: parent.map(ContentItemId),
            title: format!("i{id}"),
            item_group: group.into(),
            position,
        }
    }

    #[test]
    fn keeps_group_items_and_their_folders_in_order() {
        let items = vec![
            item(1, None, "content", 0),
            item(2, Some(1), "communication", 1),
            item(3, Some(1), "content", 0),
            item(4, None, "content", 1),
        ];
        let nodes = flatten(&items, "communication");
        let ids: Vec<i64> = nodes.iter().map(|n| n.item.id.0).collect();
        assert_eq!(ids, vec![1, 2]);
        assert!(nodes[0].pos.folder);
        assert_eq!(nodes[1].pos.depth, 1);
        let all = flatten(&items, "content");
        assert_eq!(
            all.iter().map(|n| n.item.id.0).collect::<Vec<_>>(),
            vec![1, 3, 4]
        );
        assert_eq!(all[0].subtree, vec![ContentItemId(1), ContentItemId(3)]);
    }
}
