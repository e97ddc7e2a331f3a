//! Plain-text tables for people: aligned columns, long cells wrapped at
//! commas and spaces. Widths depend only on the data, so the same input
//! prints the same bytes everywhere, unless a caller asks a table to fit a
//! terminal's width ([`fit`]).

use std::io::{self, Write};

/// A column: its header, the width past which its cells wrap, and which
/// side its cells keep to (numbers read best aligned right).
#[derive(Clone, Copy, Debug)]
pub struct Column {
    pub header: &'static str,
    pub wrap: Option<usize>,
    pub right: bool,
}

impl Column {
    pub const fn new(header: &'static str) -> Column {
        Column {
            header,
            wrap: None,
            right: false,
        }
    }

    pub const fn wrapped(header: &'static str, width: usize) -> Column {
        Column {
            header,
            wrap: Some(width),
            right: false,
        }
    }

    pub const fn number(header: &'static str) -> Column {
        Column {
            header,
            wrap: None,
            right: true,
        }
    }
}

/// The columns narrowed so that the table of `rows` fits in `width`
/// characters: the wrapped columns give up room, the widest first, down to
/// [`MIN_WRAP`] each; other columns keep their width. Without a width, or
/// when the table fits, the columns as they are.
pub fn fit(columns: &[Column], rows: &[Vec<String>], width: Option<usize>) -> Vec<Column> {
    let mut out = columns.to_vec();
    let Some(width) = width else {
        return out;
    };
    // Each column's natural width: its longest cell, within its wrap.
    let natural = |i: usize, wrap: Option<usize>| {
        let longest = rows
            .iter()
            .filter_map(|r| r.get(i))
            .map(|t| t.chars().count())
            .chain(std::iter::once(columns[i].header.len()))
            .max()
            .unwrap_or(0);
        wrap.map_or(longest, |w| longest.min(w))
    };
    let mut widths: Vec<usize> = (0..out.len()).map(|i| natural(i, out[i].wrap)).collect();
    let gaps = 2 * out.len().saturating_sub(1);
    while widths.iter().sum::<usize>() + gaps > width {
        let widest = (0..out.len())
            .filter(|&i| out[i].wrap.is_some() && widths[i] > MIN_WRAP)
            .max_by_key(|&i| (widths[i], i));
        let Some(i) = widest else { break };
        let excess = widths.iter().sum::<usize>() + gaps - width;
        widths[i] = widths[i].saturating_sub(excess).max(MIN_WRAP);
        out[i].wrap = Some(widths[i]);
    }
    out
}

/// Wrapped columns are not narrowed below this by [`fit`].
pub const MIN_WRAP: usize = 20;

/// Colours a cell: given its column and text, the ANSI SGR parameters to
/// show it with (`"31"` for red), or `None` for plain text. Widths are
/// measured on the plain text, so colour never moves a column.
pub type Painter<'a> = &'a dyn Fn(usize, &str) -> Option<&'static str>;

/// Writes `rows` under `columns`, two spaces between columns, no trailing
/// spaces.
pub fn write_table<W: Write>(
    out: &mut W,
    columns: &[Column],
    rows: &[Vec<String>],
) -> io::Result<()> {
    write_table_painted(out, columns, rows, "", &|_, _| None)
}

/// [`write_table`], each line led by `indent`, cells coloured by `paint`
/// (headers are never coloured).
pub fn write_table_painted<W: Write>(
    out: &mut W,
    columns: &[Column],
    rows: &[Vec<String>],
    indent: &str,
    paint: Painter,
) -> io::Result<()> {
    let cells: Vec<Vec<Vec<String>>> = rows
        .iter()
        .map(|row| {
            columns
                .iter()
                .zip(row)
                .map(|(c, text)| match c.wrap {
                    Some(w) => wrap(text, w),
                    None => vec![text.clone()],
                })
                .collect()
        })
        .collect();
    let widths: Vec<usize> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            cells
                .iter()
                .flat_map(|row| row[i].iter())
                .map(|l| l.chars().count())
                .chain(std::iter::once(c.header.len()))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let headers: Vec<Vec<String>> = columns.iter().map(|c| vec![c.header.to_string()]).collect();
    let layout = Layout {
        columns,
        widths: &widths,
        indent,
    };
    layout.write_row(out, &headers, &|_, _| None)?;
    for row in &cells {
        layout.write_row(out, row, paint)?;
    }
    Ok(())
}

struct Layout<'a> {
    columns: &'a [Column],
    widths: &'a [usize],
    indent: &'a str,
}

impl Layout<'_> {
    fn write_row<W: Write>(
        &self,
        out: &mut W,
        row: &[Vec<String>],
        paint: Painter,
    ) -> io::Result<()> {
        let height = row.iter().map(Vec::len).max().unwrap_or(0).max(1);
        for line in 0..height {
            let mut text = String::from(self.indent);
            // Trailing spaces are cut, colour codes or not.
            let mut pending = 0;
            for (i, cell) in row.iter().enumerate() {
                if i > 0 {
                    pending += 2;
                }
                let part = cell.get(line).map_or("", String::as_str);
                let pad = self.widths[i].saturating_sub(part.chars().count());
                let (before, after) = if self.columns[i].right {
                    (pad, 0)
                } else {
                    (0, pad)
                };
                if !part.is_empty() {
                    text.extend(std::iter::repeat_n(' ', pending + before));
                    pending = 0;
                    match paint(i, part) {
                        Some(sgr) => text.push_str(&format!("\x1b[{sgr}m{part}\x1b[0m")),
                        None => text.push_str(part),
                    }
                } else {
                    pending += before;
                }
                pending += after;
            }
            writeln!(out, "{}", text.trim_end())?;
        }
        Ok(())
    }
}

/// Greedy wrap at `width` characters, breaking after commas and at spaces;
/// a word longer than `width` stays whole.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut words: Vec<&str> = Vec::new();
    let mut start = 0;
    for (i, ch) in text.char_indices() {
        if ch == ',' || ch == ' ' {
            let end = i + ch.len_utf8();
            words.push(&text[start..end]);
            start = end;
        }
    }
    if start < text.len() {
        words.push(&text[start..]);
    }
    let mut lines: Vec<String> = Vec::new();
    let mut cur = String::new();
    for w in words {
        if !cur.is_empty() && cur.trim_end().chars().count() + w.trim_end().chars().count() > width
        {
            lines.push(cur.trim_end().to_string());
            cur.clear();
        }
        cur.push_str(w);
    }
    if !cur.trim_end().is_empty() || lines.is_empty() {
        lines.push(cur.trim_end().to_string());
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_after_commas_and_spaces() {
        assert_eq!(
            wrap("7676,7677,32001-65535", 10),
            ["7676,7677,", "32001-65535"]
        );
        assert_eq!(wrap("from the console", 8), ["from the", "console"]);
        assert_eq!(wrap("", 8), [""]);
        assert_eq!(wrap("averyveryverylongword", 5), ["averyveryverylongword"]);
    }

    #[test]
    fn aligns_columns_without_trailing_spaces() {
        let cols = [
            Column::new("ID"),
            Column::wrapped("PORTS", 6),
            Column::new("WHY"),
        ];
        let rows = vec![
            vec!["a".into(), "1,2,3,4".into(), "x".into()],
            vec!["bbb".into(), "22".into(), String::new()],
        ];
        let mut out = Vec::new();
        write_table(&mut out, &cols, &rows).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "ID   PORTS   WHY\na    1,2,3,  x\n     4\nbbb  22\n"
        );
    }

    #[test]
    fn numbers_align_right_and_colour_does_not_move_columns() {
        let cols = [Column::new("K"), Column::number("N"), Column::new("X")];
        let rows = vec![
            vec!["a".into(), "5".into(), "y".into()],
            vec!["b".into(), "123".into(), String::new()],
        ];
        let mut plain = Vec::new();
        write_table_painted(&mut plain, &cols, &rows, "  ", &|_, _| None).unwrap();
        assert_eq!(
            String::from_utf8(plain).unwrap(),
            "  K    N  X\n  a    5  y\n  b  123\n"
        );
        let mut painted = Vec::new();
        let red = |col: usize, _: &str| (col == 1).then_some("31");
        write_table_painted(&mut painted, &cols, &rows, "", &red).unwrap();
        assert_eq!(
            String::from_utf8(painted).unwrap(),
            "K    N  X\na    \x1b[31m5\x1b[0m  y\nb  \x1b[31m123\x1b[0m\n"
        );
    }

    #[test]
    fn fit_narrows_wrapped_columns_to_the_width_and_no_further() {
        let cols = [
            Column::new("ID"),
            Column::wrapped("TEXT", 60),
            Column::wrapped("MORE", 40),
        ];
        let long = "word ".repeat(30);
        let rows = vec![vec!["x".to_string(), long.clone(), long]];
        let natural = fit(&cols, &rows, None);
        assert_eq!((natural[1].wrap, natural[2].wrap), (Some(60), Some(40)));
        let fitted = fit(&cols, &rows, Some(80));
        let mut out = Vec::new();
        write_table(&mut out, &fitted, &rows).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.lines().all(|l| l.chars().count() <= 80), "{text}");
        // Far too narrow: every wrapped column at its floor, no panic.
        let floor = fit(&cols, &rows, Some(10));
        assert_eq!(
            (floor[1].wrap, floor[2].wrap),
            (Some(MIN_WRAP), Some(MIN_WRAP))
        );
    }
}
