//! Flows as Parquet (`portaudit flows -o flows.parquet`): the columns of
//! the CSV flows, typed, then each flow whole in `rec_*` columns (a
//! [`StoredFlow`] spread out, typed as well), which `audit` reads back
//! (src/ingest/records/flowfile.rs). Row groups of [`PARQUET_ROWS`], their
//! cells made on every core.

use std::io::{self, Write};
use std::sync::Arc;

use arrow_array::builder::{StringBuilder, UInt64Builder};
use arrow_array::{
    ArrayRef, Decimal128Array, Int64Array, StringArray, TimestampNanosecondArray, UInt32Array,
    UInt64Array, UInt8Array,
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
    flow_columns, flow_value, FlowColumns, FlowFile, Value, ALPN_COLUMN, CLIENT_APP_COLUMN,
    CLIENT_SAID_COLUMN, DNS_NAME_COLUMN, RPC_COLUMN, SERVER_APP_COLUMN, SERVER_NAME_COLUMN,
    SERVER_SAID_COLUMN, TUNNEL_COLUMN,
};
use crate::audit::FlowVerdict;
use crate::flow::{FlowStats, Inputs, PackedKey, StoredFlow};
use crate::ingest::records::INPUTS_KEY;

/// Rows in a Parquet row group.
pub const PARQUET_ROWS: usize = 64 * 1024;

/// Rows whose cells are made and encoded together, column by column: few
/// enough that their records stay in cache while every column is taken
/// from them (a row group's records in one go were 1.2 times slower).
const SLICE_ROWS: usize = 8 * 1024;

/// The columns a stored flow is spread over, in order, with their types,
/// beside the readable columns it shares with the CSV (layout 4, since
/// stop 32): the key's sides, the counts by direction, the times, each
/// side's protocol and the server name are read back from `initiator_ip` ...
/// `bytes_received`, `first_seen`, `last_seen`, `client_app`, `server_app`
/// and `server_name`, turned by `rec_initiator_side` (0: the initiator is
/// the key's lower side, its `a`).
pub const RECORD_COLUMNS: [(&str, DataType); 26] = [
    ("rec_version", DataType::UInt32),
    ("rec_proto", DataType::UInt8),
    ("rec_initiator_side", DataType::UInt8),
    // Set only where first_seen (i64 nanoseconds) cannot hold the time.
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

/// The readable columns a stored flow is read back from (layout 4).
pub const SHARED_COLUMNS: [&str; 13] = [
    "initiator_ip",
    "initiator_port",
    "responder_ip",
    "responder_port",
    "packets_sent",
    "bytes_sent",
    "packets_received",
    "bytes_received",
    "first_seen",
    "last_seen",
    "client_app",
    "server_app",
    "server_name",
];

/// The columns of layouts 1 to 3 that repeated what the readable columns
/// say, by the key's sides (read, no longer written).
pub const KEYED_COLUMNS: [&str; 8] = [
    "rec_a",
    "rec_a_port",
    "rec_b",
    "rec_b_port",
    "rec_packets_ab",
    "rec_packets_ba",
    "rec_bytes_ab",
    "rec_bytes_ba",
];

/// The two columns of when each direction's opening record began.
pub const OPENED_COLUMNS: [&str; 2] = ["rec_opened_ab_ns", "rec_opened_ba_ns"];

/// Where each flow was first seen (since layout version 2): the input as
/// named, how its positions count (`byte`, `line`, `packet`), the position.
pub const SOURCE_COLUMNS: [&str; 3] = ["rec_source_input", "rec_source_unit", "rec_source_at"];

/// Each direction's application protocol and the server name a client
/// named (layout 3; read, no longer written: layout 4 reads them from
/// [`SHARED_COLUMNS`]).
pub const APP_COLUMNS: [&str; 3] = ["rec_app_ab", "rec_app_ba", "rec_name"];

/// Columns of a few distinct values, dictionary-encoded (then run-length:
/// a column of zeros and ones costs next to nothing to compress).
const DICTIONARY_COLUMNS: [&str; 14] = [
    "client_app",
    "server_app",
    "rec_initiator_side",
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
            | "alpn"
            | "client_said"
            | "server_said"
            | "dns_name"
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

/// Column `c` of [`RECORD_COLUMNS`], [`OPENED_COLUMNS`] and
/// [`SOURCE_COLUMNS`] over `rows` (stored without their source, which
/// comes from `keyed`'s origins, named by `inputs`), the flows of `shown`.
fn record_column(
    c: usize,
    rows: &[StoredFlow],
    shown: &[FlowVerdict],
    keyed: &[&(PackedKey, FlowStats)],
    inputs: &Inputs,
) -> ArrayRef {
    let places = || keyed.iter().map(|(_, s)| inputs.get_place(s.origin()));
    let u8s = |f: &dyn Fn(&StoredFlow) -> Option<u8>| -> ArrayRef {
        Arc::new(rows.iter().map(f).collect::<UInt8Array>())
    };
    let u32s = |f: &dyn Fn(&StoredFlow) -> Option<u32>| -> ArrayRef {
        Arc::new(rows.iter().map(f).collect::<UInt32Array>())
    };
    let decimals = |a: Decimal128Array| -> ArrayRef {
        Arc::new(a.with_precision_and_scale(38, 0).expect("38 digits"))
    };
    let times = |f: &dyn Fn(&StoredFlow) -> Option<i128>| decimals(rows.iter().map(f).collect());
    // A time the readable column cannot hold as it is kept.
    let unshown = |stored: Option<i128>, shown: Option<crate::capture::Timestamp>| {
        let readable = shown.and_then(|t| i64::try_from(t.0).ok());
        (stored != readable.map(i128::from))
            .then_some(stored)
            .flatten()
    };
    let texts = |f: &dyn Fn(&StoredFlow) -> Option<String>| -> ArrayRef {
        Arc::new(rows.iter().map(f).collect::<StringArray>())
    };
    match c {
        0 => u32s(&|r| Some(r.v)),
        1 => u8s(&|r| Some(r.proto)),
        2 => Arc::new(
            rows.iter()
                .zip(shown)
                .map(|(r, v)| Some(initiator_side(r, &v.flow)))
                .collect::<UInt8Array>(),
        ),
        3 => decimals(
            rows.iter()
                .zip(shown)
                .map(|(r, v)| unshown(r.first_ns, v.flow.first_ts))
                .collect(),
        ),
        4 => decimals(
            rows.iter()
                .zip(shown)
                .map(|(r, v)| unshown(r.last_ns, v.flow.last_ts))
                .collect(),
        ),
        5 => u8s(&|r| r.first_dir),
        6 => u8s(&|r| r.syn_dir),
        7 => u8s(&|r| r.synack_dir),
        8 => u32s(&|r| Some(r.syns[0])),
        9 => u32s(&|r| Some(r.syns[1])),
        10 => u32s(&|r| Some(r.synacks[0])),
        11 => u32s(&|r| Some(r.synacks[1])),
        12 => u32s(&|r| Some(r.rsts[0])),
        13 => u32s(&|r| Some(r.rsts[1])),
        14 => u32s(&|r| Some(r.fins[0])),
        15 => u32s(&|r| Some(r.fins[1])),
        16 => Arc::new(rows.iter().map(|r| r.conn_first).collect::<Int64Array>()),
        17 => u32s(&|r| Some(r.conn_rest)),
        18 => u32s(&|r| r.conn_open),
        19 => texts(&|r| r.tunnel.as_ref().map(|t| t.kind.clone())),
        20 => texts(&|r| r.tunnel.as_ref().map(|t| t.src.to_string())),
        21 => texts(&|r| r.tunnel.as_ref().map(|t| t.dst.to_string())),
        22 => u32s(&|r| r.tunnel.as_ref().and_then(|t| t.id)),
        23 => u8s(&|r| r.declared.as_ref().map(|d| d.0)),
        24 => texts(&|r| r.declared.as_ref().map(|d| d.1.clone())),
        25 => texts(&|r| r.carrier.clone()),
        26 => times(&|r| r.opened_ns[0]),
        27 => times(&|r| r.opened_ns[1]),
        28 => Arc::new(StringArray::from_iter(
            places().map(|p| p.map(|(input, _)| input.name.as_str())),
        )),
        29 => Arc::new(StringArray::from_iter(
            places().map(|p| p.map(|(input, _)| input.unit.label())),
        )),
        30 => Arc::new(UInt64Array::from_iter(
            places().map(|p| p.map(|(_, at)| at)),
        )),
        _ => unreachable!("{c} is past the record's columns"),
    }
}

/// Which side of the key is the initiator of `flow`, the stored flow
/// `r`: 0 when the readable columns, as they are, are the key's `a` to
/// `b`; 1 when they are `b` to `a`. (A flow whose sides are one address
/// and port is told by its counts.)
fn initiator_side(r: &StoredFlow, flow: &crate::flow::Flow) -> u8 {
    let as_keyed = flow.initiator.addr == r.a
        && flow.initiator.port == r.a_port
        && flow.responder.addr == r.b
        && flow.responder.port == r.b_port
        && flow.packets == r.packets
        && flow.bytes == r.bytes;
    u8::from(!as_keyed)
}

/// Writes the flows and their records as Parquet.
pub fn write_flows_parquet<W: Write + Send>(
    out: W,
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
    let schema = Arc::new(Schema::new(fields));
    let mut props = WriterProperties::builder()
        .set_compression(Compression::LZ4_RAW)
        // Most columns are nearly unique per flow (addresses, ports,
        // times, Community IDs): dictionaries cost time and save little.
        .set_dictionary_enabled(false)
        .set_max_row_group_row_count(Some(PARQUET_ROWS));
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
    // then appended to the file in order, one row group at a time.
    let props = Arc::new(props);
    let parquet_schema = ArrowSchemaConverter::new()
        .with_coerce_types(props.coerce_types())
        .convert(&schema)
        .map_err(io_error)?;
    let mut writer = SerializedFileWriter::new(out, parquet_schema.root_schema_ptr(), props)
        .map_err(io_error)?;
    let factory =
        ArrowRowGroupWriterFactory::try_new(&writer, Arc::clone(&schema)).map_err(io_error)?;
    let readable = names.len();
    let record = RECORD_COLUMNS.len() + OPENED_COLUMNS.len() + SOURCE_COLUMNS.len();
    // The readable columns: those of the CSV (src/report/records.rs).
    let shown: Vec<usize> = (0..readable)
        .map(|c| match names[c] {
            "tunnel" => TUNNEL_COLUMN,
            "rpc" => RPC_COLUMN,
            "client_app" => CLIENT_APP_COLUMN,
            "server_app" => SERVER_APP_COLUMN,
            "server_name" => SERVER_NAME_COLUMN,
            "alpn" => ALPN_COLUMN,
            "client_said" => CLIENT_SAID_COLUMN,
            "server_said" => SERVER_SAID_COLUMN,
            "dns_name" => DNS_NAME_COLUMN,
            _ => c,
        })
        .collect();
    let no_inputs = Inputs::new();
    for (batch_no, batch) in flows.chunks(PARQUET_ROWS).enumerate() {
        let base = batch_no * PARQUET_ROWS;
        let mut writers = factory.create_column_writers(batch_no).map_err(io_error)?;
        for (slice_no, slice) in batch.chunks(SLICE_ROWS).enumerate() {
            let from = base + slice_no * SLICE_ROWS;
            let keyed = &stored[from..from + slice.len()];
            // Sources are written from the stats (no name copied per row).
            let records: Vec<StoredFlow> = keyed
                .par_iter()
                .map(|(k, s)| StoredFlow::of(k, s, &no_inputs))
                .collect();
            writers
                .par_iter_mut()
                .enumerate()
                .try_for_each(|(c, w)| -> Result<(), ParquetError> {
                    let array: ArrayRef = match shown.get(c) {
                        Some(&col) => readable_column(slice, col, kind(names[c])),
                        None => record_column(c - readable, &records, slice, keyed, inputs),
                    };
                    for leaf in compute_leaves(schema.field(c), &array)? {
                        w.write(&leaf)?;
                    }
                    Ok(())
                })
                .map_err(io_error)?;
        }
        let chunks: Vec<ArrowColumnChunk> = writers
            .into_par_iter()
            .map(|w| w.close())
            .collect::<Result<_, _>>()
            .map_err(io_error)?;
        debug_assert_eq!(chunks.len(), readable + record);
        let mut group = writer.next_row_group().map_err(io_error)?;
        for chunk in chunks {
            chunk.append_to_row_group(&mut group).map_err(io_error)?;
        }
        group.close().map_err(io_error)?;
    }
    let mut out = writer.into_inner().map_err(io_error)?;
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
