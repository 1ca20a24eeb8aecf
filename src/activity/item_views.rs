//! The stored form of views per key (`rollup_student_day.item_views`, the hour rollups'
//! texts): `key:views` pairs joined by commas, read back and added to.

/// A student's views per item on one day as `rollup_student_day.item_views` keeps them:
/// `item:views` pairs joined by commas, in item order when cloop's writers wrote them, in
/// any order when SQL did. Returns the pairs by item, each item once; only cloop writes
/// the column, so a pair that does not parse is skipped rather than reported.
pub(crate) fn parse_item_views(text: &str) -> Vec<(i64, i64)> {
    summed(pairs(text).collect())
}

/// `(key, n)` pairs with each key once, its counts summed, in key order.
pub(crate) fn summed(mut pairs: Vec<(i64, i64)>) -> Vec<(i64, i64)> {
    pairs.sort_unstable();
    pairs.dedup_by(|later, kept| {
        let same = later.0 == kept.0;
        if same {
            kept.1 += later.1;
        }
        same
    });
    pairs
}

/// The items of a stored text (see [`parse_item_views`]), in stored order, an item repeated
/// if the text repeats it; without the parsing of counts and sorting a total needs.
pub(crate) fn viewed_items(text: &str) -> impl Iterator<Item = i64> + '_ {
    pairs(text).map(|(item, _)| item)
}

/// `stored` (see [`parse_item_views`]) with `added` (item, views) counted in; `first_view`
/// is told each item that `stored` did not hold (the student's first view of it that day).
pub(crate) fn add_item_views(
    stored: &str,
    added: &[(i64, i64)],
    mut first_view: impl FnMut(i64),
) -> String {
    let mut views = parse_item_views(stored);
    for (item, n) in added {
        match views.binary_search_by_key(item, |(i, _)| *i) {
            Ok(at) => views[at].1 += n,
            Err(at) => {
                first_view(*item);
                views.insert(at, (*item, *n));
            }
        }
    }
    item_views_text(&views)
}

/// `views` (item, views) in `rollup_student_day.item_views`'s form.
pub(crate) fn item_views_text(views: &[(i64, i64)]) -> String {
    let mut text = String::with_capacity(views.len() * 10);
    let mut digits = itoa::Buffer::new();
    for (item, n) in views {
        if !text.is_empty() {
            text.push(',');
        }
        text.push_str(digits.format(*item));
        text.push(':');
        text.push_str(digits.format(*n));
    }
    text
}

/// The `a:b` pairs of a stored text, in stored order; only cloop writes these columns, so
/// a pair that does not parse is skipped. Read in one pass over the bytes: a page can read
/// a hundred thousand of them.
pub(crate) fn pairs(text: &str) -> Pairs<'_> {
    Pairs {
        rest: text.as_bytes(),
    }
}

/// See [`pairs`].
pub(crate) struct Pairs<'a> {
    rest: &'a [u8],
}

impl Iterator for Pairs<'_> {
    type Item = (i64, i64);

    fn next(&mut self) -> Option<(i64, i64)> {
        while !self.rest.is_empty() {
            let pair = integer(self.rest, b':').and_then(|(key, after)| {
                let (value, rest) = integer(after?, b',')?;
                Some(((key, value), rest.unwrap_or_default()))
            });
            match pair {
                Some((pair, rest)) => {
                    self.rest = rest;
                    return Some(pair);
                }
                // Skipped up to the next pair.
                None => {
                    self.rest = match self.rest.iter().position(|&b| b == b',') {
                        Some(comma) => &self.rest[comma + 1..],
                        None => &[],
                    }
                }
            }
        }
        None
    }
}

/// A decimal integer as cloop writes them (digits, perhaps after a minus sign) at the start
/// of `text`, up to `end`: the number, and what follows `end` (none when the text ended).
fn integer(text: &[u8], end: u8) -> Option<(i64, Option<&[u8]>)> {
    let (sign, digits) = match text {
        [b'-', rest @ ..] => (-1, rest),
        _ => (1, text),
    };
    let mut n: i64 = 0;
    for (i, &b) in digits.iter().enumerate() {
        if b == end {
            return (i > 0).then_some((sign * n, Some(&digits[i + 1..])));
        }
        let d = b.wrapping_sub(b'0');
        if d > 9 || i == 18 {
            return None;
        }
        n = n * 10 + i64::from(d);
    }
    (!digits.is_empty()).then_some((sign * n, None))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn item_views_read_in_any_order_come_back_by_item() {
        assert_eq!(parse_item_views(""), vec![]);
        assert_eq!(
            parse_item_views("12:1,0:3,5:2"),
            vec![(0, 3), (5, 2), (12, 1)]
        );
        assert_eq!(
            parse_item_views("5:2,5:1"),
            vec![(5, 3)],
            "an item twice is summed"
        );
    }

    #[test]
    fn added_item_views_are_counted_in_and_an_items_first_view_is_told() {
        let mut first = Vec::new();
        assert_eq!(
            add_item_views("", &[(7, 1), (3, 2)], |i| first.push(i)),
            "3:2,7:1"
        );
        assert_eq!(first, vec![7, 3], "both items are new to an empty day");
        first.clear();
        assert_eq!(
            add_item_views("12:1,3:2", &[(3, 1), (0, 4)], |i| first.push(i)),
            "0:4,3:3,12:1"
        );
        assert_eq!(first, vec![0], "item 3 was viewed that day before");
        assert_eq!(add_item_views("3:2", &[], |_| unreachable!()), "3:2");
    }

    #[test]
    fn pairs_read_what_cloop_writes_and_skip_the_rest() {
        let read: Vec<(i64, i64)> =
            pairs("12:3,0:7,-4:1,x:2,5:,:6,9:10,1234567890123:42").collect();
        assert_eq!(
            read,
            [(12, 3), (0, 7), (-4, 1), (9, 10), (1_234_567_890_123, 42)]
        );
        assert_eq!(pairs("").count(), 0);
        let odd: Vec<(i64, i64)> =
            pairs("7,8:9:1,2:3,-:4,4:-,1234567890123456789:1,6:1234567890123456789,5:5").collect();
        assert_eq!(
            odd,
            [(2, 3), (5, 5)],
            "each pair that does not parse is skipped whole"
        );
        assert_eq!(pairs("3:4,").collect::<Vec<_>>(), [(3, 4)]);
        assert_eq!(pairs("3").count(), 0);
    }
}
