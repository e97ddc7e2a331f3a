//! Reading a findings report back (CSV, NDJSON or a JSON array, as
//! `audit -o` writes them), for `portaudit diff` and baselines: each row
//! as its columns' text, missing values empty.

use std::collections::BTreeMap;

use super::finding_key::KEY_COLUMNS;

/// One finding as a report holds it: column name to text (a JSON `null`,
/// or an empty CSV cell, is the empty string).
pub type FindingRow = BTreeMap<String, String>;

/// Where a findings report could not be read, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadError {
    /// `line N` or `line N, column C` (1-based), or empty for the whole
    /// file.
    pub place: String,
    pub message: String,
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.place.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.place, self.message)
        }
    }
}

/// Reads the rows of a findings report, whichever format it is in
/// (recognised by its first byte: `[` JSON, `{` NDJSON, else CSV with
/// portaudit's header).
pub fn read_findings(text: &str) -> Result<Vec<FindingRow>, ReadError> {
    let rows = match text.trim_start().as_bytes().first() {
        None => Vec::new(),
        Some(b'[') => read_json(text)?,
        Some(b'{') => read_ndjson(text)?,
        Some(_) => read_csv(text)?,
    };
    for (i, row) in rows.iter().enumerate() {
        if !row.contains_key("kind") {
            return Err(ReadError {
                place: format!("finding {}", i + 1),
                message: "no \"kind\": this is not a portaudit findings report".into(),
            });
        }
    }
    Ok(rows)
}

fn read_json(text: &str) -> Result<Vec<FindingRow>, ReadError> {
    let values: Vec<serde_json::Value> = serde_json::from_str(text).map_err(json_error)?;
    values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            row_of(v).ok_or_else(|| ReadError {
                place: format!("finding {}", i + 1),
                message: "not a JSON object".into(),
            })
        })
        .collect()
}

fn read_ndjson(text: &str) -> Result<Vec<FindingRow>, ReadError> {
    let mut rows = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let place = || format!("line {}", n + 1);
        let v: serde_json::Value = serde_json::from_str(line).map_err(|e| ReadError {
            place: place(),
            message: e.to_string(),
        })?;
        rows.push(row_of(&v).ok_or_else(|| ReadError {
            place: place(),
            message: "not a JSON object".into(),
        })?);
    }
    Ok(rows)
}

fn read_csv(text: &str) -> Result<Vec<FindingRow>, ReadError> {
    let mut r = csv::ReaderBuilder::new().from_reader(text.as_bytes());
    let header: Vec<String> = r
        .headers()
        .map_err(csv_error)?
        .iter()
        .map(str::to_string)
        .collect();
    if let Some(missing) = KEY_COLUMNS.iter().find(|c| !header.iter().any(|h| h == *c)) {
        return Err(ReadError {
            place: "line 1".into(),
            message: format!(
                "the header has no {missing:?} column: this is not a portaudit findings report"
            ),
        });
    }
    let mut rows = Vec::new();
    for record in r.records() {
        let record = record.map_err(csv_error)?;
        rows.push(
            header
                .iter()
                .cloned()
                .zip(record.iter().map(str::to_string))
                .collect(),
        );
    }
    Ok(rows)
}

/// A JSON object's values as text: strings as they are, numbers printed,
/// `null` empty.
fn row_of(v: &serde_json::Value) -> Option<FindingRow> {
    let obj = v.as_object()?;
    Some(
        obj.iter()
            .map(|(k, v)| {
                let text = match v {
                    serde_json::Value::Null => String::new(),
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (k.clone(), text)
            })
            .collect(),
    )
}

fn json_error(e: serde_json::Error) -> ReadError {
    ReadError {
        place: format!("line {}, column {}", e.line(), e.column()),
        message: e.to_string(),
    }
}

fn csv_error(e: csv::Error) -> ReadError {
    let place = e
        .position()
        .map(|p| format!("line {}", p.line()))
        .unwrap_or_default();
    ReadError {
        place,
        message: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_format_reads_to_the_same_rows() {
        let csv = "severity,kind,profile,rule_id,src_ip,src_role,dst_ip,dst_role,proto,dst_port\n\
                   error,unexpected-port,air,,10.0.0.1,responder,10.0.0.2,console,tcp,22\n";
        let ndjson = "{\"severity\":\"error\",\"kind\":\"unexpected-port\",\"profile\":\"air\",\"rule_id\":null,\"src_ip\":\"10.0.0.1\",\"src_role\":\"responder\",\"dst_ip\":\"10.0.0.2\",\"dst_role\":\"console\",\"proto\":\"tcp\",\"dst_port\":22}\n";
        let json = format!("[{}]", ndjson.trim());
        let a = read_findings(csv).unwrap();
        assert_eq!(a, read_findings(ndjson).unwrap());
        assert_eq!(a, read_findings(&json).unwrap());
        assert_eq!(a[0]["dst_port"], "22");
        assert_eq!(a[0]["rule_id"], "");
        assert!(read_findings("").unwrap().is_empty());
    }

    #[test]
    fn bad_input_says_where() {
        let e = read_findings("{\"kind\":1}\n{oops\n").unwrap_err();
        assert_eq!(e.place, "line 2");
        let e = read_findings("a,b\n1,2\n").unwrap_err();
        assert!(e.message.contains("not a portaudit findings report"), "{e}");
        let e = read_findings("[{\"severity\":\"error\"}]").unwrap_err();
        assert!(e.to_string().contains("finding 1"), "{e}");
    }
}
