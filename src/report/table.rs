//! Plain-text tables for people: aligned columns, long cells wrapped at
//! commas and spaces. Widths depend only on the data, never on the terminal,
//! so the same input prints the same bytes everywhere.

use std::io::{self, Write};

/// A column: its header and the width past which its cells wrap.
pub struct Column {
    pub header: &'static str,
    pub wrap: Option<usize>,
}

impl Column {
    pub const fn new(header: &'static str) -> Column {
        Column { header, wrap: None }
    }

    pub const fn wrapped(header: &'static str, width: usize) -> Column {
        Column {
            header,
            wrap: Some(width),
        }
    }
}

/// Writes `rows` under `columns`, two spaces between columns, no trailing
/// spaces.
pub fn write_table<W: Write>(
    out: &mut W,
    columns: &[Column],
    rows: &[Vec<String>],
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
    write_row(out, &widths, &headers)?;
    for row in &cells {
        write_row(out, &widths, row)?;
    }
    Ok(())
}

fn write_row<W: Write>(out: &mut W, widths: &[usize], row: &[Vec<String>]) -> io::Result<()> {
    let height = row.iter().map(Vec::len).max().unwrap_or(0).max(1);
    for line in 0..height {
        let mut text = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i > 0 {
                text.push_str("  ");
            }
            let part = cell.get(line).map_or("", String::as_str);
            text.push_str(part);
            let pad = widths[i].saturating_sub(part.chars().count());
            text.extend(std::iter::repeat_n(' ', pad));
        }
        writeln!(out, "{}", text.trim_end())?;
    }
    Ok(())
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
}
