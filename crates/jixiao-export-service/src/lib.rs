//! ExportService: the live event stream (resumable from a cursor, explicit
//! when a cursor fell behind the retained log), batch exports in every format
//! of `jixiao-export`, and batch summaries. A thin adapter: it reads stored
//! rows, turns them into domain records, and streams what the domain writes.

use std::collections::BTreeMap;
use std::sync::Arc;

use jixiao_auth::Caller;
use jixiao_export::{
    percent_number, two_places, BatchSummary, ExportMeta, ExportRecord, Exporter, Format,
    GroupSummary,
};
use jixiao_proto::convert::{
    finding_from_proto, form_from_proto, now_millis, scorecard_from_proto, timestamp,
};
use jixiao_proto::v1::{self, export_service_server::ExportServiceServer};
use jixiao_queue::EventBus;
use jixiao_status::{caller, submission_filter, ApiError};
use jixiao_store::{entity::event, EventFilter, Store, SubmissionFilter};
use prost::Message;
use rust_decimal::Decimal;
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

mod tail;
pub use tail::{EventTail, Window};

/// Events read from the log per query.
const EVENT_PAGE: u64 = 500;
/// How often the shared window (`tail.rs`) looks for events other processes wrote.
const EVENT_POLL: std::time::Duration = std::time::Duration::from_millis(500);
/// Events queued per watcher beyond what HTTP/2 holds: a page is read from
/// the log anyway, so a deeper queue only hides how far behind a client is.
const WATCH_QUEUE: usize = 32;
/// Newest events kept in memory for every watch (~200 bytes each); a watch
/// further behind reads the log.
const TAIL_EVENTS: usize = 4096;
/// Submissions per export query.
const EXPORT_PAGE: u64 = 500;
/// Bytes per export chunk.
const CHUNK: usize = 64 * 1024;

pub struct ExportService {
    store: Store,
    events: Arc<dyn EventBus>,
    /// The log's newest events, read once for every watch.
    tail: EventTail,
    /// Turns true when the server is stopping: open watches end so it can drain.
    stopping: watch::Receiver<bool>,
    /// Rule id → title, for the workbook and the report.
    rule_titles: Arc<BTreeMap<String, String>>,
}

impl ExportService {
    pub fn new(
        store: Store,
        events: Arc<dyn EventBus>,
        stopping: watch::Receiver<bool>,
        rule_titles: BTreeMap<String, String>,
    ) -> Self {
        let tail = EventTail::start(
            store.clone(),
            events.as_ref(),
            stopping.clone(),
            TAIL_EVENTS,
        );
        Self {
            store,
            events,
            tail,
            stopping,
            rule_titles: Arc::new(rule_titles),
        }
    }

    /// The shared window on the log's newest events.
    pub fn tail(&self) -> EventTail {
        self.tail.clone()
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

fn event_filter(caller: &Caller, r: &v1::WatchEventsRequest) -> Result<EventFilter, ApiError> {
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
    // A restricted caller sees its region; otherwise an empty tenant means any.
    let (tenant, region) = match caller.region {
        Some(_) => {
            let s = caller.selection(&r.tenant, "")?;
            (s.tenant, s.region)
        }
        None => (
            Some(r.tenant.trim().to_string()).filter(|t| !t.is_empty()),
            None,
        ),
    };
    Ok(EventFilter {
        tenant,
        region,
        budget_unit: Some(r.budget_unit.trim().to_string()).filter(|u| !u.is_empty()),
        types,
    })
}

/// The explicit answer to a watcher whose position is below the retained log.
fn fell_behind(cursor: i64, trimmed_through: i64) -> ApiError {
    ApiError::OutOfRange {
        message: format!(
            "cursor {cursor} is behind the retained event log: events up to {trimmed_through} were trimmed and some after your cursor may be gone; \
             resynchronise (ExportBatch) and watch again from cursor {trimmed_through}"
        ),
        reason: "EVENTS_TRIMMED",
        metadata: vec![
            ("after_cursor".into(), cursor.to_string()),
            ("oldest_resumable_cursor".into(), trimmed_through.to_string()),
        ],
    }
}

/// Where a watch stands after a page read from the log.
enum CatchUp {
    /// The page was full: more may follow at once.
    More,
    /// It read the log up to its newest committed event.
    Level,
    /// The client left, or was told why the watch ended.
    Over,
}

/// A page of the log and what bounds it.
struct LogPage {
    /// Read first: every event up to it is committed (cursors become
    /// visible in order), so a short page covers the log up to it.
    high: i64,
    /// After the cursor given, none when none was.
    events: Vec<event::Model>,
    /// Read after the page: anything at or below it may be gone.
    trimmed: i64,
}

async fn read_log(
    store: &Store,
    after: Option<i64>,
    filter: &EventFilter,
) -> Result<LogPage, jixiao_store::StoreError> {
    let high = store.last_event_seq().await?;
    let events = match after {
        Some(after) => store.events_after(after, EVENT_PAGE, filter).await?,
        None => Vec::new(),
    };
    let trimmed = store.events_trimmed_through().await?;
    Ok(LogPage {
        high,
        events,
        trimmed,
    })
}

/// One page of the log after `scanned`, read by a watch behind the shared
/// window, sent in order.
async fn catch_up(
    store: &Store,
    filter: &EventFilter,
    cursor: &mut i64,
    scanned: &mut i64,
    tx: &mpsc::Sender<Result<v1::Event, Status>>,
) -> CatchUp {
    let LogPage {
        high,
        events: page,
        trimmed,
    } = match read_log(store, Some(*scanned), filter).await {
        Ok(r) => r,
        Err(e) => {
            let _ = tx.send(Err(Status::from(ApiError::from(e)))).await;
            return CatchUp::Over;
        }
    };
    if *scanned < trimmed {
        let _ = tx.send(Err(fell_behind(*cursor, trimmed).into())).await;
        return CatchUp::Over;
    }
    for e in &page {
        if tx.send(Ok(event_to_proto(e))).await.is_err() {
            return CatchUp::Over;
        }
        *cursor = e.seq;
        *scanned = e.seq;
    }
    if page.len() as u64 == EVENT_PAGE {
        return CatchUp::More;
    }
    *scanned = (*scanned).max(high);
    CatchUp::Level
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
        let caller = caller(&request)?;
        let r = request.into_inner();
        let filter = event_filter(&caller, &r)?;
        let cursor = i64::try_from(r.after_cursor)
            .map_err(|_| ApiError::invalid_field("after_cursor", "is out of range"))?;
        let trimmed = self
            .store
            .events_trimmed_through()
            .await
            .map_err(ApiError::from)?;
        // 0 asks for the oldest retained event, whatever was trimmed before it.
        if cursor != 0 && cursor < trimmed {
            return Err(fell_behind(cursor, trimmed).into());
        }
        let (tx, rx) = mpsc::channel(WATCH_QUEUE);
        let store = self.store.clone();
        let mut window = self.tail.subscribe();
        let mut stopping = self.stopping.clone();
        tokio::spawn(async move {
            // `cursor` is what the client has seen; `scanned` is how far this
            // watch has read the log, which runs ahead of it when a filter
            // skips events. Falling behind is judged on `scanned`.
            let mut cursor = cursor.max(trimmed);
            let mut scanned = cursor;
            loop {
                let w = window.borrow_and_update().clone();
                if !w.covers(scanned) {
                    // Behind the shared window: a page from the log itself.
                    match catch_up(&store, &filter, &mut cursor, &mut scanned, &tx).await {
                        CatchUp::More => continue,
                        CatchUp::Over => return,
                        CatchUp::Level => {}
                    }
                }
                if w.covers(scanned) {
                    if scanned < w.trimmed {
                        let _ = tx.send(Err(fell_behind(cursor, w.trimmed).into())).await;
                        return;
                    }
                    // A page at a time, as from the log: a watch stalled in
                    // mid-page learns of a trim after at most a page.
                    let mut taken = 0;
                    for e in w.after(scanned).take(EVENT_PAGE as usize) {
                        // A full channel waits for this client only; intake never waits on it.
                        if filter.matches(e) {
                            if tx.send(Ok(event_to_proto(e))).await.is_err() {
                                return;
                            }
                            cursor = e.seq;
                        }
                        scanned = e.seq;
                        taken += 1;
                    }
                    if taken == EVENT_PAGE {
                        continue;
                    }
                    scanned = scanned.max(w.to);
                }
                // The client resumes from its last cursor on another server or
                // after a restart.
                tokio::select! {
                    changed = window.changed() => if changed.is_err() { return },
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
        let caller = caller(&request)?;
        let r = request.into_inner();
        let format = match v1::ExportFormat::try_from(r.format) {
            Ok(v1::ExportFormat::Jsonl) | Ok(v1::ExportFormat::Unspecified) => Format::Jsonl,
            Ok(v1::ExportFormat::Csv) => Format::Csv,
            Ok(v1::ExportFormat::Xlsx) => Format::Xlsx,
            Ok(v1::ExportFormat::Fdp) => Format::FiscalDataPackage,
            Ok(v1::ExportFormat::Html) => Format::Html,
            Err(_) => {
                return Err(ApiError::invalid_field(
                    "format",
                    format!("unknown export format {}", r.format),
                )
                .into());
            }
        };
        let selection = Selection::new(
            &caller,
            &r.tenant,
            &r.region,
            &r.unit,
            r.fiscal_year,
            r.status,
            &r.rulebook_id,
        )?;
        let meta = ExportMeta {
            title: String::new(),
            generated_at: timestamp(now_millis()).to_string(),
            filter: selection.describe(),
            rule_titles: (*self.rule_titles).clone(),
        };
        let exporter = Exporter::new(format, meta).map_err(export_error)?;
        let (tx, rx) = mpsc::channel(8);
        let store = self.store.clone();
        let events = self.events.clone();
        tokio::spawn(async move {
            let sent = write_export(&store, &selection, exporter, format, &tx).await;
            match sent {
                Ok(Some(forms)) => {
                    // Announced once the whole file is out, for dashboards.
                    let announced = store
                        .record_event(
                            "exported",
                            "",
                            selection
                                .filter
                                .tenant
                                .as_deref()
                                .or(selection.filter.region.as_deref())
                                .unwrap_or(""),
                            selection.filter.unit.as_deref().unwrap_or(""),
                            selection.filter.fiscal_year.unwrap_or(0),
                            now_millis(),
                            format!(
                                "{} of {forms} forms ({})",
                                format.file_name(),
                                selection.describe()
                            ),
                        )
                        .await;
                    match announced {
                        Ok(e) => events.published(e.seq),
                        Err(e) => {
                            tracing::warn!(error = %e, "export sent but its event was not recorded")
                        }
                    }
                }
                Ok(None) => {}
                Err(e) => {
                    let _ = tx.send(Err(Status::from(e))).await;
                }
            }
        });
        Ok(Response::new(ReceiverStream::new(rx)))
    }

    async fn get_batch_summary(
        &self,
        request: Request<v1::GetBatchSummaryRequest>,
    ) -> Result<Response<v1::BatchSummary>, Status> {
        let caller = caller(&request)?;
        let r = request.into_inner();
        let selection = Selection::new(
            &caller,
            &r.tenant,
            &r.region,
            &r.unit,
            r.fiscal_year,
            r.status,
            &r.rulebook_id,
        )?;
        let mut builder = jixiao_export::SummaryBuilder::default();
        let mut pages = selection.pages(&self.store);
        while let Some(records) = pages.next().await? {
            for rec in &records {
                builder.add(rec);
            }
        }
        Ok(Response::new(summary_to_proto(&builder.finish())))
    }
}

fn export_error(e: jixiao_export::ExportError) -> ApiError {
    match e {
        jixiao_export::ExportError::TooLarge(message) => ApiError::ResourceExhausted {
            message,
            retry_after: None,
        },
        other => ApiError::Internal(other.to_string()),
    }
}

/// The submissions an export or summary covers, and the rulebook of their scorecards.
struct Selection {
    filter: SubmissionFilter,
    rulebook: Option<String>,
}

impl Selection {
    fn new(
        caller: &Caller,
        tenant: &str,
        region: &str,
        unit: &str,
        fiscal_year: i32,
        status: i32,
        rulebook: &str,
    ) -> Result<Self, ApiError> {
        Ok(Selection {
            filter: submission_filter(caller, tenant, region, unit, fiscal_year, status)?,
            rulebook: Some(rulebook.trim().to_string()).filter(|r| !r.is_empty()),
        })
    }

    /// The selection in words, for file headers.
    fn describe(&self) -> String {
        let f = &self.filter;
        let mut parts = Vec::new();
        if let Some(t) = &f.tenant {
            parts.push(format!("tenant {t}"));
        }
        if let Some(r) = &f.region {
            parts.push(format!("region {r}"));
        }
        if let Some(u) = &f.unit {
            parts.push(format!("unit {u}"));
        }
        if let Some(y) = f.fiscal_year {
            parts.push(format!("year {y}"));
        }
        if let Some(s) = &f.status {
            parts.push(format!("status {s}"));
        }
        if let Some(rb) = &self.rulebook {
            parts.push(format!("rulebook {rb}"));
        }
        parts.join(", ")
    }

    fn pages<'a>(&'a self, store: &'a Store) -> RecordPages<'a> {
        RecordPages {
            store,
            selection: self,
            after: 0,
            done: false,
        }
    }
}

/// The selected submissions as export records, a page at a time: four queries
/// per page (submissions, their forms, newest scorecards, findings).
struct RecordPages<'a> {
    store: &'a Store,
    selection: &'a Selection,
    after: i64,
    done: bool,
}

impl RecordPages<'_> {
    async fn next(&mut self) -> Result<Option<Vec<ExportRecord>>, ApiError> {
        if self.done {
            return Ok(None);
        }
        let page = self
            .store
            .list_submissions(&self.selection.filter, self.after, EXPORT_PAGE)
            .await?;
        self.done = (page.len() as u64) < EXPORT_PAGE;
        let Some(last) = page.last() else {
            return Ok(None);
        };
        self.after = last.seq;
        let ids: Vec<String> = page.iter().map(|s| s.id.clone()).collect();
        let mut cards = self
            .store
            .latest_scorecards(&ids, self.selection.rulebook.as_deref())
            .await?;
        let mut forms = self.store.forms_of(&page).await?;
        let mut findings: std::collections::HashMap<String, Vec<jixiao_audit::Finding>> =
            std::collections::HashMap::new();
        for row in self.store.findings_of(&ids).await? {
            let wire = v1::Finding::decode(row.finding.as_slice()).map_err(|e| {
                ApiError::Internal(format!("stored finding {} does not decode: {e}", row.seq))
            })?;
            let f = finding_from_proto(&wire).ok_or_else(|| {
                ApiError::Internal(format!("stored finding {} has no severity", row.seq))
            })?;
            findings.entry(row.submission_id).or_default().push(f);
        }
        let mut records = Vec::with_capacity(page.len());
        for s in page {
            let card = match cards.remove(&s.id) {
                Some(c) => {
                    let wire = v1::ScoreCard::decode(c.card.as_slice()).map_err(|e| {
                        ApiError::Internal(format!(
                            "stored scorecard {} does not decode: {e}",
                            c.id
                        ))
                    })?;
                    Some(scorecard_from_proto(&wire).map_err(|v| {
                        ApiError::Internal(format!("stored scorecard {} is invalid: {v:?}", c.id))
                    })?)
                }
                // Asked for one rulebook's scorecards: forms without one are not selected.
                None if self.selection.rulebook.is_some() => continue,
                None => None,
            };
            let bytes = forms.remove(&s.id).ok_or_else(|| {
                ApiError::Internal(format!("submission {} has no stored form", s.id))
            })?;
            let wire = v1::Form::decode(bytes.as_slice()).map_err(|e| {
                ApiError::Internal(format!("stored form {} does not decode: {e}", s.id))
            })?;
            let form = form_from_proto(wire).map_err(|v| {
                ApiError::Internal(format!("stored form {} is invalid: {v:?}", s.id))
            })?;
            records.push(ExportRecord {
                findings: findings.remove(&s.id).unwrap_or_default(),
                submission_id: s.id,
                tenant: s.tenant,
                status: s.status,
                content_digest: s.content_digest,
                received_at_ms: s.received_at,
                form,
                card,
            });
        }
        Ok(Some(records))
    }
}

/// Streams the export; `Some(forms)` once all of it is sent, `None` when the
/// client went away first.
async fn write_export(
    store: &Store,
    selection: &Selection,
    mut exporter: Exporter,
    format: Format,
    tx: &mpsc::Sender<Result<v1::ExportChunk, Status>>,
) -> Result<Option<u64>, ApiError> {
    let mut first = true;
    let mut pages = selection.pages(store);
    while let Some(records) = pages.next().await? {
        for rec in &records {
            exporter.push(rec).map_err(export_error)?;
        }
        if exporter.buffered() >= CHUNK && !send(tx, exporter.take(), &mut first, format).await {
            return Ok(None);
        }
    }
    let forms = exporter.forms();
    let rest = exporter.finish().map_err(export_error)?;
    if rest.is_empty() && first {
        send(tx, Vec::new(), &mut first, format).await;
    }
    for piece in rest.chunks(CHUNK) {
        if !send(tx, piece.to_vec(), &mut first, format).await {
            return Ok(None);
        }
    }
    Ok(Some(forms))
}

/// Sends one chunk; false when the client has gone.
async fn send(
    tx: &mpsc::Sender<Result<v1::ExportChunk, Status>>,
    data: Vec<u8>,
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
        data,
        content_type,
        file_name,
    }))
    .await
    .is_ok()
}

fn counts(m: &BTreeMap<String, u64>) -> Vec<v1::Count> {
    m.iter()
        .map(|(key, count)| v1::Count {
            key: key.clone(),
            count: *count,
        })
        .collect()
}

fn text(d: Option<Decimal>) -> String {
    d.map(two_places).unwrap_or_default()
}

fn group_to_proto(g: &GroupSummary) -> v1::SummaryGroup {
    v1::SummaryGroup {
        key: g.key.clone(),
        forms: g.forms,
        kinds: counts(&g.kinds),
        forms_with_amounts: g.forms_with_amounts,
        full_year_budget: g.full_year_budget.to_string(),
        executed: g.executed.to_string(),
        execution_rate: percent_number(g.execution_rate()).unwrap_or_default(),
        compared_forms: g.compared_forms,
        mean_stated_total: text(g.mean_stated_total()),
        mean_recomputed_total: text(g.mean_recomputed_total()),
        mean_inflation: text(g.mean_inflation()),
        findings_by_severity: counts(&g.findings_by_severity),
        findings_by_rule: counts(&g.findings_by_rule),
        grades: counts(&g.grades),
    }
}

fn summary_to_proto(s: &BatchSummary) -> v1::BatchSummary {
    v1::BatchSummary {
        overall: Some(group_to_proto(&s.overall)),
        units: s.units.iter().map(group_to_proto).collect(),
        regions: s.regions.iter().map(group_to_proto).collect(),
    }
}
