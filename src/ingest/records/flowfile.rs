//! portaudit's own flow files (`portaudit flows`, NDJSON and Parquet) read
//! back as inputs: each row's `flow_record` (NDJSON) or `rec_*` columns
//! (Parquet) are a flow whole ([`StoredFlow`]), added to the table as a later file's flows are
//! absorbed, so that the flow files of a run's shards audit as the shards'
//! captures do (docs/inputs.md#portaudit-flow-files).

use std::io::BufRead;

use arrow_array::{
    Array, Decimal128Array, Int64Array, RecordBatch, StringArray, TimestampNanosecondArray,
    UInt16Array, UInt32Array, UInt64Array, UInt8Array,
};
use serde::Deserialize;

use super::{Line, LineError, LineReader, RecordFault, Sink};
use crate::flow::StoredFlow;
use crate::ingest::CarriedInput;

/// A flows NDJSON line: only its `flow_record` is read.
#[derive(Deserialize)]
struct Row {
    flow_record: StoredFlow,
}

/// The last line of a flows NDJSON file: the inputs the flows came from.
#[derive(Deserialize)]
struct InputsRow {
    portaudit_inputs: Vec<CarriedInput>,
}

/// The key of a Parquet flow file's metadata, and the member of an
/// NDJSON flow file's last line, that list the inputs the flows were read
/// from ([`CarriedInput`]).
pub const INPUTS_KEY: &str = "portaudit_inputs";

/// Lines of a flows NDJSON file.
pub(super) struct NdjsonReader;

impl LineReader for NdjsonReader {
    fn line(&mut self, line: &[u8]) -> Result<Line, LineError> {
        if line.starts_with(b"{\"portaudit_inputs\"") {
            let row: Option<InputsRow> = super::json_line(line, "a portaudit inputs row")?;
            return Ok(row.map_or(Line::Other, |r| Line::Carried(r.portaudit_inputs)));
        }
        let Some(row): Option<Row> = super::json_line(line, "a portaudit flow row")? else {
            return Ok(Line::Other);
        };
        stored(&row.flow_record)
    }
}

fn stored(s: &StoredFlow) -> Result<Line, LineError> {
    let (key, stats, origin) = s
        .to_flow()
        .map_err(|why| LineError::new(RecordFault::BadValue, why))?;
    Ok(Line::Flow(key, Box::new(stats), origin))
}

/// Reads a flows Parquet file: its `rec_*` columns, a row group at a
/// time. Parquet's index is at the end of the file, so the file is held
/// whole while it is read: a flow file is the size of its flow table.
///
/// The `parquet` crate can panic on a corrupt file (an index that lies):
/// such a panic is contained here and counted as the file's damage, with
/// what was read before it kept.
pub(super) fn read_parquet(mut reader: impl BufRead, sink: &mut Sink) {
    let mut bytes = Vec::new();
    if let Err(e) = reader.read_to_end(&mut bytes) {
        return sink.unreadable(bytes.len() as u64, e);
    }
    let size = bytes.len() as u64;
    if let Err(why) = contained(|| read_parquet_bytes(bytes, sink)) {
        let why = format!("the Parquet reader failed on this file ({why}); the rest is not read");
        sink.fault(LineError::new(RecordFault::Malformed, why), size, None);
    }
}

/// Runs `f`, turning a panic in it into an error, without the panic's
/// message on stderr (other threads' panics print as ever).
fn contained<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    use std::cell::Cell;
    use std::panic::{self, AssertUnwindSafe};
    use std::sync::Once;
    thread_local! {
        static QUIET: Cell<bool> = const { Cell::new(false) };
    }
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if !QUIET.with(Cell::get) {
                previous(info);
            }
        }));
    });
    QUIET.with(|q| q.set(true));
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    QUIET.with(|q| q.set(false));
    result.map_err(|panic| {
        panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic".to_string())
    })
}

fn read_parquet_bytes(bytes: Vec<u8>, sink: &mut Sink) {
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use parquet::arrow::ProjectionMask;

    let size = bytes.len() as u64;
    let whole = |why: String| LineError::new(RecordFault::Malformed, why);
    let builder = match ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(bytes)) {
        Ok(b) => b,
        Err(e) => return sink.fault(whole(format!("not a Parquet file: {e}")), 0, None),
    };
    let carried = builder
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .and_then(|kv| kv.iter().find(|kv| kv.key == INPUTS_KEY))
        .and_then(|kv| kv.value.clone());
    if let Some(json) = carried {
        match serde_json::from_str::<Vec<CarriedInput>>(&json) {
            Ok(inputs) => sink.carried(inputs),
            Err(e) => {
                let why = format!("its {INPUTS_KEY} metadata cannot be read: {e}");
                sink.fault(LineError::new(RecordFault::BadHeader, why), 0, None);
            }
        }
    }
    let schema = builder.parquet_schema();
    let leaf =
        |name: &str| (0..schema.num_columns()).find(|&i| schema.column(i).path().string() == name);
    let mut leaves = Vec::new();
    // Layout 4 reads the key's sides, counts, times and protocols from
    // the readable columns; layouts 1 to 3 from rec_* columns of their own.
    let shared = leaf("rec_initiator_side").is_some();
    let (by_layout, optional): (&[&str], &[&str]) = match shared {
        true => (&crate::report::SHARED_COLUMNS, &[]),
        false => (&crate::report::KEYED_COLUMNS, &crate::report::APP_COLUMNS),
    };
    for name in record_columns(shared).chain(by_layout.iter().copied()) {
        match leaf(name) {
            Some(i) => leaves.push(i),
            None => {
                let why = format!("a Parquet file without a {name} column: no portaudit flow file");
                return sink.fault(LineError::new(RecordFault::BadHeader, why), 0, None);
            }
        }
    }
    // Written since layout versions 2 and 3; older files have none.
    leaves.extend(
        crate::report::SOURCE_COLUMNS
            .iter()
            .chain(optional)
            .chain(&["alpn", "client_said", "server_said"])
            .filter_map(|name| leaf(name)),
    );
    let mask = ProjectionMask::leaves(schema, leaves);
    let batches = match builder
        .with_projection(mask)
        .with_batch_size(crate::report::PARQUET_ROWS)
        .build()
    {
        Ok(b) => b,
        Err(e) => return sink.fault(whole(e.to_string()), 0, None),
    };
    let mut row = 0u64;
    for batch in batches {
        let batch = match batch {
            Ok(b) => b,
            Err(e) => {
                let why = format!("row {}: {e}; the rest of the file is not read", row + 1);
                return sink.fault(whole(why), size, None);
            }
        };
        let columns = match Columns::of(&batch) {
            Ok(c) => c,
            Err(why) => return sink.fault(LineError::new(RecordFault::BadHeader, why), 0, None),
        };
        for i in 0..batch.num_rows() {
            row += 1;
            match columns.row(i).and_then(|s| stored(&s)) {
                Ok(Line::Flow(key, stats, origin)) => sink.flow(key, *stats, origin),
                Ok(_) => {}
                Err(e) => {
                    let e = LineError::new(e.fault, format!("row {row}: {}", e.why));
                    sink.fault(e, 0, None)
                }
            }
        }
        sink.progress(0, batch.num_rows() as u64);
    }
    sink.progress(size, 0);
}

/// The names of the `rec_*` columns a stored flow is spread over: those
/// written today, or (`shared` false) those of layouts 1 to 3 less
/// [`crate::report::KEYED_COLUMNS`], which they had besides.
fn record_columns(shared: bool) -> impl Iterator<Item = &'static str> {
    use crate::report::{OPENED_COLUMNS, RECORD_COLUMNS};
    RECORD_COLUMNS
        .iter()
        .map(|(n, _)| *n)
        .filter(move |n| shared || *n != "rec_initiator_side")
        .chain(OPENED_COLUMNS.iter().copied())
}

/// Row `i` of column `a`, made by `v`, when the row has a value there.
fn opt<A: Array, T>(a: &A, i: usize, v: impl Fn() -> T) -> Option<T> {
    a.is_valid(i).then(v)
}

/// What a row lacks: the value of column `name`.
fn missing(name: &str) -> LineError {
    LineError::new(RecordFault::MissingField, format!("no {name}"))
}

/// `text`, a row's value of column `name`, as an address.
fn address(text: Option<&str>, name: &str) -> Result<std::net::IpAddr, LineError> {
    let text = text.ok_or_else(|| missing(name))?;
    text.parse().map_err(|_| {
        LineError::new(
            RecordFault::BadValue,
            format!("{name} {text:?} is no address"),
        )
    })
}

/// A batch's record columns, typed as written.
struct Columns<'a> {
    u8s: [&'a UInt8Array; 5],
    u32s: [&'a UInt32Array; 12],
    i64s: &'a Int64Array,
    times: [&'a Decimal128Array; 4],
    texts: [&'a StringArray; 5],
    /// The key's sides, counts, times, protocols and server name.
    sides: Sides<'a>,
    /// The source's input, unit and position (none in version 1 files).
    source: Option<(&'a StringArray, &'a StringArray, &'a UInt64Array)>,
    /// The ALPN offers (a readable column, written when a flow has one).
    alpn: Option<&'a StringArray>,
    /// The quotes of the client's and the server's first payloads
    /// (readable columns, written when a flow has one).
    said: Option<[&'a StringArray; 2]>,
}

/// Where a batch's key, counts and protocols are.
enum Sides<'a> {
    /// Layout 4: in the readable columns, by initiator, turned by
    /// `rec_initiator_side`; `first_seen` and `last_seen` where the
    /// rec_* times are empty.
    Shared {
        side: &'a UInt8Array,
        addrs: [&'a StringArray; 2],
        ports: [&'a UInt64Array; 2],
        counts: [&'a UInt64Array; 4],
        seen: [&'a TimestampNanosecondArray; 2],
        apps: [&'a StringArray; 2],
        name: &'a StringArray,
    },
    /// Layouts 1 to 3: in rec_* columns by the key's sides; the protocols
    /// and name in layout 3 only.
    Keyed {
        addrs: [&'a StringArray; 2],
        ports: [&'a UInt16Array; 2],
        counts: [&'a UInt64Array; 4],
        apps: Option<[&'a StringArray; 3]>,
    },
}

/// A stored flow's key sides, counts, times, protocols and name, as a
/// row gives them.
struct SideValues {
    a: std::net::IpAddr,
    a_port: u16,
    b: std::net::IpAddr,
    b_port: u16,
    packets: [u64; 2],
    bytes: [u64; 2],
    first_ns: Option<i128>,
    last_ns: Option<i128>,
    apps: Option<[String; 2]>,
    name: Option<String>,
    said: Option<[Option<String>; 2]>,
}

impl<'a> Columns<'a> {
    fn of(batch: &'a RecordBatch) -> Result<Columns<'a>, String> {
        fn get<'b, T: 'static>(batch: &'b RecordBatch, name: &str) -> Result<&'b T, String> {
            batch
                .column_by_name(name)
                .and_then(|c| c.as_any().downcast_ref::<T>())
                .ok_or_else(|| format!("{name} is not of the type portaudit writes"))
        }
        let many = |names: &[&str]| -> Result<Vec<&'a UInt32Array>, String> {
            names.iter().map(|n| get(batch, n)).collect()
        };
        let sides = match batch.column_by_name("rec_initiator_side") {
            Some(_) => Sides::Shared {
                side: get(batch, "rec_initiator_side")?,
                addrs: [get(batch, "initiator_ip")?, get(batch, "responder_ip")?],
                ports: [get(batch, "initiator_port")?, get(batch, "responder_port")?],
                counts: [
                    get(batch, "packets_sent")?,
                    get(batch, "packets_received")?,
                    get(batch, "bytes_sent")?,
                    get(batch, "bytes_received")?,
                ],
                seen: [get(batch, "first_seen")?, get(batch, "last_seen")?],
                apps: [get(batch, "client_app")?, get(batch, "server_app")?],
                name: get(batch, "server_name")?,
            },
            None => Sides::Keyed {
                addrs: [get(batch, "rec_a")?, get(batch, "rec_b")?],
                ports: [get(batch, "rec_a_port")?, get(batch, "rec_b_port")?],
                counts: [
                    get(batch, "rec_packets_ab")?,
                    get(batch, "rec_packets_ba")?,
                    get(batch, "rec_bytes_ab")?,
                    get(batch, "rec_bytes_ba")?,
                ],
                apps: {
                    let [ab, ba, name] = crate::report::APP_COLUMNS;
                    match batch.column_by_name(ab) {
                        None => None,
                        Some(_) => Some([get(batch, ab)?, get(batch, ba)?, get(batch, name)?]),
                    }
                },
            },
        };
        Ok(Columns {
            u8s: [
                get(batch, "rec_proto")?,
                get(batch, "rec_first_dir")?,
                get(batch, "rec_syn_dir")?,
                get(batch, "rec_synack_dir")?,
                get(batch, "rec_declared_dir")?,
            ],
            u32s: many(&[
                "rec_version",
                "rec_syns_ab",
                "rec_syns_ba",
                "rec_synacks_ab",
                "rec_synacks_ba",
                "rec_rsts_ab",
                "rec_rsts_ba",
                "rec_fins_ab",
                "rec_fins_ba",
                "rec_conn_rest",
                "rec_conn_open",
                "rec_tunnel_id",
            ])?
            .try_into()
            .expect("12 columns"),
            i64s: get(batch, "rec_conn_first")?,
            times: [
                get(batch, "rec_first_ns")?,
                get(batch, "rec_last_ns")?,
                get(batch, "rec_opened_ab_ns")?,
                get(batch, "rec_opened_ba_ns")?,
            ],
            texts: [
                get(batch, "rec_tunnel_kind")?,
                get(batch, "rec_tunnel_src")?,
                get(batch, "rec_tunnel_dst")?,
                get(batch, "rec_declared_basis")?,
                get(batch, "rec_carrier")?,
            ],
            sides,
            source: {
                let [input, unit, at] = crate::report::SOURCE_COLUMNS;
                match batch.column_by_name(input) {
                    None => None,
                    Some(_) => Some((get(batch, input)?, get(batch, unit)?, get(batch, at)?)),
                }
            },
            alpn: match batch.column_by_name("alpn") {
                None => None,
                Some(_) => Some(get(batch, "alpn")?),
            },
            said: match batch.column_by_name("client_said") {
                None => None,
                Some(_) => Some([get(batch, "client_said")?, get(batch, "server_said")?]),
            },
        })
    }

    /// Row `i`'s key sides, counts, times, protocols and name.
    fn sides(&self, i: usize) -> Result<SideValues, LineError> {
        let addr = |a: &StringArray, name: &str| address(opt(a, i, || a.value(i)), name);
        let count =
            |a: &UInt64Array, name: &str| opt(a, i, || a.value(i)).ok_or_else(|| missing(name));
        let text = |a: &StringArray| opt(a, i, || a.value(i).to_string());
        let time = |a: &Decimal128Array| opt(a, i, || a.value(i));
        match &self.sides {
            Sides::Shared {
                side,
                addrs,
                ports,
                counts,
                seen,
                apps,
                name,
            } => {
                let port = |a: &UInt64Array, name: &str| -> Result<u16, LineError> {
                    let p = count(a, name)?;
                    u16::try_from(p).map_err(|_| {
                        LineError::new(RecordFault::BadValue, format!("{name} {p} is no port"))
                    })
                };
                let ends = [
                    (
                        addr(addrs[0], "initiator_ip")?,
                        port(ports[0], "initiator_port")?,
                    ),
                    (
                        addr(addrs[1], "responder_ip")?,
                        port(ports[1], "responder_port")?,
                    ),
                ];
                let mut packets = [
                    count(counts[0], "packets_sent")?,
                    count(counts[1], "packets_received")?,
                ];
                let mut bytes = [
                    count(counts[2], "bytes_sent")?,
                    count(counts[3], "bytes_received")?,
                ];
                let mut apps = [
                    text(apps[0]).ok_or_else(|| missing("client_app"))?,
                    text(apps[1]).ok_or_else(|| missing("server_app"))?,
                ];
                let turned = match opt(*side, i, || side.value(i)) {
                    Some(0) => false,
                    Some(1) => true,
                    Some(n) => {
                        let why = format!("rec_initiator_side {n} is no side (0 or 1)");
                        return Err(LineError::new(RecordFault::BadValue, why));
                    }
                    None => return Err(missing("rec_initiator_side")),
                };
                let [mut a, mut b] = ends;
                let mut said = self.said.map(|[c, s]| [text(c), text(s)]);
                if turned {
                    std::mem::swap(&mut a, &mut b);
                    packets.reverse();
                    bytes.reverse();
                    apps.reverse();
                    if let Some(said) = &mut said {
                        said.reverse();
                    }
                }
                let seen_ns = |c: usize| opt(seen[c], i, || i128::from(seen[c].value(i)));
                Ok(SideValues {
                    a: a.0,
                    a_port: a.1,
                    b: b.0,
                    b_port: b.1,
                    packets,
                    bytes,
                    first_ns: time(self.times[0]).or_else(|| seen_ns(0)),
                    last_ns: time(self.times[1]).or_else(|| seen_ns(1)),
                    apps: (apps != ["none", "none"]).then_some(apps),
                    name: text(name),
                    said: said.filter(|s| *s != [None, None]),
                })
            }
            Sides::Keyed {
                addrs,
                ports,
                counts,
                apps,
            } => {
                let port = |a: &UInt16Array, name: &str| {
                    opt(a, i, || a.value(i)).ok_or_else(|| missing(name))
                };
                let (apps, name) = match apps {
                    Some([ab, ba, name]) => {
                        let apps = match (text(ab), text(ba)) {
                            (Some(ab), Some(ba)) => Some([ab, ba]),
                            (None, None) => None,
                            _ => {
                                return Err(missing(
                                    "rec_app_ab and rec_app_ba, one without the other",
                                ))
                            }
                        };
                        (apps, text(name))
                    }
                    None => (None, None),
                };
                Ok(SideValues {
                    a: addr(addrs[0], "rec_a")?,
                    a_port: port(ports[0], "rec_a_port")?,
                    b: addr(addrs[1], "rec_b")?,
                    b_port: port(ports[1], "rec_b_port")?,
                    packets: [
                        count(counts[0], "rec_packets_ab")?,
                        count(counts[1], "rec_packets_ba")?,
                    ],
                    bytes: [
                        count(counts[2], "rec_bytes_ab")?,
                        count(counts[3], "rec_bytes_ba")?,
                    ],
                    first_ns: time(self.times[0]),
                    last_ns: time(self.times[1]),
                    apps,
                    name,
                    said: None,
                })
            }
        }
    }

    /// Row `i` as a stored flow; what is missing or wrong, when something
    /// is.
    fn row(&self, i: usize) -> Result<StoredFlow, LineError> {
        let u8_at = |c: usize| opt(self.u8s[c], i, || self.u8s[c].value(i));
        let u32_at = |c: usize| opt(self.u32s[c], i, || self.u32s[c].value(i));
        let time_at = |c: usize| opt(self.times[c], i, || self.times[c].value(i));
        let text_at = |c: usize| opt(self.texts[c], i, || self.texts[c].value(i));
        let addr = |c: usize, name: &str| address(text_at(c), name);
        let pair = |a: usize, b: usize, name: &str| -> Result<[u32; 2], LineError> {
            Ok([
                u32_at(a).ok_or_else(|| missing(name))?,
                u32_at(b).ok_or_else(|| missing(name))?,
            ])
        };
        let tunnel = match text_at(0) {
            None => None,
            Some(kind) => Some(crate::flow::StoredTunnel {
                kind: kind.to_string(),
                src: addr(1, "rec_tunnel_src")?,
                dst: addr(2, "rec_tunnel_dst")?,
                id: u32_at(11),
            }),
        };
        let declared = match (u8_at(4), text_at(3)) {
            (Some(d), Some(b)) => Some((d, b.to_string())),
            _ => None,
        };
        let carrier = text_at(4).map(String::from);
        let source = match self.source {
            Some((input, unit, at)) if input.is_valid(i) => Some(crate::flow::StoredSource {
                input: input.value(i).to_string(),
                unit: opt(unit, i, || unit.value(i).to_string())
                    .ok_or_else(|| missing(crate::report::SOURCE_COLUMNS[1]))?,
                at: opt(at, i, || at.value(i))
                    .ok_or_else(|| missing(crate::report::SOURCE_COLUMNS[2]))?,
            }),
            _ => None,
        };
        let sides = self.sides(i)?;
        Ok(StoredFlow {
            v: u32_at(0).ok_or_else(|| missing("rec_version"))?,
            proto: u8_at(0).ok_or_else(|| missing("rec_proto"))?,
            a: sides.a,
            a_port: sides.a_port,
            b: sides.b,
            b_port: sides.b_port,
            packets: sides.packets,
            bytes: sides.bytes,
            first_ns: sides.first_ns,
            last_ns: sides.last_ns,
            first_dir: u8_at(1),
            syn_dir: u8_at(2),
            synack_dir: u8_at(3),
            syns: pair(1, 2, "rec_syns")?,
            synacks: pair(3, 4, "rec_synacks")?,
            rsts: pair(5, 6, "rec_rsts")?,
            fins: pair(7, 8, "rec_fins")?,
            conn_first: opt(self.i64s, i, || self.i64s.value(i)),
            conn_rest: u32_at(9).ok_or_else(|| missing("rec_conn_rest"))?,
            conn_open: u32_at(10),
            tunnel,
            declared,
            opened_ns: [time_at(2), time_at(3)],
            carrier,
            source,
            apps: sides.apps,
            name: sides.name,
            alpn: self.alpn.and_then(|a| opt(a, i, || a.value(i).to_string())),
            said: sides.said,
        })
    }
}
