//! ExportService: the live event stream (resumable from a cursor) and batch
//! exports of submissions with their scorecards and findings.

use std::sync::Arc;

use jixiao_proto::convert::timestamp;
use jixiao_proto::v1::{self, export_service_server::ExportServiceServer};
use jixiao_queue::EventBus;
use jixiao_status::{submission_filter, ApiError};
use jixiao_store::{entity::event, EventFilter, FindingFilter, Store, SubmissionFilter};
use prost::Message;
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

/// Events read from the log per query.
const EVENT_PAGE: u64 = 500;
/// How often a watch looks for events written by other processes.
const EVENT_POLL: std::time::Duration = std::time::Duration::from_millis(500);
/// Submissions per export query.
const EXPORT_PAGE: u64 = 500;
/// Bytes per export chunk.
const CHUNK: usize = 64 * 1024;

pub struct ExportService {
    store: Store,
    events: Arc<dyn EventBus>,
    /// Turns true when the server is stopping: open watches end so it can drain.
    stopping: watch::Receiver<bool>,
}

impl ExportService {
    pub fn new(store: Store, events: Arc<dyn EventBus>, stopping: watch::Receiver<bool>) -> Self {
        Self {
            store,
            events,
            stopping,
        }
    }

    pub fn into_server(self) -> ExportServiceServer<Self> {
        ExportServiceServer::new(self)
    }
}

const EVENT_TYPES: [(&str, v1::EventType); 4] = [
    ("received", v1::EventType::Received),
    ("scored", v1::EventType::Scored),
    ("audited", v1::EventType::Audited),
    ("exported", v1::EventType::Exported),
];

fn event_to_proto(e: &event::Model) -> v1::Event {
    let ty = EVENT_TYPES
        .iter()
        .find(|(n, _)| *n == e.event_type)
        .map(|(_, t)| *t)
        .unwrap_or(v1::EventType::Unspecified);
    v1::Event {
        cursor: e.seq as u64,
        r#type: ty as i32,
        submission_id: e.submission_id.clone(),
        tenant: e.tenant.clone(),
        budget_unit: e.budget_unit.clone(),
        fiscal_year: e.fiscal_year,
        at: Some(timestamp(e.at)),
        detail: e.detail.clone(),
    }
}

fn event_filter(r: &v1::WatchEventsRequest) -> Result<EventFilter, ApiError> {
    let types = r
        .types
        .iter()
        .map(|t| {
            EVENT_TYPES
                .iter()
                .find(|(_, x)| *x as i32 == *t)
                .map(|(n, _)| n.to_string())
                .ok_or_else(|| ApiError::invalid_field("types", format!("unknown event type {t}")))
        })
        .collect::<Result<_, _>>()?;
    Ok(EventFilter {
        tenant: Some(r.tenant.trim().to_string()).filter(|t| !t.is_empty()),
        budget_unit: Some(r.budget_unit.trim().to_string()).filter(|u| !u.is_empty()),
        types,
    })
}

type EventStream = ReceiverStream<Result<v1::Event, Status>>;
type ChunkStream = ReceiverStream<Result<v1::ExportChunk, Status>>;

#[tonic::async_trait]
impl v1::export_service_server::ExportService for ExportService {
    type WatchEventsStream = EventStream;
    type ExportBatchStream = ChunkStream;

    async fn watch_events(
        &self,
        request: Request<v1::WatchEventsRequest>,
    ) -> Result<Response<EventStream>, Status> {
        let r = request.into_inner();
        let filter = event_filter(&r)?;
        let cursor = i64::try_from(r.after_cursor)
            .map_err(|_| ApiError::invalid_field("after_cursor", "is out of range"))?;
        let (tx, rx) = mpsc::channel(256);
        let store = self.store.clone();
        // Subscribe before the first read, so nothing published meanwhile is missed.
        let mut newest = self.events.subscribe();
        let mut stopping = self.stopping.clone();
        tokio::spawn(async move {
            let mut cursor = cursor;
            loop {
                let page = match store.events_after(cursor, EVENT_PAGE, &filter).await {
                    Ok(p) => p,
                    Err(e) => {
                        let _ = tx.send(Err(Status::from(ApiError::from(e)))).await;
                        return;
                    }
                };
                for e in &page {
                    // A full channel waits for this client only; intake never waits on it.
                    if tx.send(Ok(event_to_proto(e))).await.is_err() {
                        return;
                    }
                    cursor = e.seq;
                }
                if page.len() as u64 == EVENT_PAGE {
                    continue;
                }
                // Woken by this process's events, or by the poll for events other
                // processes wrote (scoring workers elsewhere). The client resumes
                // from its last cursor on another server or after a restart.
                tokio::select! {
                    changed = newest.changed() => if changed.is_err() { return },
                    _ = tokio::time::sleep(EVENT_POLL) => {}
                    _ = tx.closed() => return,
                    _ = stopping.wait_for(|s| *s) => return,
                }
            }
        });
        Ok(Response::new(ReceiverStream::new(rx)))
    }

    async fn export_batch(
        &self,
        request: Request<v1::ExportBatchRequest>,
    ) -> Result<Response<ChunkStream>, Status> {
        let r = request.into_inner();
        let csv = match v1::ExportFormat::try_from(r.format) {
            Ok(v1::ExportFormat::Jsonl) | Ok(v1::ExportFormat::Unspecified) => false,
            Ok(v1::ExportFormat::Csv) => true,
            Err(_) => {
                return Err(ApiError::invalid_field(
                    "format",
                    format!("unknown export format {}", r.format),
                )
                .into());
            }
        };
        let filter = submission_filter(&r.tenant, &r.unit, r.fiscal_year, r.status)?;
        let (tx, rx) = mpsc::channel(8);
        let store = self.store.clone();
        tokio::spawn(async move {
            let format = if csv { Format::Csv } else { Format::Jsonl };
            if let Err(e) = write_export(&store, &filter, &tx, format).await {
                let _ = tx.send(Err(Status::from(e))).await;
            }
        });
        Ok(Response::new(ReceiverStream::new(rx)))
    }
}

/// An export format: its file, and how a submission becomes bytes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Jsonl,
    Csv,
}

impl Format {
    fn content_type(self) -> &'static str {
        match self {
            Format::Jsonl => "application/x-ndjson",
            Format::Csv => "text/csv; charset=utf-8",
        }
    }

    fn file_name(self) -> &'static str {
        match self {
            Format::Jsonl => "jixiao-export.jsonl",
            Format::Csv => "jixiao-export.csv",
        }
    }

    /// What comes before the first row.
    fn header(self) -> Vec<u8> {
        match self {
            Format::Jsonl => Vec::new(),
            // The BOM makes Excel read the file as UTF-8 (Chinese readable).
            Format::Csv => {
                let mut h = "\u{feff}".as_bytes().to_vec();
                csv_row(&mut h, &CSV_COLUMNS.map(String::from));
                h
            }
        }
    }
}

const CSV_COLUMNS: [&str; 15] = [
    "submission_id",
    "预算单位",
    "项目名称",
    "年度",
    "全年预算数",
    "全年执行数",
    "执行率",
    "总分(填报)",
    "总分(重算)",
    "差额",
    "等级",
    "rulebook",
    "error",
    "warning",
    "info",
];

/// One CSV record: fields quoted when they hold a comma, quote or line break.
fn csv_row(out: &mut Vec<u8>, fields: &[String]) {
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        if f.contains([',', '"', '\n', '\r']) {
            out.push(b'"');
            out.extend(f.replace('"', "\"\"").as_bytes());
            out.push(b'"');
        } else {
            out.extend(f.as_bytes());
        }
    }
    out.extend(b"\r\n");
}

/// The CSV record of a submission: its 年度资金总额, totals and findings by severity.
fn csv_record(
    s: &jixiao_store::entity::submission::Model,
    card: Option<&v1::ScoreCard>,
    findings: &[v1::Finding],
) -> Vec<String> {
    let form = v1::Form::decode(s.form.as_slice()).unwrap_or_default();
    let funds = form.funds.unwrap_or_default();
    let total = funds
        .rows
        .iter()
        .find(|r| r.source == v1::FundSource::Total as i32)
        .cloned()
        .unwrap_or_default();
    let count = |sev: v1::Severity| {
        findings
            .iter()
            .filter(|f| f.severity == sev as i32)
            .count()
            .to_string()
    };
    let (stated, recomputed) = card
        .map(|c| (c.stated_total.clone(), c.recomputed_total.clone()))
        .unwrap_or_default();
    let difference = match (
        jixiao_form::parse_decimal(&stated),
        jixiao_form::parse_decimal(&recomputed),
    ) {
        (Ok(a), Ok(b)) => (a - b).to_string(),
        _ => String::new(),
    };
    vec![
        s.id.clone(),
        s.budget_unit.clone(),
        s.project_name.clone(),
        s.fiscal_year.to_string(),
        total.full_year_budget,
        total.executed,
        funds.stated_execution_rate,
        stated,
        recomputed,
        difference,
        card.map(|c| c.grade.clone()).unwrap_or_default(),
        card.map(|c| format!("{} {}", c.rulebook_id, c.rulebook_version))
            .unwrap_or_default(),
        count(v1::Severity::Error),
        count(v1::Severity::Warning),
        count(v1::Severity::Info),
    ]
}

/// Every selected submission with its newest scorecard and its findings, in
/// `format`, streamed in chunks.
async fn write_export(
    store: &Store,
    filter: &SubmissionFilter,
    tx: &mpsc::Sender<Result<v1::ExportChunk, Status>>,
    format: Format,
) -> Result<(), ApiError> {
    let mut buf = format.header();
    let mut after = 0;
    let mut first = true;
    loop {
        let page = store.list_submissions(filter, after, EXPORT_PAGE).await?;
        for s in &page {
            after = s.seq;
            let card = store.latest_scorecard(&s.id, None).await?;
            let card = card
                .map(|c| v1::ScoreCard::decode(c.card.as_slice()))
                .transpose()
                .map_err(|e| {
                    ApiError::Internal(format!("stored scorecard does not decode: {e}"))
                })?;
            let findings = store
                .list_findings(
                    &FindingFilter {
                        submission_id: Some(s.id.clone()),
                        ..Default::default()
                    },
                    0,
                    u64::MAX >> 1,
                )
                .await?
                .iter()
                .map(|f| v1::Finding::decode(f.finding.as_slice()))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| ApiError::Internal(format!("stored finding does not decode: {e}")))?;
            match format {
                Format::Csv => csv_row(&mut buf, &csv_record(s, card.as_ref(), &findings)),
                Format::Jsonl => {
                    let line = serde_json::json!({
                        "submission": {
                            "id": s.id, "tenant": s.tenant, "content_digest": s.content_digest, "status": s.status,
                            "kind": s.kind, "budget_unit": s.budget_unit, "project_name": s.project_name,
                            "fiscal_year": s.fiscal_year, "received_at_ms": s.received_at,
                        },
                        "scorecard": card.map(|c| serde_json::json!({
                            "rulebook_id": c.rulebook_id, "rulebook_version": c.rulebook_version,
                            "rulebook_digest": c.rulebook_digest, "input_digest": c.input_digest,
                            "engine_version": c.engine_version, "stated_total": c.stated_total,
                            "recomputed_total": c.recomputed_total, "grade": c.grade,
                            "lines": c.lines.iter().map(|l| serde_json::json!({
                                "path": l.path, "label": l.label, "weight": l.weight, "stated_score": l.stated_score,
                                "recomputed_score": l.recomputed_score, "explanation": l.explanation, "rule": l.rule,
                            })).collect::<Vec<_>>(),
                        })),
                        "findings": findings.iter().map(|f| {
                            let loc = f.location.clone().unwrap_or_default();
                            serde_json::json!({
                                "rule_id": f.rule_id, "severity": v1::Severity::try_from(f.severity).map(|s| s.as_str_name()).unwrap_or(""),
                                "section": loc.section, "row": loc.row, "column": loc.column, "path": loc.path,
                                "expected": f.expected, "stated": f.stated, "difference": f.difference,
                                "message_zh": f.message_zh, "message_en": f.message_en,
                            })
                        }).collect::<Vec<_>>(),
                    });
                    serde_json::to_writer(&mut buf, &line)
                        .map_err(|e| ApiError::Internal(e.to_string()))?;
                    buf.push(b'\n');
                }
            }
            if buf.len() >= CHUNK && !send(tx, &mut buf, &mut first, format).await {
                return Ok(());
            }
        }
        if (page.len() as u64) < EXPORT_PAGE {
            break;
        }
    }
    if !buf.is_empty() || first {
        send(tx, &mut buf, &mut first, format).await;
    }
    Ok(())
}

/// Sends the buffer as one chunk; false when the client has gone.
async fn send(
    tx: &mpsc::Sender<Result<v1::ExportChunk, Status>>,
    buf: &mut Vec<u8>,
    first: &mut bool,
    format: Format,
) -> bool {
    let (content_type, file_name) = if *first {
        (
            format.content_type().to_string(),
            format.file_name().to_string(),
        )
    } else {
        (String::new(), String::new())
    };
    *first = false;
    tx.send(Ok(v1::ExportChunk {
        data: std::mem::take(buf),
        content_type,
        file_name,
    }))
    .await
    .is_ok()
}
