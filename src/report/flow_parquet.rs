//! Flows as Parquet (`portaudit flows -o flows.parquet`): the columns of
//! the CSV flows, typed, then each flow whole in `rec_*` columns (a
//! [`StoredFlow`] spread out, typed as well), which `audit` reads back
//! (src/ingest/records/flowfile.rs). Row groups of [`PARQUET_ROWS`], their
//! cells made on every core.

use std::io::{self, Write};
use std::sync::{Arc, Mutex};

use arrow_array::builder::{StringBuilder, UInt64Builder};
use arrow_array::{
    ArrayRef, Decimal128Array, Int64Array, StringArray, TimestampNanosecondArray, UInt16Array,
    UInt32Array, UInt64Array, UInt8Array,
};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::arrow_writer::{compute_leaves, ArrowColumnChunk, ArrowRowGroupWriterFactory};
use parquet::arrow::ArrowSchemaConverter;
use parquet::basic::Compression;
use parquet::errors::ParquetError;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::ColumnPath;
use rayon::prelude::*;

use super::records::{
    flow_columns, flow_value, FlowColumns, FlowFile, Value, CLIENT_APP_COLUMN, RPC_COLUMN,
    SERVER_APP_COLUMN, SERVER_NAME_COLUMN, TUNNEL_COLUMN,
};
use crate::audit::FlowVerdict;
use crate::flow::{FlowStats, Inputs, PackedKey, StoredFlow};
use crate::ingest::records::INPUTS_KEY;

/// Rows in a Parquet row group.
pub const PARQUET_ROWS: usize = 64 * 1024;

/// The columns a stored flow is spread over, in order, with their types.
pub const RECORD_COLUMNS: [(&str, DataType); 33] = [
    ("rec_version", DataType::UInt32),
    ("rec_proto", DataType::UInt8),
    ("rec_a", DataType::Utf8),
    ("rec_a_port", DataType::UInt16),
    ("rec_b", DataType::Utf8),
    ("rec_b_port", DataType::UInt16),
    ("rec_packets_ab", DataType::UInt64),
    ("rec_packets_ba", DataType::UInt64),
    ("rec_bytes_ab", DataType::UInt64),
    ("rec_bytes_ba", DataType::UInt64),
    ("rec_first_ns", DataType::Decimal128(38, 0)),
    ("rec_last_ns", DataType::Decimal128(38, 0)),
    ("rec_first_dir", DataType::UInt8),
    ("rec_syn_dir", DataType::UInt8),
    ("rec_synack_dir", DataType::UInt8),
    ("rec_syns_ab", DataType::UInt32),
    ("rec_syns_ba", DataType::UInt32),
    ("rec_synacks_ab", DataType::UInt32),
    ("rec_synacks_ba", DataType::UInt32),
    ("rec_rsts_ab", DataType::UInt32),
    ("rec_rsts_ba", DataType::UInt32),
    ("rec_fins_ab", DataType::UInt32),
    ("rec_fins_ba", DataType::UInt32),
    ("rec_conn_first", DataType::Int64),
    ("rec_conn_rest", DataType::UInt32),
    ("rec_conn_open", DataType::UInt32),
    ("rec_tunnel_kind", DataType::Utf8),
    ("rec_tunnel_src", DataType::Utf8),
    ("rec_tunnel_dst", DataType::Utf8),
    ("rec_tunnel_id", DataType::UInt32),
    ("rec_declared_dir", DataType::UInt8),
    ("rec_declared_basis", DataType::Utf8),
    ("rec_carrier", DataType::Utf8),
];

/// The two columns of when each direction's opening record began.
pub const OPENED_COLUMNS: [&str; 2] = ["rec_opened_ab_ns", "rec_opened_ba_ns"];

/// Where each flow was first seen (since layout version 2): the input as
/// named, how its positions count (`byte`, `line`, `packet`), the position.
pub const SOURCE_COLUMNS: [&str; 3] = ["rec_source_input", "rec_source_unit", "rec_source_at"];

/// Each direction's application protocol and the server name a client
/// named (since layout version 3).
pub const APP_COLUMNS: [&str; 3] = ["rec_app_ab", "rec_app_ba", "rec_name"];

/// Columns of a few distinct values, dictionary-encoded (then run-length:
/// a column of zeros and ones costs next to nothing to compress).
const DICTIONARY_COLUMNS: [&str; 15] = [
    "client_app",
    "server_app",
    "rec_app_ab",
    "rec_app_ba",
    "proto",
    "initiator_basis",
    "state",
    "tunnel",
    "rec_version",
    "rec_proto",
    "rec_tunnel_kind",
    "rec_declared_basis",
    "rec_carrier",
    "rec_source_input",
    "rec_source_unit",
];

/// Whether a column may be empty; the others are written without
/// definition levels, which costs less to encode and to read.
fn nullable(name: &str) -> bool {
    matches!(
        name,
        "first_seen"
            | "last_seen"
            | "tunnel"
            | "rpc"
            | "server_name"
            | "rec_first_ns"
            | "rec_last_ns"
            | "rec_first_dir"
            | "rec_syn_dir"
            | "rec_synack_dir"
            | "rec_conn_first"
            | "rec_conn_open"
            | "rec_tunnel_kind"
            | "rec_tunnel_src"
            | "rec_tunnel_dst"
            | "rec_tunnel_id"
            | "rec_declared_dir"
            | "rec_declared_basis"
            | "rec_carrier"
    )
}

/// How a readable column is typed.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Number,
    /// `TIMESTAMP(ns, UTC)`: the CSV's RFC 3339 time, typed.
    Time,
    Text,
}

/// The readable columns' types: ports and counts are numbers, the first
/// and last times timestamps, the rest text.
fn kind(name: &str) -> Kind {
    match name {
        "initiator_port" | "responder_port" | "connections" | "packets_sent" | "bytes_sent"
        | "packets_received" | "bytes_received" => Kind::Number,
        "first_seen" | "last_seen" => Kind::Time,
        _ => Kind::Text,
    }
}

fn time_type() -> DataType {
    DataType::Timestamp(arrow_schema::TimeUnit::Nanosecond, Some("UTC".into()))
}

/// Column `c` of [`RECORD_COLUMNS`], [`OPENED_COLUMNS`],
/// [`SOURCE_COLUMNS`] and [`APP_COLUMNS`] over `rows` (stored without their source, which
/// comes from `keyed`'s origins, named by `inputs`).
fn record_column(
    c: usize,
    rows: &[StoredFlow],
    keyed: &[&(PackedKey, FlowStats)],
    inputs: &Inputs,
) -> ArrayRef {
    let addrs = |f: &dyn Fn(&StoredFlow) -> std::net::IpAddr| -> ArrayRef {
        use std::fmt::Write as _;
        let mut b = StringBuilder::with_capacity(rows.len(), rows.len() * 16);
        for r in rows {
            write!(b, "{}", f(r)).expect("writing to a builder");
            b.append_value("");
        }
        Arc::new(b.finish())
    };
    let places = || keyed.iter().map(|(_, s)| inputs.get_place(s.origin()));
    let u8s = |f: &dyn Fn(&StoredFlow) -> Option<u8>| -> ArrayRef {
        Arc::new(rows.iter().map(f).collect::<UInt8Array>())
    };
    let u16s = |f: &dyn Fn(&StoredFlow) -> u16| -> ArrayRef {
        Arc::new(rows.iter().map(|r| Some(f(r))).collect::<UInt16Array>())
    };
    let u32s = |f: &dyn Fn(&StoredFlow) -> Option<u32>| -> ArrayRef {
        Arc::new(rows.iter().map(f).collect::<UInt32Array>())
    };
    let u64s = |f: &dyn Fn(&StoredFlow) -> u64| -> ArrayRef {
        Arc::new(rows.iter().map(|r| Some(f(r))).collect::<UInt64Array>())
    };
    let times = |f: &dyn Fn(&StoredFlow) -> Option<i128>| -> ArrayRef {
        let a: Decimal128Array = rows.iter().map(f).collect();
        Arc::new(a.with_precision_and_scale(38, 0).expect("38 digits"))
    };
    let texts = |f: &dyn Fn(&StoredFlow) -> Option<String>| -> ArrayRef {
        Arc::new(rows.iter().map(f).collect::<StringArray>())
    };
    match c {
        0 => u32s(&|r| Some(r.v)),
        1 => u8s(&|r| Some(r.proto)),
        2 => addrs(&|r| r.a),
        3 => u16s(&|r| r.a_port),
        4 => addrs(&|r| r.b),
        5 => u16s(&|r| r.b_port),
        6 => u64s(&|r| r.packets[0]),
        7 => u64s(&|r| r.packets[1]),
        8 => u64s(&|r| r.bytes[0]),
        9 => u64s(&|r| r.bytes[1]),
        10 => times(&|r| r.first_ns),
        11 => times(&|r| r.last_ns),
        12 => u8s(&|r| r.first_dir),
        13 => u8s(&|r| r.syn_dir),
        14 => u8s(&|r| r.synack_dir),
        15 => u32s(&|r| Some(r.syns[0])),
        16 => u32s(&|r| Some(r.syns[1])),
        17 => u32s(&|r| Some(r.synacks[0])),
        18 => u32s(&|r| Some(r.synacks[1])),
        19 => u32s(&|r| Some(r.rsts[0])),
        20 => u32s(&|r| Some(r.rsts[1])),
        21 => u32s(&|r| Some(r.fins[0])),
        22 => u32s(&|r| Some(r.fins[1])),
        23 => Arc::new(rows.iter().map(|r| r.conn_first).collect::<Int64Array>()),
        24 => u32s(&|r| Some(r.conn_rest)),
        25 => u32s(&|r| r.conn_open),
        26 => texts(&|r| r.tunnel.as_ref().map(|t| t.kind.clone())),
        27 => texts(&|r| r.tunnel.as_ref().map(|t| t.src.to_string())),
        28 => texts(&|r| r.tunnel.as_ref().map(|t| t.dst.to_string())),
        29 => u32s(&|r| r.tunnel.as_ref().and_then(|t| t.id)),
        30 => u8s(&|r| r.declared.as_ref().map(|d| d.0)),
        31 => texts(&|r| r.declared.as_ref().map(|d| d.1.clone())),
        32 => texts(&|r| r.carrier.clone()),
        33 => times(&|r| r.opened_ns[0]),
        34 => times(&|r| r.opened_ns[1]),
        35 => Arc::new(StringArray::from_iter(
            places().map(|p| p.map(|(input, _)| input.name.as_str())),
        )),
        36 => Arc::new(StringArray::from_iter(
            places().map(|p| p.map(|(input, _)| input.unit.label())),
        )),
        37 => Arc::new(UInt64Array::from_iter(
            places().map(|p| p.map(|(_, at)| at)),
        )),
        38 => texts(&|r| r.apps.as_ref().map(|a| a[0].clone())),
        39 => texts(&|r| r.apps.as_ref().map(|a| a[1].clone())),
        40 => texts(&|r| r.name.clone()),
        _ => unreachable!("{c} is past the record's columns"),
    }
}

/// Writes the flows and their records as Parquet.
pub fn write_flows_parquet<W: Write>(
    mut out: W,
    flows: &[FlowVerdict],
    inputs: &Inputs,
    file: &FlowFile<'_>,
) -> io::Result<()> {
    let stored = file.flows;
    let (mut names, _) = flow_columns(flows, FlowColumns::Flows, false);
    // Where each flow was first seen is in the rec_source_* columns,
    // typed, rather than as the CSV's text.
    names.retain(|n| *n != "source");
    let mut fields: Vec<Field> = names
        .iter()
        .map(|n| match kind(n) {
            Kind::Number => Field::new(*n, DataType::UInt64, nullable(n)),
            Kind::Time => Field::new(*n, time_type(), nullable(n)),
            Kind::Text => Field::new(*n, DataType::Utf8, nullable(n)),
        })
        .collect();
    fields.extend(
        RECORD_COLUMNS
            .iter()
            .map(|(n, t)| Field::new(*n, t.clone(), nullable(n))),
    );
    fields.extend(
        OPENED_COLUMNS
            .iter()
            .map(|n| Field::new(*n, DataType::Decimal128(38, 0), true)),
    );
    fields.push(Field::new(SOURCE_COLUMNS[0], DataType::Utf8, true));
    fields.push(Field::new(SOURCE_COLUMNS[1], DataType::Utf8, true));
    fields.push(Field::new(SOURCE_COLUMNS[2], DataType::UInt64, true));
    fields.extend(APP_COLUMNS.map(|n| Field::new(n, DataType::Utf8, true)));
    let schema = Arc::new(Schema::new(fields));
    let mut props = WriterProperties::builder()
        .set_compression(Compression::LZ4_RAW)
        // Most columns are nearly unique per flow (addresses, ports,
        // times, Community IDs): dictionaries cost time and save little.
        .set_dictionary_enabled(false)
        .set_max_row_group_size(PARQUET_ROWS);
    // A few take a handful of values (the input's name on every row):
    // a dictionary makes them almost free to encode and compress.
    for name in DICTIONARY_COLUMNS {
        props = props.set_column_dictionary_enabled(ColumnPath::from(name), true);
    }
    // The inputs read, with what was wrong with them: an audit of this
    // file says so as an audit of them would.
    let carried = serde_json::to_string(file.carried).map_err(io::Error::other)?;
    let props = props
        .set_key_value_metadata(Some(vec![KeyValue::new(INPUTS_KEY.to_string(), carried)]))
        .build();
    // Columns are encoded on every core (parquet's ArrowColumnWriter),
    // into a buffer (the writer wants an output it can send between
    // threads) emptied into `out` after each row group.
    let props = Arc::new(props);
    let parquet_schema = ArrowSchemaConverter::new()
        .with_coerce_types(props.coerce_types())
        .convert(&schema)
        .map_err(io_error)?;
    let buffer = Drain::default();
    let mut writer =
        SerializedFileWriter::new(buffer.clone(), parquet_schema.root_schema_ptr(), props)
            .map_err(io_error)?;
    let factory = ArrowRowGroupWriterFactory::new(&writer, Arc::clone(&schema));
    let readable = names.len();
    let record =
        RECORD_COLUMNS.len() + OPENED_COLUMNS.len() + SOURCE_COLUMNS.len() + APP_COLUMNS.len();
    // The readable columns: those of the CSV (src/report/records.rs).
    let shown: Vec<usize> = (0..readable)
        .map(|c| match names[c] {
            "tunnel" => TUNNEL_COLUMN,
            "rpc" => RPC_COLUMN,
            "client_app" => CLIENT_APP_COLUMN,
            "server_app" => SERVER_APP_COLUMN,
            "server_name" => SERVER_NAME_COLUMN,
            _ => c,
        })
        .collect();
    let no_inputs = Inputs::new();
    for (batch_no, batch) in flows.chunks(PARQUET_ROWS).enumerate() {
        let base = batch_no * PARQUET_ROWS;
        let keyed = &stored[base..base + batch.len()];
        // Sources are written from the stats (no name copied per row).
        let records: Vec<StoredFlow> = keyed
            .par_iter()
            .map(|(k, s)| StoredFlow::of(k, s, &no_inputs))
            .collect();
        let writers = factory.create_column_writers(batch_no).map_err(io_error)?;
        let chunks: Vec<ArrowColumnChunk> = writers
            .into_par_iter()
            .enumerate()
            .map(|(c, mut w)| -> Result<ArrowColumnChunk, ParquetError> {
                let array: ArrayRef = match shown.get(c) {
                    Some(&col) => readable_column(batch, col, kind(names[c])),
                    None => record_column(c - readable, &records, keyed, inputs),
                };
                for leaf in compute_leaves(schema.field(c), &array)? {
                    w.write(&leaf)?;
                }
                w.close()
            })
            .collect::<Result<_, _>>()
            .map_err(io_error)?;
        debug_assert_eq!(chunks.len(), readable + record);
        let mut group = writer.next_row_group().map_err(io_error)?;
        for chunk in chunks {
            chunk.append_to_row_group(&mut group).map_err(io_error)?;
        }
        group.close().map_err(io_error)?;
        buffer.empty_into(&mut out)?;
    }
    writer.close().map_err(io_error)?;
    buffer.empty_into(&mut out)?;
    out.flush()
}

/// Readable column `col` ([`flow_value`]) of a batch of flows: numbers or
/// text, made straight into the array.
fn readable_column(batch: &[FlowVerdict], col: usize, kind: Kind) -> ArrayRef {
    use std::fmt::Write as _;
    let mut text = String::new();
    // No readable column names an input (the source is in rec_source_*).
    let no_inputs = Inputs::new();
    let value = |v: &FlowVerdict, text: &mut String| {
        text.clear();
        flow_value(v, col, &no_inputs, text)
    };
    match kind {
        Kind::Time => {
            // Nanoseconds as i64 reach 2262; a later (or earlier than
            // 1677) time is left empty here, and kept whole in
            // rec_first_ns.
            let a: TimestampNanosecondArray = batch
                .iter()
                .map(|v| match value(v, &mut text) {
                    Value::Time(t) => i64::try_from(t.0).ok(),
                    _ => None,
                })
                .collect();
            Arc::new(a.with_timezone("UTC"))
        }
        Kind::Number => {
            let mut b = UInt64Builder::with_capacity(batch.len());
            for v in batch {
                match value(v, &mut text) {
                    Value::Number(n) => b.append_value(n),
                    _ => b.append_null(),
                }
            }
            Arc::new(b.finish())
        }
        Kind::Text => {
            let mut b = StringBuilder::with_capacity(batch.len(), batch.len() * 24);
            for v in batch {
                match value(v, &mut text) {
                    Value::Text => b.append_value(&text),
                    Value::Str(s) => b.append_value(s),
                    Value::Number(n) => b.append_value(n.to_string()),
                    Value::Time(t) => {
                        write!(b, "{t}").expect("writing to a builder");
                        b.append_value("");
                    }
                    Value::Missing => b.append_null(),
                }
            }
            Arc::new(b.finish())
        }
    }
}

/// A Parquet error as the I/O error it carries, or as one.
fn io_error(e: ParquetError) -> io::Error {
    match e {
        ParquetError::External(e) => match e.downcast::<io::Error>() {
            Ok(e) => *e,
            Err(e) => io::Error::other(e),
        },
        e => io::Error::other(e),
    }
}

/// Bytes written by one thread and taken by another.
#[derive(Clone, Default)]
struct Drain(Arc<Mutex<Vec<u8>>>);

impl Drain {
    fn empty_into(&self, out: &mut impl Write) -> io::Result<()> {
        let mut buf = self.0.lock().unwrap_or_else(|e| e.into_inner());
        out.write_all(&buf)?;
        buf.clear();
        Ok(())
    }
}

impl Write for Drain {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let mut buf = self.0.lock().unwrap_or_else(|e| e.into_inner());
        buf.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
