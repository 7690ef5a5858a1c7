use std::time::Duration;

use jixiao_form::SubmissionStatus;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend,
    EntityTrait, QueryFilter, QueryOrder, QuerySelect, Value,
};
use sea_orm_migration::MigratorTrait;

use crate::blob;
use crate::entity::{
    api_token, event, event_log, finding, scorecard, scoring_job, submission, submission_form,
};
use crate::error::{internal, StoreError};
use crate::migration::Migrator;
use crate::packed;
use crate::rows;
use crate::txn::{Txn, WriteTurn, Writes};

pub type Result<T> = std::result::Result<T, StoreError>;

pub const STATUS_RECEIVED: &str = SubmissionStatus::Received.as_str();
pub const STATUS_SCORED: &str = SubmissionStatus::Scored.as_str();
pub const STATUS_AUDITED: &str = SubmissionStatus::Audited.as_str();

/// Findings of one form's audit, and of a department's cross-form audit.
pub const SCOPE_FORM: &str = "form";
pub const SCOPE_DEPARTMENT: &str = "department";

/// A submission as intake hands it over, before it has a sequence number.
#[derive(Debug, Clone)]
pub struct NewSubmission {
    pub id: String,
    /// The id the same content had before ids began with their unit
    /// (`jixiao_form::earlier_submission_id`). A database that held
    /// submissions before then maps a repeat of one to that id.
    pub earlier_id: Option<String>,
    pub tenant: String,
    pub content_digest: String,
    pub kind: String,
    pub budget_unit: String,
    pub competent_department: String,
    pub implementing_unit: String,
    pub project_name: String,
    pub fiscal_year: i32,
    pub form: Vec<u8>,
    pub received_at: i64,
    /// The rulebook its scoring job uses.
    pub rulebook_id: String,
    /// W3C traceparent of the request, carried by the scoring job.
    pub trace_context: String,
}

/// What [`Store::save_scorecards_and_findings`] did: each scorecard with its
/// `scored` event, and each form's `audited` event.
pub type ScoredAndAudited = (
    Vec<(scorecard::Model, Option<event::Model>)>,
    Vec<Option<event::Model>>,
);

/// What storing a submission did.
#[derive(Debug, Clone)]
pub struct SubmitOutcome {
    /// The stored submission: the new one, or the one with the same content.
    pub submission: submission::Model,
    /// For new content, its queued scoring job and its `received` event;
    /// `None` when the content was already stored and nothing was written.
    pub created: Option<Created>,
}

#[derive(Debug, Clone)]
pub struct Created {
    pub job: scoring_job::Model,
    pub event: event::Model,
}

#[derive(Debug, Clone)]
pub struct NewScoreCard {
    pub id: String,
    pub submission_id: String,
    pub rulebook_id: String,
    pub rulebook_version: String,
    pub input_digest: String,
    pub recomputed_total: String,
    pub grade: String,
    pub card: Vec<u8>,
    pub computed_at: i64,
    /// The submission's tenant, 预算单位 and year, for the `scored` event.
    pub tenant: String,
    pub budget_unit: String,
    pub fiscal_year: i32,
}

#[derive(Debug, Clone)]
pub struct NewFinding {
    pub rule_id: String,
    pub severity: i32,
    pub finding: Vec<u8>,
}

/// One stored finding, as listings and exports read it out of its row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFinding {
    /// Its place in listings: its row's `seq` shifted left by 16 bits plus
    /// its index in the row.
    pub seq: i64,
    pub submission_seq: i64,
    pub submission_id: String,
    pub rule_id: String,
    /// 1 info, 2 warning, 3 error: ordered so "at least warning" is a range.
    pub severity: i32,
    /// Protobuf-encoded `jixiao.v1.Finding`.
    pub finding: Vec<u8>,
    /// `form` (one form's audit) or `department` (cross-form audit).
    pub scope: String,
}

/// Ids are hashes: a collision must not hand back another tenant's or another
/// form's submission as this one.
fn taken(id: &str) -> StoreError {
    internal(&format!("submission id {id} is taken by other content"))
}

/// A stored scorecard with its card as written.
fn card_out(mut c: scorecard::Model) -> Result<scorecard::Model> {
    c.card = blob::from_store(std::mem::take(&mut c.card))?;
    Ok(c)
}

/// The findings of `row`, in order.
fn findings_in(row: finding::Model) -> Result<impl Iterator<Item = StoredFinding>> {
    let base = row.seq << packed::INDEX_BITS;
    let packed = packed::unpack(row.seq, &blob::from_store(row.findings)?)?;
    Ok(packed
        .into_iter()
        .enumerate()
        .map(move |(i, p)| StoredFinding {
            seq: base + i as i64,
            submission_seq: row.submission_seq,
            submission_id: row.submission_id.clone(),
            rule_id: p.rule_id,
            severity: p.severity,
            finding: p.finding,
            scope: row.scope.clone(),
        }))
}

#[derive(Debug, Clone, Default)]
pub struct SubmissionFilter {
    /// Exactly this tenant; `None` for any.
    pub tenant: Option<String>,
    /// This region path and every region under it (`湖南省` takes in
    /// `湖南省/株洲市`); `None` for any.
    pub region: Option<String>,
    /// Matches 预算单位, 主管部门 or 实施单位 exactly.
    pub unit: Option<String>,
    pub fiscal_year: Option<i32>,
    pub status: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct FindingFilter {
    pub submission_id: Option<String>,
    pub tenant: Option<String>,
    /// This region path and the regions under it.
    pub region: Option<String>,
    pub budget_unit: Option<String>,
    pub fiscal_year: Option<i32>,
    pub min_severity: Option<i32>,
    pub rule_id: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    pub tenant: Option<String>,
    /// This region path and the regions under it.
    pub region: Option<String>,
    pub budget_unit: Option<String>,
    /// Empty means every type.
    pub types: Vec<String>,
}

impl EventFilter {
    /// Whether `e` passes, as [`Store::events_after`] selects in SQL (a region
    /// is itself or a path under it), for events already in hand.
    pub fn matches(&self, e: &event::Model) -> bool {
        self.tenant.as_ref().is_none_or(|t| e.tenant == *t)
            && self
                .region
                .as_ref()
                .is_none_or(|r| jixiao_auth::within(&e.tenant, r))
            && self
                .budget_unit
                .as_ref()
                .is_none_or(|u| e.budget_unit == *u)
            && (self.types.is_empty() || self.types.contains(&e.event_type))
    }
}

/// The database of one jixiao deployment.
#[derive(Clone)]
pub struct Store {
    db: DatabaseConnection,
    /// Where write transactions begin.
    writes: Writes,
    /// SQLite's one writer (none on PostgreSQL).
    sqlite_writer: Option<std::sync::Arc<SqliteWriter>>,
    /// The last submission stored under an earlier id (migration 14); 0 if
    /// the database held none.
    earlier_ids_until: i64,
}

/// How SQLite's one writer is shared. Write transactions queue at the gate,
/// in this process, rather than collide and sleep in SQLite's busy handler;
/// and they run on a thread of their own, so that one holding the gate
/// resumes as soon as SQLite answers, not after the intake and scoring work
/// queued on the shared runtime's threads.
struct SqliteWriter {
    gate: std::sync::Arc<WriterGate>,
    thread: WriterThread,
}

/// A single-threaded runtime on its own thread; it stops when dropped.
struct WriterThread {
    handle: tokio::runtime::Handle,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl WriterThread {
    fn start() -> std::io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()?;
        let handle = runtime.handle().clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        std::thread::Builder::new()
            .name("jixiao-writer".into())
            .spawn(move || {
                runtime.block_on(async {
                    let _ = stopped.await;
                })
            })?;
        Ok(WriterThread {
            handle,
            _stop: stop,
        })
    }
}

/// SQLite's one write lock, taken by intake before anyone else: a form being
/// submitted waits for the transaction in progress, not for the queue of
/// scoring and audit batches behind it (BENCHMARKS.md: it took SubmitForm's
/// p99 at 1,000/s from 260 to 40–48 ms). Another writer lets intake pass at most
/// [`MAX_INTAKE_PASSES`] times, so scoring goes on under a steady stream.
#[derive(Default)]
struct WriterGate {
    lock: std::sync::Arc<tokio::sync::Mutex<()>>,
    /// Intake transactions waiting for the lock.
    intake_waiting: std::sync::atomic::AtomicUsize,
    /// Woken whenever an intake writer has passed.
    intake_served: tokio::sync::Notify,
}

/// How many intake transactions another writer lets go first.
const MAX_INTAKE_PASSES: usize = 4;

impl WriterGate {
    async fn enter(&self, intake: bool) -> WriteTurn {
        use std::sync::atomic::Ordering::SeqCst;
        if intake {
            self.intake_waiting.fetch_add(1, SeqCst);
            let _waiting = IntakeWaiting(self);
            return self.lock.clone().lock_owned().await;
        }
        let mut passes = 0;
        loop {
            let served = self.intake_served.notified();
            if passes < MAX_INTAKE_PASSES && self.intake_waiting.load(SeqCst) > 0 {
                served.await;
                passes += 1;
                continue;
            }
            let turn = self.lock.clone().lock_owned().await;
            if passes >= MAX_INTAKE_PASSES || self.intake_waiting.load(SeqCst) == 0 {
                return turn;
            }
            // Intake arrived while this one queued: it goes first.
            passes += 1;
        }
    }
}

/// How long a caller waits for a free connection.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// SQLite's page cache per reading connection, in KiB: memory stays bounded
/// however large the database grows; the OS caches the file.
const READ_CACHE_KIB: u32 = 16 << 10;
/// The write connection's: every write touches the submissions' id index,
/// whose keys are hashes. Past a few hundred thousand forms that index
/// outgrew 16 MiB, and at 1,000,000 forms 64 MiB here took the pipeline
/// from 3,812 to 4,556 forms/s, peak RSS from 334 to 351 MiB (BENCHMARKS.md).
const WRITE_CACHE_KIB: u32 = 64 << 10;

/// Every SQLite connection's settings: WAL (readers never wait for the
/// writer), no fsync per commit (the WAL is synced at checkpoints), and a
/// page cache of `cache_kib`.
fn sqlite_pragmas(
    o: sea_orm::sqlx::sqlite::SqliteConnectOptions,
    cache_kib: u32,
) -> sea_orm::sqlx::sqlite::SqliteConnectOptions {
    o.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
        .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(10))
        .pragma("cache_size", format!("-{cache_kib}"))
        .pragma("temp_store", "memory")
        // LIKE tells case apart, as on PostgreSQL: a region path matches the
        // same tenants in SQL and in hand (`EventFilter::matches`).
        .pragma("case_sensitive_like", "ON")
        // No checkpoint inside a commit (it would copy the log while holding
        // the one write lock): `run_checkpoints` does them.
        .pragma("wal_autocheckpoint", "0")
        // sqlx hands rows from SQLite's thread to the reading task through a
        // channel of this many; a full one parks the thread and wakes it
        // again for every row taken, two context switches a row.
        .row_buffer_size(ROW_BUFFER)
}

/// Rows sqlx may hold between SQLite's thread and the reader: a page of
/// events, forms or findings, as the store reads them.
const ROW_BUFFER: usize = 1024;

/// How often the checkpointer copies the SQLite log into the database.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(100);
/// Log size past which a checkpoint is finished with the writers held, so
/// that the next writer starts the log from its beginning. 128 MiB made these
/// stops rarer and 100,000 forms 10 % faster, but 1,000,000 forms 22 % slower
/// and 145 MiB larger (BENCHMARKS.md).
pub const SQLITE_LOG_RESTART_BYTES: i64 = 16 << 20;
/// The same in log pages (4 KiB each).
const WAL_RESTART_PAGES: i64 = SQLITE_LOG_RESTART_BYTES / 4096;

/// SQLite's checkpoints, beside the writers rather than inside a commit. A
/// PASSIVE checkpoint copies the log without the write lock, but under
/// constant writes it never catches up, and the log only restarts once it
/// has been copied whole. So past [`WAL_RESTART_PAGES`] the checkpointer takes
/// its turn at the writer gate and copies the little that came since: no
/// commit waits for the bulk of the copy, and the log stays bounded. Ends
/// when the last [`Store`] sharing the gate is dropped.
async fn run_checkpoints(db: DatabaseConnection, gate: std::sync::Weak<WriterGate>) {
    loop {
        tokio::time::sleep(CHECKPOINT_EVERY).await;
        let Some(gate) = gate.upgrade() else { return };
        let log = match checkpoint(&db).await {
            Ok(log) => log,
            Err(e) => {
                tracing::warn!(error = %e, "WAL checkpoint failed; retried");
                continue;
            }
        };
        if log >= WAL_RESTART_PAGES {
            let _turn = gate.enter(false).await;
            if let Err(e) = checkpoint(&db).await {
                tracing::warn!(error = %e, "WAL checkpoint failed; retried");
            }
        }
    }
}

/// One PASSIVE checkpoint; returns the pages the log held.
async fn checkpoint(db: &DatabaseConnection) -> Result<i64> {
    let row = db
        .query_one(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Sqlite,
            "PRAGMA wal_checkpoint(PASSIVE)",
        ))
        .await?
        .ok_or_else(|| internal("wal_checkpoint returned no row"))?;
    let (busy, log, copied) = (
        row.try_get_by_index::<i32>(0)?,
        row.try_get_by_index::<i64>(1)?,
        row.try_get_by_index::<i64>(2)?,
    );
    tracing::debug!(busy, log, copied, "WAL checkpoint");
    Ok(log)
}

/// Counts an intake writer as waiting until it has the lock or gives up;
/// either way it has passed, and the writers it overtook count one pass.
struct IntakeWaiting<'a>(&'a WriterGate);

impl Drop for IntakeWaiting<'_> {
    fn drop(&mut self) {
        use std::sync::atomic::Ordering::SeqCst;
        self.0.intake_waiting.fetch_sub(1, SeqCst);
        self.0.intake_served.notify_waiters();
    }
}

impl Store {
    /// Connects (`sqlite://path?mode=rwc` or `postgres://…`) and brings the schema up to date.
    pub async fn connect(url: &str) -> Result<Self> {
        let mut opt = ConnectOptions::new(url.to_string());
        opt.connect_timeout(Duration::from_secs(5))
            .acquire_timeout(ACQUIRE_TIMEOUT)
            // A ping before every query was one more round trip each; a
            // broken connection fails its query, and callers retry.
            .test_before_acquire(false)
            .sqlx_logging(false);
        let sqlite = url.starts_with("sqlite:");
        if sqlite {
            // Readers; the one writer SQLite allows has a connection of its own.
            opt.max_connections(3);
            opt.map_sqlx_sqlite_opts(|o| sqlite_pragmas(o, READ_CACHE_KIB));
        } else {
            opt.max_connections(16);
        }
        let db = Database::connect(opt).await?;
        Migrator::up(&db, None).await?;
        let writes = if sqlite {
            let options = url
                .parse::<sea_orm::sqlx::sqlite::SqliteConnectOptions>()
                .map_err(|e| internal(&format!("database url: {e}")))?;
            Writes::sqlite(sqlite_pragmas(options, WRITE_CACHE_KIB), ACQUIRE_TIMEOUT).await?
        } else {
            Writes::Postgres(db.get_postgres_connection_pool().clone())
        };
        let sqlite_writer = if sqlite {
            let gate = std::sync::Arc::new(WriterGate::default());
            tokio::spawn(run_checkpoints(
                db.clone(),
                std::sync::Arc::downgrade(&gate),
            ));
            let thread =
                WriterThread::start().map_err(|e| internal(&format!("writer thread: {e}")))?;
            Some(std::sync::Arc::new(SqliteWriter { gate, thread }))
        } else {
            None
        };
        let earlier_ids_until = db
            .query_one(sea_orm::Statement::from_string(
                db.get_database_backend(),
                "SELECT until_seq FROM earlier_submission_ids",
            ))
            .await?
            .map(|r| r.try_get_by_index::<i64>(0))
            .transpose()?
            .unwrap_or(0);
        Ok(Store {
            db,
            writes,
            sqlite_writer,
            earlier_ids_until,
        })
    }

    /// Runs a write on the writer thread where there is one.
    async fn on_writer<T: Send + 'static>(
        &self,
        work: impl std::future::Future<Output = Result<T>> + Send + 'static,
    ) -> Result<T> {
        match &self.sqlite_writer {
            Some(w) => w
                .thread
                .handle
                .spawn(work)
                .await
                .map_err(|e| internal(&format!("the write did not finish: {e}")))?,
            None => work.await,
        }
    }

    /// A write transaction; on SQLite it waits its turn first, and keeps it
    /// until it commits or is dropped.
    async fn write(&self) -> Result<Txn> {
        self.write_as(false).await
    }

    /// As [`Store::write`]; `intake` goes before the other writers.
    async fn write_as(&self, intake: bool) -> Result<Txn> {
        let turn = match &self.sqlite_writer {
            Some(w) => Some(w.gate.enter(intake).await),
            None => None,
        };
        Ok(Txn::begin(&self.writes, turn).await?)
    }

    /// Stores a submission with its scoring job and `received` event in one
    /// transaction, or returns the stored one with the same content.
    pub async fn submit(&self, new: NewSubmission) -> Result<SubmitOutcome> {
        let mut out = self.submit_many(vec![new]).await?;
        Ok(out.remove(0))
    }

    /// As [`Store::submit`] for many forms in one transaction: all or nothing.
    /// Three multi-row INSERTs whatever the batch size: the submissions (new
    /// content only, `ON CONFLICT DO NOTHING … RETURNING` tells which), their
    /// jobs and their events.
    pub async fn submit_many(&self, mut news: Vec<NewSubmission>) -> Result<Vec<SubmitOutcome>> {
        use std::collections::HashMap;
        if news.is_empty() {
            return Ok(Vec::new());
        }
        self.keep_earlier_ids(&mut news).await?;
        // One row per id (the id follows from tenant and content). The rows are
        // built before the write turn, and the models after it: SQLite has
        // only the one writer.
        let mut distinct = Vec::new();
        let mut first: HashMap<&str, usize> = HashMap::new();
        for (i, n) in news.iter().enumerate() {
            match first.entry(n.id.as_str()) {
                std::collections::hash_map::Entry::Vacant(e) => {
                    e.insert(i);
                    distinct.push(i);
                }
                std::collections::hash_map::Entry::Occupied(e) => {
                    let f = &news[*e.get()];
                    if (&f.tenant, &f.content_digest) != (&n.tenant, &n.content_digest) {
                        return Err(taken(&n.id));
                    }
                }
            }
        }
        let values: Vec<Value> = distinct
            .iter()
            .flat_map(|&i| -> [Value; 11] {
                let new = &news[i];
                [
                    new.id.clone().into(),
                    new.tenant.clone().into(),
                    new.content_digest.clone().into(),
                    new.kind.clone().into(),
                    new.budget_unit.clone().into(),
                    new.competent_department.clone().into(),
                    new.implementing_unit.clone().into(),
                    new.project_name.clone().into(),
                    new.fiscal_year.into(),
                    STATUS_RECEIVED.into(),
                    new.received_at.into(),
                ]
            })
            .collect();
        let ids: Vec<String> = distinct.iter().map(|&i| news[i].id.clone()).collect();
        // What an id already stored must hold to be this content's.
        let contents: Vec<(String, String)> = distinct
            .iter()
            .map(|&i| (news[i].tenant.clone(), news[i].content_digest.clone()))
            .collect();
        // The forms move into their rows; the outcomes do not carry them.
        let forms: Vec<Vec<u8>> = distinct
            .iter()
            .map(|&i| blob::to_store(std::mem::take(&mut news[i].form)))
            .collect();
        // A job's first value, its submission's sequence, is known once stored.
        let jobs: Vec<[Value; 5]> = distinct
            .iter()
            .map(|&i| {
                let n = &news[i];
                [
                    Value::BigInt(None),
                    n.id.clone().into(),
                    n.rulebook_id.clone().into(),
                    n.received_at.into(),
                    n.trace_context.clone().into(),
                ]
            })
            .collect();
        let events: Vec<NewEvent> = distinct
            .iter()
            .map(|&i| {
                let n = &news[i];
                NewEvent {
                    event_type: "received",
                    submission_id: n.id.clone(),
                    tenant: n.tenant.clone(),
                    budget_unit: n.budget_unit.clone(),
                    fiscal_year: n.fiscal_year,
                    at: n.received_at,
                    detail: String::new(),
                }
            })
            .collect();
        let store = self.clone();
        let written = self
            .on_writer(async move {
                let txn = store.write_as(true).await?;
                // The insert comes first so a SQLite transaction takes the write lock at once.
                let inserted = rows::insert(
                    &txn,
                    "submissions",
                    &[
                        "id",
                        "tenant",
                        "content_digest",
                        "kind",
                        "budget_unit",
                        "competent_department",
                        "implementing_unit",
                        "project_name",
                        "fiscal_year",
                        "status",
                        "received_at",
                    ],
                    values,
                    // The one index a repeat meets: without a target each
                    // row was first looked up in every unique index.
                    "ON CONFLICT (id) DO NOTHING RETURNING seq, id",
                )
                .await?;
                let seqs = rows::seqs_by(inserted, "id")?;
                let mut job_seqs = HashMap::new();
                let mut received = Vec::new();
                if !seqs.is_empty() {
                    // Keyed by the submission's sequence: appended, not scattered.
                    let forms = ids
                        .iter()
                        .zip(forms)
                        .filter_map(|(id, form)| Some([(*seqs.get(id)?).into(), form.into()]))
                        .flatten();
                    rows::insert(
                        &txn,
                        "submission_forms",
                        &["seq", "form"],
                        forms.collect(),
                        "",
                    )
                    .await?;
                    let jobs = ids
                        .iter()
                        .zip(jobs)
                        .filter_map(|(id, mut job)| {
                            job[0] = (*seqs.get(id)?).into();
                            Some(job)
                        })
                        .flatten();
                    let inserted = rows::insert(
                        &txn,
                        "scoring_jobs",
                        &[
                            "submission_seq",
                            "submission_id",
                            "rulebook_id",
                            "enqueued_at",
                            "trace_context",
                        ],
                        jobs.collect(),
                        "RETURNING seq, submission_id",
                    )
                    .await?;
                    job_seqs = rows::seqs_by(inserted, "submission_id")?;
                    received = events
                        .into_iter()
                        .filter(|e| seqs.contains_key(&e.submission_id))
                        .collect();
                }
                let cursors = insert_events(&txn, &received).await?;
                // Content stored before is read back.
                let others: Vec<&String> =
                    ids.iter().filter(|id| !seqs.contains_key(*id)).collect();
                let existing: HashMap<String, submission::Model> = if others.is_empty() {
                    HashMap::new()
                } else {
                    submission::Entity::find()
                        .filter(one_of(
                            txn.get_database_backend(),
                            submission::Column::Id,
                            others.into_iter().cloned(),
                        ))
                        .all(&txn)
                        .await?
                        .into_iter()
                        .map(|r| (r.id.clone(), r))
                        .collect()
                };
                // A collision with a stored row rolls the batch back.
                for (id, (tenant, digest)) in ids.iter().zip(&contents) {
                    if existing
                        .get(id)
                        .is_some_and(|r| (&r.tenant, &r.content_digest) != (tenant, digest))
                    {
                        return Err(taken(id));
                    }
                }
                txn.commit().await?;
                Ok(SubmissionsWritten {
                    seqs,
                    job_seqs,
                    received: received.into_iter().zip(cursors).collect(),
                    existing,
                })
            })
            .await?;
        submit_outcomes(news, written)
    }

    /// A repeat of content stored under its earlier id keeps that id. Those
    /// rows predate the upgrade and never change, so the read needs no write
    /// turn; a database that held none skips it.
    async fn keep_earlier_ids(&self, news: &mut [NewSubmission]) -> Result<()> {
        use submission::Column as C;
        if self.earlier_ids_until == 0 {
            return Ok(());
        }
        let earlier: Vec<String> = news.iter().filter_map(|n| n.earlier_id.clone()).collect();
        if earlier.is_empty() {
            return Ok(());
        }
        let stored: std::collections::HashSet<String> = submission::Entity::find()
            .select_only()
            .column(C::Id)
            .filter(one_of(self.db.get_database_backend(), C::Id, earlier))
            .filter(C::Seq.lte(self.earlier_ids_until))
            .into_tuple()
            .all(&self.db)
            .await?
            .into_iter()
            .collect();
        for n in news {
            if let Some(earlier) = n.earlier_id.take_if(|e| stored.contains(e)) {
                n.id = earlier;
            }
        }
        Ok(())
    }

    /// The stored forms (encoded `jixiao.v1.Form`) of these submissions, by
    /// id, in one query (keyed by the `seq` the rows carry).
    pub async fn forms_of(
        &self,
        submissions: &[submission::Model],
    ) -> Result<std::collections::HashMap<String, Vec<u8>>> {
        let ids: std::collections::HashMap<i64, &str> =
            submissions.iter().map(|m| (m.seq, m.id.as_str())).collect();
        submission_form::Entity::find()
            .filter(one_of(
                self.db.get_database_backend(),
                submission_form::Column::Seq,
                ids.keys().copied(),
            ))
            .all(&self.db)
            .await?
            .into_iter()
            .filter_map(|f| Some((ids.get(&f.seq)?.to_string(), f.form)))
            .map(|(id, form)| Ok((id, blob::from_store(form)?)))
            .collect()
    }

    /// The submissions of `ids` that exist, in one query.
    pub async fn submissions(&self, ids: &[String]) -> Result<Vec<submission::Model>> {
        Ok(submission::Entity::find()
            .filter(one_of(
                self.db.get_database_backend(),
                submission::Column::Id,
                ids.iter().cloned(),
            ))
            .all(&self.db)
            .await?)
    }

    pub async fn submission(&self, id: &str) -> Result<Option<submission::Model>> {
        Ok(submission::Entity::find()
            .filter(submission::Column::Id.eq(id))
            .one(&self.db)
            .await?)
    }

    /// A page of submissions after `after_seq`, oldest first.
    pub async fn list_submissions(
        &self,
        f: &SubmissionFilter,
        after_seq: i64,
        limit: u64,
    ) -> Result<Vec<submission::Model>> {
        use submission::Column as C;
        let mut f = f.clone();
        self.narrow_region::<submission::Entity>(C::Tenant, &mut f.tenant, &mut f.region)
            .await?;
        let f = &f;
        let Some(unit) = &f.unit else {
            return Ok(listing(f, after_seq, limit, None).all(&self.db).await?);
        };
        // A unit may be any of the three: one indexed query per column (an OR
        // across them makes the databases scan the table), merged in order.
        let mut rows: Vec<submission::Model> = Vec::new();
        for column in [C::BudgetUnit, C::CompetentDepartment, C::ImplementingUnit] {
            rows.extend(
                listing(f, after_seq, limit, Some((column, unit)))
                    .all(&self.db)
                    .await?,
            );
        }
        rows.sort_by_key(|r| r.seq);
        rows.dedup_by_key(|r| r.seq);
        rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        Ok(rows)
    }

    /// On SQLite, a listing by `region` alone becomes one by the region's
    /// tenant when no row of `E` lies under the region (a restricted
    /// caller's own tenant, which every listing of theirs selects as a
    /// region). A tenant's index gives its rows in order; for a region,
    /// SQLite without statistics either sorts all of its rows for every page
    /// or reads the whole table in order, filtering (BENCHMARKS.md). PostgreSQL's
    /// planner weighs a region by its statistics, and without the C
    /// collation this probe would scan the table.
    async fn narrow_region<E: EntityTrait>(
        &self,
        column: E::Column,
        tenant: &mut Option<String>,
        region: &mut Option<String>,
    ) -> Result<()> {
        if tenant.is_some() || self.db.get_database_backend() != DbBackend::Sqlite {
            return Ok(());
        }
        let Some(r) = region.as_deref() else {
            return Ok(());
        };
        let under = E::find()
            .select_only()
            .column(column)
            .filter(under_region(column, r))
            .limit(1)
            .into_tuple::<String>()
            .one(&self.db)
            .await?;
        if under.is_none() {
            *tenant = region.take();
        }
        Ok(())
    }

    /// Queues (again) a scoring job per submission with `rulebook_id`, in one
    /// transaction; a job already there goes back to `queued`.
    pub async fn queue_jobs(
        &self,
        submission_ids: &[String],
        rulebook_id: &str,
        at: i64,
        trace_context: &str,
    ) -> Result<()> {
        if submission_ids.is_empty() {
            return Ok(());
        }
        let seqs = seqs_of(&self.db, submission_ids.iter().map(String::as_str)).await?;
        if seqs.is_empty() {
            return Ok(());
        }
        let txn = self.write().await?;
        // A submission that does not exist gets no job: no worker could do it.
        scoring_job::Entity::insert_many(seqs.into_iter().map(|(id, seq)| {
            scoring_job::ActiveModel {
                seq: NotSet,
                submission_seq: Set(seq),
                submission_id: Set(id),
                rulebook_id: Set(rulebook_id.to_string()),
                enqueued_at: Set(at),
                trace_context: Set(trace_context.to_string()),
            }
        }))
        .on_conflict(
            OnConflict::columns([
                scoring_job::Column::SubmissionSeq,
                scoring_job::Column::RulebookId,
            ])
            .update_columns([
                scoring_job::Column::EnqueuedAt,
                scoring_job::Column::TraceContext,
            ])
            .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?;
        txn.commit().await?;
        Ok(())
    }

    /// Queued scoring jobs after `after_seq`, in order, for the relay that
    /// refills the queue at start and when the queue lost jobs.
    pub async fn queued_jobs(&self, after_seq: i64, limit: u64) -> Result<Vec<scoring_job::Model>> {
        Ok(scoring_job::Entity::find()
            .filter(scoring_job::Column::Seq.gt(after_seq))
            .order_by_asc(scoring_job::Column::Seq)
            .limit(limit)
            .all(&self.db)
            .await?)
    }

    /// How many jobs are still queued that were queued before `cutoff`
    /// (epoch millis).
    pub async fn count_jobs_queued_before(&self, cutoff: i64) -> Result<u64> {
        use sea_orm::PaginatorTrait;
        Ok(scoring_job::Entity::find()
            .filter(scoring_job::Column::EnqueuedAt.lt(cutoff))
            .count(&self.db)
            .await?)
    }

    /// Stores a scorecard, completes its job and advances the submission to
    /// `scored`, in one transaction. A scorecard for the same (submission,
    /// rulebook, version) already stored wins: the call is idempotent, and the
    /// event is `None` for a repeat.
    pub async fn save_scorecard(
        &self,
        new: NewScoreCard,
    ) -> Result<(scorecard::Model, Option<event::Model>)> {
        let mut out = self.save_scorecards(vec![new]).await?;
        Ok(out.remove(0))
    }

    /// As [`Store::save_scorecard`] for a batch, in one transaction whatever its
    /// size: the cards (new ones only), their jobs, the submissions' status and
    /// the events are each one statement. Results follow the input order.
    pub async fn save_scorecards(
        &self,
        news: Vec<NewScoreCard>,
    ) -> Result<Vec<(scorecard::Model, Option<event::Model>)>> {
        Ok(self
            .save_scorecards_and_findings(news, Vec::new(), 0)
            .await?
            .0)
    }

    /// [`Store::save_scorecards`] and then [`Store::replace_findings_many`] for
    /// the same forms, in one transaction: one turn at the writer gate and one
    /// commit where the two would take two. Returns what each would.
    pub async fn save_scorecards_and_findings(
        &self,
        cards: Vec<NewScoreCard>,
        findings: Vec<(String, Vec<NewFinding>)>,
        at: i64,
    ) -> Result<ScoredAndAudited> {
        if cards.is_empty() && findings.is_empty() {
            return Ok((Vec::new(), Vec::new()));
        }
        let ids = cards.iter().map(|c| c.submission_id.as_str());
        let seqs = seqs_of(
            &self.db,
            ids.chain(findings.iter().map(|(id, _)| id.as_str())),
        )
        .await?;
        // Everything that can be is built before the write turn.
        let values = scorecard_values(&cards, &seqs)?;
        let findings_rows = findings_rows(&findings);
        let events = scored_events(&cards);
        let store = self.clone();
        let (cards, seqs, written, scored, audited) = self
            .on_writer(async move {
                // The submissions audited below, in this transaction, go
                // from received to audited in one update.
                let audited_next = findings.iter().map(|(id, _)| id.as_str()).collect();
                let txn = store.write().await?;
                let (written, mut pending) =
                    store_scorecards(&txn, &cards, values, &seqs, &audited_next, events).await?;
                let scored = pending.len();
                pending.extend(store_findings(&txn, &findings, findings_rows, &seqs, at).await?);
                // Both kinds in one statement, last: the event log's lock is
                // held from there to the commit only.
                let mut logged = log_events(&txn, pending).await?;
                let audited = announced(&findings, logged.split_off(scored));
                txn.commit().await?;
                Ok((cards, seqs, written, logged, audited))
            })
            .await?;
        Ok((cards_out(cards, &seqs, written, scored)?, audited))
    }

    /// The newest scorecard of a submission, optionally for one rulebook.
    pub async fn latest_scorecard(
        &self,
        submission_id: &str,
        rulebook_id: Option<&str>,
    ) -> Result<Option<scorecard::Model>> {
        let Some(&seq) = seqs_of(&self.db, [submission_id]).await?.get(submission_id) else {
            return Ok(None);
        };
        let mut q = scorecard::Entity::find().filter(scorecard::Column::SubmissionSeq.eq(seq));
        if let Some(rb) = rulebook_id {
            q = q.filter(scorecard::Column::RulebookId.eq(rb));
        }
        q.order_by_desc(scorecard::Column::Seq)
            .one(&self.db)
            .await?
            .map(card_out)
            .transpose()
    }

    /// The newest scorecard of each of `submission_ids` (optionally of one
    /// rulebook), in one query; submissions without one are absent.
    pub async fn latest_scorecards(
        &self,
        submission_ids: &[String],
        rulebook_id: Option<&str>,
    ) -> Result<std::collections::HashMap<String, scorecard::Model>> {
        let mut q = scorecard::Entity::find().filter(
            scorecard::Column::SubmissionSeq
                .in_subquery(seqs_where_id_in(submission_ids.iter().cloned())),
        );
        if let Some(rb) = rulebook_id {
            q = q.filter(scorecard::Column::RulebookId.eq(rb));
        }
        // Sorted here rather than by ORDER BY, which can turn PostgreSQL from
        // the submission index to a scan; ascending, so a later card wins.
        let mut cards = q.all(&self.db).await?;
        cards.sort_by_key(|c| c.seq);
        cards
            .into_iter()
            .map(|c| Ok((c.submission_id.clone(), card_out(c)?)))
            .collect()
    }

    /// Every finding (per form and cross-form) of `submission_ids`, oldest first.
    pub async fn findings_of(&self, submission_ids: &[String]) -> Result<Vec<StoredFinding>> {
        // Sorted here: an ORDER BY can turn PostgreSQL from the submission index.
        let mut rows = finding::Entity::find()
            .filter(
                finding::Column::SubmissionSeq
                    .in_subquery(seqs_where_id_in(submission_ids.iter().cloned())),
            )
            .all(&self.db)
            .await?;
        rows.sort_by_key(|f| f.seq);
        let mut out = Vec::new();
        for row in rows {
            out.extend(findings_in(row)?);
        }
        Ok(out)
    }

    /// Replaces a submission's findings and marks it `audited`, in one
    /// transaction. Repeating the same findings writes nothing and returns no event.
    pub async fn replace_findings(
        &self,
        submission_id: &str,
        findings: Vec<NewFinding>,
        at: i64,
    ) -> Result<Option<event::Model>> {
        let mut out = self
            .replace_findings_many(vec![(submission_id.to_string(), findings)], at)
            .await?;
        Ok(out.remove(0))
    }

    /// As [`Store::replace_findings`] for a batch, in one transaction: one
    /// statement each to read the submissions and their findings, delete the
    /// replaced ones, insert the new ones, advance the status and log the
    /// events. Results follow the input order.
    pub async fn replace_findings_many(
        &self,
        items: Vec<(String, Vec<NewFinding>)>,
        at: i64,
    ) -> Result<Vec<Option<event::Model>>> {
        if items.is_empty() {
            return Ok(Vec::new());
        }
        let seqs = seqs_of(&self.db, items.iter().map(|(id, _)| id.as_str())).await?;
        let rows = findings_rows(&items);
        let txn = self.write().await?;
        let pending = store_findings(&txn, &items, rows, &seqs, at).await?;
        let logged = log_events(&txn, pending).await?;
        txn.commit().await?;
        Ok(announced(&items, logged))
    }

    /// Replaces the cross-form findings of a department and year, in one
    /// transaction. Each finding names the submission it points at.
    pub async fn replace_department_findings(
        &self,
        tenant: &str,
        budget_unit: &str,
        fiscal_year: i32,
        findings: Vec<(String, NewFinding)>,
    ) -> Result<()> {
        let seqs = seqs_of(&self.db, findings.iter().map(|(id, _)| id.as_str())).await?;
        // One row per submission pointed at, in the order each first appears.
        let mut by_submission: Vec<(String, Vec<NewFinding>)> = Vec::new();
        let mut at_index = std::collections::HashMap::new();
        for (submission_id, f) in findings {
            let i = *at_index.entry(submission_id.clone()).or_insert_with(|| {
                by_submission.push((submission_id, Vec::new()));
                by_submission.len() - 1
            });
            by_submission[i].1.push(f);
        }
        let mut rows = Vec::new();
        let stored = findings_rows(&by_submission);
        for ((submission_id, _), stored) in by_submission.iter().zip(stored) {
            for row in stored {
                rows.push(finding::ActiveModel {
                    seq: NotSet,
                    submission_seq: Set(seq_of(&seqs, submission_id)?),
                    submission_id: Set(submission_id.clone()),
                    rule_ids: Set(row.rule_ids),
                    max_severity: Set(row.max_severity),
                    findings: Set(row.findings),
                    scope: Set(SCOPE_DEPARTMENT.into()),
                    tenant: Set(tenant.to_string()),
                    budget_unit: Set(budget_unit.to_string()),
                    fiscal_year: Set(fiscal_year),
                });
            }
        }
        let txn = self.write().await?;
        finding::Entity::delete_many()
            .filter(finding::Column::Scope.eq(SCOPE_DEPARTMENT))
            .filter(finding::Column::Tenant.eq(tenant))
            .filter(finding::Column::BudgetUnit.eq(budget_unit))
            .filter(finding::Column::FiscalYear.eq(fiscal_year))
            .exec(&txn)
            .await?;
        if !rows.is_empty() {
            finding::Entity::insert_many(rows).exec(&txn).await?;
        }
        txn.commit().await?;
        Ok(())
    }

    /// Up to `limit` findings after position `after` (a [`StoredFinding::seq`])
    /// that pass `f`, in order. Rows are narrowed in SQL (by their highest
    /// severity and their rule ids) and the findings picked out of them here.
    pub async fn list_findings(
        &self,
        f: &FindingFilter,
        after: i64,
        limit: u64,
    ) -> Result<Vec<StoredFinding>> {
        let mut f = f.clone();
        if f.submission_id.is_none() {
            // A named form's rows are read by its own index (`finding_listing`).
            self.narrow_region::<finding::Entity>(
                finding::Column::Tenant,
                &mut f.tenant,
                &mut f.region,
            )
            .await?;
        }
        let f = &f;
        let submission_seq = match &f.submission_id {
            // Resolved first: with a subquery SQLite may pick another index.
            Some(s) => match seqs_of(&self.db, [s.as_str()]).await?.get(s) {
                Some(&seq) => Some(seq),
                None => return Ok(Vec::new()),
            },
            None => None,
        };
        let wanted = |x: &StoredFinding| {
            x.seq > after
                && f.min_severity.is_none_or(|min| x.severity >= min)
                && f.rule_id.as_ref().is_none_or(|r| x.rule_id == *r)
        };
        let limit = limit as usize;
        if limit == 0 {
            return Ok(Vec::new());
        }
        let rows_per_read = limit.clamp(16, 1000) as u64;
        let mut from_row = after.max(0) >> packed::INDEX_BITS;
        let mut out = Vec::new();
        loop {
            let rows = finding_listing(f, submission_seq, from_row, rows_per_read)
                .all(&self.db)
                .await?;
            let full = rows.len() as u64 == rows_per_read;
            for row in rows {
                from_row = row.seq + 1;
                // What the SQL left out for a named form (else it said the same).
                if submission_seq.is_some() && !in_place(f, &row) {
                    continue;
                }
                for x in findings_in(row)?.filter(&wanted) {
                    out.push(x);
                    if out.len() == limit {
                        return Ok(out);
                    }
                }
            }
            if !full {
                return Ok(out);
            }
        }
    }

    /// The newest event's cursor; 0 when there is none.
    pub async fn last_event_seq(&self) -> Result<i64> {
        Ok(event::Entity::find()
            .order_by_desc(event::Column::Seq)
            .one(&self.db)
            .await?
            .map(|e| e.seq)
            .unwrap_or(0))
    }

    /// Appends an event that announces no row of its own (an export).
    #[allow(clippy::too_many_arguments)]
    pub async fn record_event(
        &self,
        event_type: &'static str,
        submission_id: &str,
        tenant: &str,
        budget_unit: &str,
        fiscal_year: i32,
        at: i64,
        detail: String,
    ) -> Result<event::Model> {
        let new = NewEvent {
            event_type,
            submission_id: submission_id.into(),
            tenant: tenant.into(),
            budget_unit: budget_unit.into(),
            fiscal_year,
            at,
            detail,
        };
        let txn = self.write().await?;
        let seq = insert_events(&txn, std::slice::from_ref(&new))
            .await?
            .pop()
            .ok_or_else(|| internal("the event cannot be read back"))?;
        txn.commit().await?;
        Ok(new.stored(seq))
    }

    /// Deletes all but the newest `keep` events and records how far the log
    /// now starts; returns how many were deleted.
    /// `announce` hears the new mark before any event goes: a process that
    /// serves events from memory learns of the trim before the log shows it.
    /// Should the trim then fail, the next one takes at least that mark.
    pub async fn trim_events(&self, keep: u64, announce: impl FnOnce(i64)) -> Result<u64> {
        let newest = self.last_event_seq().await?;
        let through = newest - i64::try_from(keep).unwrap_or(i64::MAX).min(newest);
        if through <= self.events_trimmed_through().await? {
            return Ok(0);
        }
        announce(through);
        let txn = self.write().await?;
        // Recorded first: a watcher that reads the mark after its page knows
        // whether anything above its cursor may be gone.
        event_log::Entity::update_many()
            .col_expr(event_log::Column::TrimmedThrough, through.into())
            .filter(event_log::Column::Id.eq(1))
            .filter(event_log::Column::TrimmedThrough.lt(through))
            .exec(&txn)
            .await?;
        let deleted = event::Entity::delete_many()
            .filter(event::Column::Seq.lte(through))
            .exec(&txn)
            .await?
            .rows_affected;
        txn.commit().await?;
        Ok(deleted)
    }

    /// Every event with a cursor at or below this is gone; 0 when none is.
    pub async fn events_trimmed_through(&self) -> Result<i64> {
        Ok(event_log::Entity::find_by_id(1)
            .one(&self.db)
            .await?
            .map(|r| r.trimmed_through)
            .unwrap_or(0))
    }

    /// Stores a new API token (its hash, never the token).
    pub async fn create_token(&self, token: api_token::Model) -> Result<()> {
        let txn = self.write().await?;
        api_token::Entity::insert(api_token::ActiveModel::from(token))
            .exec(&txn)
            .await?;
        txn.commit().await?;
        Ok(())
    }

    pub async fn token(&self, id: &str) -> Result<Option<api_token::Model>> {
        Ok(api_token::Entity::find_by_id(id.to_string())
            .one(&self.db)
            .await?)
    }

    pub async fn tokens(&self) -> Result<Vec<api_token::Model>> {
        Ok(api_token::Entity::find()
            .order_by_asc(api_token::Column::CreatedAt)
            .all(&self.db)
            .await?)
    }

    /// Revokes a token; false when there is no such token or it was revoked already.
    pub async fn revoke_token(&self, id: &str, at: i64) -> Result<bool> {
        let txn = self.write().await?;
        let r = api_token::Entity::update_many()
            .col_expr(api_token::Column::RevokedAt, Some(at).into())
            .filter(api_token::Column::Id.eq(id))
            .filter(api_token::Column::RevokedAt.is_null())
            .exec(&txn)
            .await?;
        txn.commit().await?;
        Ok(r.rows_affected > 0)
    }

    /// Events after `cursor`, oldest first.
    pub async fn events_after(
        &self,
        cursor: i64,
        limit: u64,
        f: &EventFilter,
    ) -> Result<Vec<event::Model>> {
        let mut q = event::Entity::find().filter(event::Column::Seq.gt(cursor));
        if let Some(t) = &f.tenant {
            q = q.filter(event::Column::Tenant.eq(t));
        }
        if let Some(r) = &f.region {
            q = q.filter(in_region(event::Column::Tenant, r));
        }
        if let Some(u) = &f.budget_unit {
            q = q.filter(event::Column::BudgetUnit.eq(u));
        }
        if !f.types.is_empty() {
            q = q.filter(event::Column::EventType.is_in(f.types.clone()));
        }
        Ok(q.order_by_asc(event::Column::Seq)
            .limit(limit)
            .all(&self.db)
            .await?)
    }
}

/// Up to `rows` findings rows from `from_row` on that pass what `f` can
/// narrow in SQL, in order; `submission_seq` is `f.submission_id` resolved.
fn finding_listing(
    f: &FindingFilter,
    submission_seq: Option<i64>,
    from_row: i64,
    rows: u64,
) -> sea_orm::Select<finding::Entity> {
    let mut q = finding::Entity::find();
    if let Some(seq) = submission_seq {
        // One form's few rows by its own index; the rest is checked on them
        // (`in_place`): with the tenant in SQL too, SQLite read the tenant's
        // whole index in order instead.
        q = q.filter(finding::Column::SubmissionSeq.eq(seq));
    } else {
        if let Some(t) = &f.tenant {
            q = q.filter(finding::Column::Tenant.eq(t));
        }
        if let Some(r) = &f.region {
            q = q.filter(in_region(finding::Column::Tenant, r));
        }
        if let Some(u) = &f.budget_unit {
            q = q.filter(finding::Column::BudgetUnit.eq(u));
        }
        if let Some(y) = f.fiscal_year {
            q = q.filter(finding::Column::FiscalYear.eq(y));
        }
    }
    if let Some(min) = f.min_severity {
        q = q.filter(finding::Column::MaxSeverity.gte(min));
    }
    if let Some(r) = &f.rule_id {
        let escaped = r.replace('!', "!!").replace('%', "!%").replace('_', "!_");
        q = q.filter(
            finding::Column::RuleIds
                .like(sea_orm::sea_query::LikeExpr::new(format!("% {escaped} %")).escape('!')),
        );
    }
    q.filter(finding::Column::Seq.gte(from_row))
        .order_by_asc(finding::Column::Seq)
        .limit(rows)
}

/// Whether a findings row is in `f`'s tenant, region, unit and year, as the
/// SQL of [`finding_listing`] says when no form is named.
fn in_place(f: &FindingFilter, row: &finding::Model) -> bool {
    f.tenant.as_ref().is_none_or(|t| row.tenant == *t)
        && f.region
            .as_ref()
            .is_none_or(|r| jixiao_auth::within(&row.tenant, r))
        && f.budget_unit.as_ref().is_none_or(|u| row.budget_unit == *u)
        && f.fiscal_year.is_none_or(|y| row.fiscal_year == y)
}

/// A page of submissions after `after_seq` in sequence order, narrowed by
/// `f` and, for a unit, by one of the three unit columns.
fn listing(
    f: &SubmissionFilter,
    after_seq: i64,
    limit: u64,
    unit_column: Option<(submission::Column, &String)>,
) -> sea_orm::Select<submission::Entity> {
    use submission::Column as C;
    let mut q = submission::Entity::find().filter(C::Seq.gt(after_seq));
    if let Some(t) = &f.tenant {
        q = q.filter(C::Tenant.eq(t));
    }
    if let Some(r) = &f.region {
        q = q.filter(in_region(C::Tenant, r));
    }
    if let Some((column, unit)) = unit_column {
        q = q.filter(column.eq(unit));
    }
    if let Some(y) = f.fiscal_year {
        q = q.filter(C::FiscalYear.eq(y));
    }
    if let Some(s) = &f.status {
        q = q.filter(C::Status.eq(s));
    }
    q.order_by_asc(C::Seq).limit(limit)
}

/// `column` is `region` or a path under it (`region/…`); LIKE wildcards in
/// the region are taken literally.
pub(crate) fn in_region(column: impl ColumnTrait, region: &str) -> sea_orm::Condition {
    sea_orm::Condition::any()
        .add(column.eq(region))
        .add(under_region(column, region))
}

/// `column` is a path under `region` (`region/…`).
fn under_region(column: impl ColumnTrait, region: &str) -> sea_orm::sea_query::SimpleExpr {
    use sea_orm::sea_query::{Expr, LikeExpr};
    let escaped = region
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    Expr::col((column.entity_name(), column))
        .like(LikeExpr::new(format!("{escaped}/%")).escape('\\'))
}

/// Each of `ids` that exists, with its sequence number, in one query. The
/// pair never changes, so it is read before a write turn, not in it.
async fn seqs_of<'a>(
    db: &impl ConnectionTrait,
    ids: impl IntoIterator<Item = &'a str>,
) -> Result<std::collections::HashMap<String, i64>> {
    let unique: std::collections::BTreeSet<&str> = ids.into_iter().collect();
    Ok(submission::Entity::find()
        .select_only()
        .columns([submission::Column::Id, submission::Column::Seq])
        .filter(one_of(
            db.get_database_backend(),
            submission::Column::Id,
            unique.into_iter().map(str::to_string),
        ))
        .into_tuple::<(String, i64)>()
        .all(db)
        .await?
        .into_iter()
        .collect())
}

/// `column IN (values)`. On PostgreSQL it is `column = ANY($1)` with the
/// values bound as one array, so a query is one statement whatever the
/// batch's size, prepared once per connection and planned once (an IN list
/// is a statement per length, and a batch's length varies); SQLite has no
/// arrays.
fn one_of<V>(
    backend: DbBackend,
    column: impl ColumnTrait,
    values: impl IntoIterator<Item = V>,
) -> sea_orm::sea_query::SimpleExpr
where
    V: Into<sea_orm::Value>,
    Vec<V>: Into<sea_orm::Value>,
{
    match backend {
        DbBackend::Postgres => {
            let values: Vec<V> = values.into_iter().collect();
            sea_orm::sea_query::Expr::col(column.as_column_ref()).eq(
                sea_orm::sea_query::extension::postgres::PgFunc::any(
                    sea_orm::sea_query::Expr::val(values),
                ),
            )
        }
        _ => column.is_in(values),
    }
}

/// The sequence number of a submission that must exist.
fn seq_of(seqs: &std::collections::HashMap<String, i64>, id: &str) -> Result<i64> {
    seqs.get(id)
        .copied()
        .ok_or_else(|| internal(&format!("submission {id} does not exist")))
}

/// `SELECT seq FROM submissions WHERE id IN (ids)`, for the tables keyed by it.
fn seqs_where_id_in(ids: impl IntoIterator<Item = String>) -> sea_orm::sea_query::SelectStatement {
    sea_orm::sea_query::Query::select()
        .column(submission::Column::Seq)
        .from(submission::Entity)
        .and_where(submission::Column::Id.is_in(ids))
        .to_owned()
}

/// What [`Store::submit_many`] wrote: the new submissions' sequences, their
/// jobs' sequences and their `received` events with cursors, and the stored
/// submissions with the same content as the others.
struct SubmissionsWritten {
    seqs: std::collections::HashMap<String, i64>,
    job_seqs: std::collections::HashMap<String, i64>,
    received: Vec<(NewEvent, i64)>,
    existing: std::collections::HashMap<String, submission::Model>,
}

/// [`Store::submit_many`]'s outcomes, in request order; a repeat inside the
/// batch is "already there" after its first.
fn submit_outcomes(
    news: Vec<NewSubmission>,
    written: SubmissionsWritten,
) -> Result<Vec<SubmitOutcome>> {
    let SubmissionsWritten {
        seqs,
        job_seqs,
        received,
        existing,
    } = written;
    let mut events: std::collections::HashMap<String, event::Model> = received
        .into_iter()
        .map(|(e, seq)| (e.submission_id.clone(), e.stored(seq)))
        .collect();
    in_request_order(
        news,
        |n| &n.id,
        |n| {
            Ok(match seqs.get(&n.id) {
                Some(&seq) => {
                    let job_seq = *job_seqs
                        .get(&n.id)
                        .ok_or_else(|| internal("a queued job cannot be read back"))?;
                    let event = events
                        .remove(&n.id)
                        .ok_or_else(|| internal("a received event cannot be read back"))?;
                    let job = scoring_job::Model {
                        seq: job_seq,
                        submission_seq: seq,
                        submission_id: n.id.clone(),
                        rulebook_id: n.rulebook_id,
                        enqueued_at: n.received_at,
                        trace_context: n.trace_context,
                    };
                    SubmitOutcome {
                        submission: submission::Model {
                            seq,
                            id: n.id,
                            tenant: n.tenant,
                            content_digest: n.content_digest,
                            kind: n.kind,
                            budget_unit: n.budget_unit,
                            competent_department: n.competent_department,
                            implementing_unit: n.implementing_unit,
                            project_name: n.project_name,
                            fiscal_year: n.fiscal_year,
                            status: STATUS_RECEIVED.to_string(),
                            received_at: n.received_at,
                        },
                        created: Some(Created { job, event }),
                    }
                }
                None => SubmitOutcome {
                    submission: existing
                        .get(&n.id)
                        .cloned()
                        .ok_or_else(|| internal("submission conflicted but cannot be read back"))?,
                    created: None,
                },
            })
        },
        |first| SubmitOutcome {
            submission: first.submission.clone(),
            created: None,
        },
    )
}

/// One outcome per item, in order: an id's first item makes its outcome, a
/// repeat of the id gets `repeat` of that first one.
fn in_request_order<N, O>(
    news: Vec<N>,
    id: impl Fn(&N) -> &String,
    mut make: impl FnMut(N) -> Result<O>,
    repeat: impl Fn(&O) -> O,
) -> Result<Vec<O>> {
    let mut out: Vec<O> = Vec::with_capacity(news.len());
    let mut first: std::collections::HashMap<String, usize> = Default::default();
    for n in news {
        if let Some(&k) = first.get(id(&n)) {
            out.push(repeat(&out[k]));
            continue;
        }
        first.insert(id(&n).clone(), out.len());
        out.push(make(n)?);
    }
    Ok(out)
}

/// The scorecards' INSERT values, a row per distinct id: built before the
/// write lock is taken, SQLite having only the one.
fn scorecard_values(
    news: &[NewScoreCard],
    seqs: &std::collections::HashMap<String, i64>,
) -> Result<Vec<Value>> {
    let mut seen = std::collections::HashSet::new();
    let mut values = Vec::with_capacity(news.len() * 11);
    for new in news.iter().filter(|n| seen.insert(&n.id)) {
        values.extend([
            new.id.clone().into(),
            seq_of(seqs, &new.submission_id)?.into(),
            new.submission_id.clone().into(),
            new.rulebook_id.clone().into(),
            new.rulebook_version.clone().into(),
            new.input_digest.clone().into(),
            new.recomputed_total.clone().into(),
            new.grade.clone().into(),
            blob::to_store(&new.card).into(),
            new.computed_at.into(),
            new.tenant.clone().into(),
        ]);
    }
    Ok(values)
}

/// The body of [`Store::save_scorecards_and_findings`] for the cards, inside
/// the caller's transaction; `events` are the `scored` events of the distinct
/// cards, by card id: those of the new ones are returned for the caller to
/// log. The submissions in `audited_next` are audited next in the same
/// transaction, and their status is set there. The models are assembled by
/// [`cards_out`] once the write lock is released.
async fn store_scorecards(
    txn: &Txn,
    news: &[NewScoreCard],
    values: Vec<Value>,
    seqs: &std::collections::HashMap<String, i64>,
    audited_next: &std::collections::HashSet<&str>,
    events: Vec<(String, NewEvent)>,
) -> Result<(CardsWritten, Vec<(String, NewEvent)>)> {
    use std::collections::{HashMap, HashSet};
    if news.is_empty() {
        return Ok(Default::default());
    }
    let mut seen = HashSet::new();
    let distinct: Vec<&NewScoreCard> = news.iter().filter(|n| seen.insert(&n.id)).collect();
    // Only the sequence comes back: the rest is in hand, and a card returned
    // would be copied out of SQLite once more.
    let inserted = rows::insert(
        txn,
        "scorecards",
        &[
            "id",
            "submission_seq",
            "submission_id",
            "rulebook_id",
            "rulebook_version",
            "input_digest",
            "recomputed_total",
            "grade",
            "card",
            "computed_at",
            "tenant",
        ],
        values,
        "ON CONFLICT (submission_seq, rulebook_id, rulebook_version) DO NOTHING RETURNING seq, id",
    )
    .await?;
    let card_seqs = rows::seqs_by(inserted, "id")?;
    // Their jobs are done and leave the outbox, one statement per rulebook.
    let mut by_rulebook: HashMap<&str, Vec<i64>> = HashMap::new();
    for n in &distinct {
        by_rulebook
            .entry(n.rulebook_id.as_str())
            .or_default()
            .push(seqs[&n.submission_id]);
    }
    for (rulebook, submissions) in by_rulebook {
        scoring_job::Entity::delete_many()
            .filter(scoring_job::Column::RulebookId.eq(rulebook))
            .filter(one_of(
                txn.get_database_backend(),
                scoring_job::Column::SubmissionSeq,
                submissions,
            ))
            .exec(txn)
            .await?;
    }
    // Cards stored before (a redelivery) are read back: the first one wins.
    let repeats: HashSet<&str> = distinct
        .iter()
        .filter(|n| !card_seqs.contains_key(&n.id))
        .map(|n| n.id.as_str())
        .collect();
    let mut stored = HashMap::new();
    if !repeats.is_empty() {
        let of = distinct
            .iter()
            .filter(|n| repeats.contains(n.id.as_str()))
            .map(|n| seqs[&n.submission_id]);
        for c in scorecard::Entity::find()
            .filter(one_of(
                txn.get_database_backend(),
                scorecard::Column::SubmissionSeq,
                of,
            ))
            .all(txn)
            .await?
        {
            if repeats.contains(c.id.as_str()) {
                stored.insert(c.id.clone(), card_out(c)?);
            }
        }
    }
    let scored: Vec<i64> = distinct
        .iter()
        .filter(|n| card_seqs.contains_key(&n.id))
        .filter(|n| !audited_next.contains(n.submission_id.as_str()))
        .map(|n| seqs[&n.submission_id])
        .collect();
    if !scored.is_empty() {
        submission::Entity::update_many()
            .col_expr(submission::Column::Status, STATUS_SCORED.into())
            .filter(one_of(
                txn.get_database_backend(),
                submission::Column::Seq,
                scored,
            ))
            .filter(submission::Column::Status.eq(STATUS_RECEIVED))
            .exec(txn)
            .await?;
    }
    let fresh = events
        .into_iter()
        .filter(|(id, _)| card_seqs.contains_key(id))
        .collect();
    Ok((CardsWritten { card_seqs, stored }, fresh))
}

/// What [`store_scorecards`] wrote: the new cards' sequences, and the cards
/// stored before, by card id.
#[derive(Default)]
struct CardsWritten {
    card_seqs: std::collections::HashMap<String, i64>,
    stored: std::collections::HashMap<String, scorecard::Model>,
}

/// Each card with its `scored` event (`logged`, by card id), in input order;
/// a repeat inside the batch is "already there" after its first. The new
/// cards' bytes move into their models.
fn cards_out(
    news: Vec<NewScoreCard>,
    seqs: &std::collections::HashMap<String, i64>,
    written: CardsWritten,
    logged: Vec<(String, event::Model)>,
) -> Result<Vec<(scorecard::Model, Option<event::Model>)>> {
    let CardsWritten {
        card_seqs,
        mut stored,
    } = written;
    let mut events: std::collections::HashMap<String, event::Model> = logged.into_iter().collect();
    in_request_order(
        news,
        |n| &n.id,
        |n| {
            let card = match card_seqs.get(&n.id) {
                Some(&seq) => scorecard::Model {
                    seq,
                    submission_seq: seq_of(seqs, &n.submission_id)?,
                    id: n.id,
                    submission_id: n.submission_id,
                    rulebook_id: n.rulebook_id,
                    rulebook_version: n.rulebook_version,
                    input_digest: n.input_digest,
                    recomputed_total: n.recomputed_total,
                    grade: n.grade,
                    card: n.card,
                    computed_at: n.computed_at,
                    tenant: n.tenant,
                },
                None => stored
                    .remove(&n.id)
                    .ok_or_else(|| internal("scorecard cannot be read back"))?,
            };
            let event = events.remove(&card.id);
            Ok((card, event))
        },
        |(card, _)| (card.clone(), None),
    )
}

/// The `scored` event of each distinct card, by card id.
fn scored_events(news: &[NewScoreCard]) -> Vec<(String, NewEvent)> {
    let mut seen = std::collections::HashSet::new();
    news.iter()
        .filter(|n| seen.insert(&n.id))
        .map(|n| {
            (
                n.id.clone(),
                NewEvent {
                    event_type: "scored",
                    submission_id: n.submission_id.clone(),
                    tenant: n.tenant.clone(),
                    budget_unit: n.budget_unit.clone(),
                    fiscal_year: n.fiscal_year,
                    at: n.computed_at,
                    detail: format!("recomputed {} ({})", n.recomputed_total, n.grade),
                },
            )
        })
        .collect()
}

/// Each item's findings rows as stored (packed, compressed): built
/// before the write turn, and used for the forms whose findings change.
fn findings_rows(items: &[(String, Vec<NewFinding>)]) -> Vec<Vec<packed::Row>> {
    items
        .iter()
        .map(|(_, findings)| {
            packed::rows(findings)
                .map(|mut row| {
                    row.findings = blob::to_store(row.findings);
                    row
                })
                .collect()
        })
        .collect()
}

/// The body of [`Store::replace_findings_many`], inside the caller's
/// transaction; `rows` are [`findings_rows`] of `items`. Returns the
/// `audited` events of the submissions whose findings changed, by
/// submission id, for the caller to log.
async fn store_findings(
    txn: &Txn,
    items: &[(String, Vec<NewFinding>)],
    mut rows: Vec<Vec<packed::Row>>,
    seqs: &std::collections::HashMap<String, i64>,
    at: i64,
) -> Result<Vec<(String, NewEvent)>> {
    use std::collections::HashMap;
    if items.is_empty() {
        return Ok(Vec::new());
    }
    let of: Vec<i64> = items
        .iter()
        .filter_map(|(id, _)| seqs.get(id).copied())
        .collect();
    // What the findings and events need of each submission, not its form.
    let subs: HashMap<String, SubmissionHead> = submission::Entity::find()
        .select_only()
        .columns([
            submission::Column::Seq,
            submission::Column::Id,
            submission::Column::Tenant,
            submission::Column::BudgetUnit,
            submission::Column::FiscalYear,
            submission::Column::Status,
        ])
        .filter(one_of(
            txn.get_database_backend(),
            submission::Column::Seq,
            of,
        ))
        .into_tuple::<(i64, String, String, String, i32, String)>()
        .all(txn)
        .await?
        .into_iter()
        .map(|(seq, id, tenant, budget_unit, fiscal_year, status)| {
            (
                id.clone(),
                SubmissionHead {
                    seq,
                    id,
                    tenant,
                    budget_unit,
                    fiscal_year,
                    status,
                },
            )
        })
        .collect();
    // Only an audited submission has findings of its own to compare and
    // replace; the first audit of each (the usual case) reads none.
    let audited: Vec<i64> = subs
        .values()
        .filter(|s| s.status == STATUS_AUDITED)
        .map(|s| s.seq)
        .collect();
    // Each audited submission's stored findings, packed (rows in order).
    let mut existing: HashMap<String, Vec<(i64, Vec<u8>)>> = HashMap::new();
    if !audited.is_empty() {
        // No ORDER BY: sorted here, so the planner keeps to the submission index.
        for f in finding::Entity::find()
            .filter(one_of(
                txn.get_database_backend(),
                finding::Column::SubmissionSeq,
                audited,
            ))
            .filter(finding::Column::Scope.eq(SCOPE_FORM))
            .all(txn)
            .await?
        {
            existing
                .entry(f.submission_id)
                .or_default()
                .push((f.seq, blob::from_store(f.findings)?));
        }
        for rows in existing.values_mut() {
            rows.sort_by_key(|(seq, _)| *seq);
        }
    }
    // What changes: a submission not yet audited, or whose findings differ.
    // Each with its index in `items` (and `rows`).
    let mut changed: Vec<(&SubmissionHead, usize)> = Vec::new();
    let mut done = std::collections::HashSet::new();
    for (item, (id, findings)) in items.iter().enumerate() {
        let sub = subs
            .get(id)
            .ok_or_else(|| internal(&format!("submission {id} does not exist")))?;
        if !done.insert(id.clone()) {
            continue;
        }
        let before = existing.get(id).map(Vec::as_slice).unwrap_or(&[]);
        // Nothing stored (a first audit): the same only if there is nothing now.
        let same = if before.is_empty() {
            findings.is_empty()
        } else {
            before
                .iter()
                .flat_map(|(_, packed)| packed.iter())
                .eq(packed::pack(findings).iter())
        };
        if same && sub.status == STATUS_AUDITED {
            continue;
        }
        changed.push((sub, item));
    }
    if changed.is_empty() {
        return Ok(Vec::new());
    }
    let changed_seqs: Vec<i64> = changed.iter().map(|(s, _)| s.seq).collect();
    let replaced: Vec<i64> = changed
        .iter()
        .filter(|(s, _)| existing.contains_key(&s.id))
        .map(|(s, _)| s.seq)
        .collect();
    if !replaced.is_empty() {
        finding::Entity::delete_many()
            .filter(one_of(
                txn.get_database_backend(),
                finding::Column::SubmissionSeq,
                replaced,
            ))
            .filter(finding::Column::Scope.eq(SCOPE_FORM))
            .exec(txn)
            .await?;
    }
    // One row per form (a form with none has none).
    let mut values = Vec::new();
    for (sub, item) in &changed {
        for row in std::mem::take(&mut rows[*item]) {
            values.extend::<[Value; 9]>([
                sub.seq.into(),
                sub.id.clone().into(),
                row.rule_ids.into(),
                row.max_severity.into(),
                row.findings.into(),
                SCOPE_FORM.into(),
                sub.tenant.clone().into(),
                sub.budget_unit.clone().into(),
                sub.fiscal_year.into(),
            ]);
        }
    }
    rows::insert(
        txn,
        "findings",
        &[
            "submission_seq",
            "submission_id",
            "rule_ids",
            "max_severity",
            "findings",
            "scope",
            "tenant",
            "budget_unit",
            "fiscal_year",
        ],
        values,
        "",
    )
    .await?;
    submission::Entity::update_many()
        .col_expr(submission::Column::Status, STATUS_AUDITED.into())
        .filter(one_of(
            txn.get_database_backend(),
            submission::Column::Seq,
            changed_seqs,
        ))
        .exec(txn)
        .await?;
    Ok(changed
        .iter()
        .map(|&(sub, item)| {
            let event = NewEvent {
                event_type: "audited",
                submission_id: sub.id.clone(),
                tenant: sub.tenant.clone(),
                budget_unit: sub.budget_unit.clone(),
                fiscal_year: sub.fiscal_year,
                at,
                detail: format!("{} findings", items[item].1.len()),
            };
            (sub.id.clone(), event)
        })
        .collect())
}

/// Each item's `audited` event, in input order: its first time only, and
/// none for an item whose findings did not change.
fn announced(
    items: &[(String, Vec<NewFinding>)],
    logged: Vec<(String, event::Model)>,
) -> Vec<Option<event::Model>> {
    let events: std::collections::HashMap<String, event::Model> = logged.into_iter().collect();
    let mut seen = std::collections::HashSet::new();
    items
        .iter()
        .map(|(id, _)| {
            seen.insert(id.clone())
                .then(|| events.get(id).cloned())
                .flatten()
        })
        .collect()
}

/// Appends `pending` events (each with the key its caller finds it by) to
/// the log in one statement, in order; each as stored, with its cursor.
async fn log_events(
    txn: &impl ConnectionTrait,
    pending: Vec<(String, NewEvent)>,
) -> Result<Vec<(String, event::Model)>> {
    let (keys, fresh): (Vec<String>, Vec<NewEvent>) = pending.into_iter().unzip();
    let cursors = insert_events(txn, &fresh).await?;
    Ok(keys
        .into_iter()
        .zip(fresh.into_iter().zip(cursors))
        .map(|(key, (e, seq))| (key, e.stored(seq)))
        .collect())
}

/// Event cursors must become visible in order: a watcher resuming after cursor
/// N never looks below N again. On PostgreSQL concurrent transactions could
/// commit a lower sequence after a higher one, so every transaction that writes
/// events takes this lock just before, holding it until commit. Nothing else is
/// locked after it, so it cannot deadlock. SQLite already has one writer.
async fn lock_event_log(txn: &impl ConnectionTrait) -> Result<()> {
    if txn.get_database_backend() == sea_orm::DbBackend::Postgres {
        // A fixed key: the one event log of this database.
        txn.execute_unprepared("SELECT pg_advisory_xact_lock(7594512)")
            .await?;
    }
    Ok(())
}

/// The columns of a submission a state change needs (not its form).
struct SubmissionHead {
    seq: i64,
    id: String,
    tenant: String,
    budget_unit: String,
    fiscal_year: i32,
    status: String,
}

/// An event to append in a batch.
struct NewEvent {
    event_type: &'static str,
    submission_id: String,
    tenant: String,
    budget_unit: String,
    fiscal_year: i32,
    at: i64,
    detail: String,
}

impl NewEvent {
    /// The event as stored, with its cursor.
    fn stored(self, seq: i64) -> event::Model {
        event::Model {
            seq,
            event_type: self.event_type.to_string(),
            submission_id: self.submission_id,
            tenant: self.tenant,
            budget_unit: self.budget_unit,
            fiscal_year: self.fiscal_year,
            at: self.at,
            detail: self.detail,
        }
    }
}

/// Appends events in order, in one statement, and returns their cursors in
/// the same order.
async fn insert_events(txn: &impl ConnectionTrait, news: &[NewEvent]) -> Result<Vec<i64>> {
    if news.is_empty() {
        return Ok(Vec::new());
    }
    lock_event_log(txn).await?;
    let values = news.iter().flat_map(|n| -> [Value; 7] {
        [
            n.event_type.into(),
            n.submission_id.clone().into(),
            n.tenant.clone().into(),
            n.budget_unit.clone().into(),
            n.fiscal_year.into(),
            n.at.into(),
            n.detail.clone().into(),
        ]
    });
    // Only the cursors come back: the rest is in hand, and reading whole rows
    // back out of the driver cost more than the copies.
    let inserted = rows::insert(
        txn,
        "events",
        &[
            "event_type",
            "submission_id",
            "tenant",
            "budget_unit",
            "fiscal_year",
            "at",
            "detail",
        ],
        values.collect(),
        "RETURNING seq",
    )
    .await?;
    let mut seqs = inserted
        .iter()
        .map(|r| r.try_get::<i64>("", "seq"))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    // RETURNING gives no order guarantee; cursors were assigned in the rows' order.
    seqs.sort_unstable();
    if seqs.len() != news.len() {
        return Err(internal("the event log did not take every event"));
    }
    Ok(seqs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::{QueryTrait, Statement};
    use std::sync::Arc;
    use tokio::sync::mpsc;

    /// A new SQLite database file, removed with its log when dropped.
    struct TempDb(std::path::PathBuf);

    impl TempDb {
        fn new(name: &str) -> Self {
            let path =
                std::env::temp_dir().join(format!("jixiao_t_{name}_{}.sqlite", std::process::id()));
            let _ = std::fs::remove_file(&path);
            TempDb(path)
        }

        async fn open(&self) -> Store {
            Store::connect(&format!("sqlite://{}?mode=rwc", self.0.display()))
                .await
                .unwrap()
        }
    }

    impl Drop for TempDb {
        fn drop(&mut self) {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", self.0.display()));
            }
        }
    }

    /// Form `n` of `tenant`, filed by `unit` (预算单位 and 主管部门) and
    /// carried out by `implementing_unit`.
    fn filed(
        n: usize,
        tenant: &str,
        unit: String,
        implementing_unit: String,
        fiscal_year: i32,
    ) -> NewSubmission {
        NewSubmission {
            id: format!("sub_{n}"),
            earlier_id: None,
            tenant: tenant.into(),
            content_digest: format!("d{n}"),
            kind: "project".into(),
            budget_unit: unit.clone(),
            competent_department: unit,
            implementing_unit,
            project_name: format!("项目{n}"),
            fiscal_year,
            form: vec![],
            received_at: 1,
            rulebook_id: "r".into(),
            trace_context: String::new(),
        }
    }

    /// SQLite's plan for each listing of forms or findings: an index that
    /// gives the rows in sequence order, never a sort of all the tenant's
    /// (or a unit's) rows per page.
    #[tokio::test]
    async fn listings_read_an_index_in_order_without_sorting() {
        let db = TempDb::new("listing_plan");
        let store = db.open().await;
        // Two tenants' forms across units and years; no statistics (a
        // database's first minutes, or one never analysed).
        let news = (0..400)
            .map(|n| {
                filed(
                    n,
                    ["湖南省", "湖北省"][n % 2],
                    format!("第{}局", n % 20),
                    format!("第{}所", n % 40),
                    2023 + (n % 2) as i32,
                )
            })
            .collect();
        store.submit_many(news).await.unwrap();
        // Reopened: EXPLAIN reads no table, so a pooled connection would
        // plan it with the schema it had before the migrations.
        drop(store);
        let store = db.open().await;
        let unit = "第3局".to_string();
        let filter = |year: Option<i32>| SubmissionFilter {
            tenant: Some("湖南省".into()),
            fiscal_year: year,
            ..Default::default()
        };
        let findings = |year: Option<i32>, unit: Option<&str>| {
            let f = FindingFilter {
                tenant: Some("湖南省".into()),
                fiscal_year: year,
                budget_unit: unit.map(str::to_string),
                ..Default::default()
            };
            finding_listing(&f, None, 0, 500).build(DbBackend::Sqlite)
        };
        let cases = [
            (
                listing(&filter(None), 0, 500, None).build(DbBackend::Sqlite),
                "ix_submissions_tenant_seq",
            ),
            (
                listing(&filter(Some(2024)), 0, 500, None).build(DbBackend::Sqlite),
                "ix_submissions_tenant_seq",
            ),
            (
                listing(
                    &filter(Some(2024)),
                    0,
                    500,
                    Some((submission::Column::BudgetUnit, &unit)),
                )
                .build(DbBackend::Sqlite),
                "ix_submissions_budget_unit_seq",
            ),
            (
                listing(
                    &filter(None),
                    0,
                    500,
                    Some((submission::Column::ImplementingUnit, &unit)),
                )
                .build(DbBackend::Sqlite),
                "ix_submissions_implementing_unit_seq",
            ),
            (findings(None, None), "ix_findings_tenant_seq"),
            (findings(Some(2024), None), "ix_findings_tenant_seq"),
            (
                findings(Some(2024), Some(&unit)),
                "ix_findings_budget_unit_seq",
            ),
            (findings(None, Some(&unit)), "ix_findings_budget_unit_seq"),
            // One form's findings, for a caller whose region is its tenant:
            // the form's index, not the whole tenant's.
            (
                finding_listing(
                    &FindingFilter {
                        tenant: Some("湖南省".into()),
                        ..Default::default()
                    },
                    Some(7),
                    0,
                    500,
                )
                .build(DbBackend::Sqlite),
                "ix_findings_submission_seq",
            ),
        ];
        for (statement, index) in cases {
            let plan: Vec<String> = store
                .db
                .query_all(Statement::from_sql_and_values(
                    DbBackend::Sqlite,
                    format!("EXPLAIN QUERY PLAN {}", statement.sql),
                    statement.values.expect("bound values"),
                ))
                .await
                .unwrap()
                .iter()
                .map(|r| r.try_get::<String>("", "detail").unwrap())
                .collect();
            let plan = plan.join("; ");
            assert!(plan.contains(index), "{} → {plan}", statement.sql);
            assert!(!plan.contains("TEMP B-TREE"), "{} → {plan}", statement.sql);
        }
    }

    /// A region with no tenant under it is listed as its one tenant, in the
    /// tenant's index order; a region with tenants under it stays a region.
    #[tokio::test]
    async fn a_region_with_no_tenant_under_it_lists_as_its_tenant() {
        let db = TempDb::new("region_narrowing");
        let store = db.open().await;
        let news = ["湖南省", "湖北省", "湖北省/武汉市", "湖北省/武汉市"]
            .iter()
            .enumerate()
            .map(|(n, tenant)| filed(n, tenant, "局".into(), "局".into(), 2024))
            .collect();
        store.submit_many(news).await.unwrap();
        let narrowed = |tenant: Option<&str>, region: &str| {
            let store = store.clone();
            let (mut tenant, mut region) = (tenant.map(str::to_string), Some(region.to_string()));
            async move {
                store
                    .narrow_region::<submission::Entity>(
                        submission::Column::Tenant,
                        &mut tenant,
                        &mut region,
                    )
                    .await
                    .unwrap();
                (tenant, region)
            }
        };
        let some = |s: &str| Some(s.to_string());
        assert_eq!(narrowed(None, "湖南省").await, (some("湖南省"), None));
        assert_eq!(
            narrowed(None, "湖北省/武汉市").await,
            (some("湖北省/武汉市"), None)
        );
        assert_eq!(narrowed(None, "湖北省").await, (None, some("湖北省")));
        // Not a path boundary: nothing lies under 湖北, and nothing is 湖北.
        assert_eq!(narrowed(None, "湖北").await, (some("湖北"), None));
        assert_eq!(
            narrowed(Some("湖北省"), "湖北省").await,
            (some("湖北省"), some("湖北省"))
        );
        // The listings say the same with and without the narrowing.
        let listed = |region: &str| {
            let store = store.clone();
            let f = SubmissionFilter {
                region: Some(region.to_string()),
                ..Default::default()
            };
            async move {
                let rows = store.list_submissions(&f, 0, 10).await.unwrap();
                rows.into_iter().map(|r| r.id).collect::<Vec<_>>()
            }
        };
        assert_eq!(listed("湖南省").await, ["sub_0"]);
        assert_eq!(listed("湖北省").await, ["sub_1", "sub_2", "sub_3"]);
        assert_eq!(listed("湖北").await, Vec::<String>::new());
    }

    #[tokio::test]
    async fn intake_goes_before_writers_queued_ahead_of_it() {
        let gate = Arc::new(WriterGate::default());
        let held = gate.enter(false).await;
        let (order, mut got) = mpsc::unbounded_channel();
        let spawn = |intake: bool, name: &'static str| {
            let (gate, order) = (gate.clone(), order.clone());
            tokio::spawn(async move {
                let _turn = gate.enter(intake).await;
                order.send(name).unwrap();
            })
        };
        let scoring = spawn(false, "scoring");
        tokio::task::yield_now().await;
        let intake = spawn(true, "intake");
        tokio::task::yield_now().await;
        drop(held);
        scoring.await.unwrap();
        intake.await.unwrap();
        assert_eq!(got.recv().await, Some("intake"));
        assert_eq!(got.recv().await, Some("scoring"));
    }

    #[tokio::test]
    async fn a_steady_stream_of_intake_does_not_starve_the_others() {
        let gate = Arc::new(WriterGate::default());
        // Several callers at once, as SubmitBatch streams are: intake's
        // queue never empties while they run.
        let intake: Vec<_> = (0..4)
            .map(|_| {
                let gate = gate.clone();
                tokio::spawn(async move {
                    for _ in 0..1000 {
                        let _turn = gate.enter(true).await;
                        tokio::task::yield_now().await;
                    }
                })
            })
            .collect();
        tokio::task::yield_now().await;
        let scoring = {
            let gate = gate.clone();
            tokio::spawn(async move {
                let _turn = gate.enter(false).await;
            })
        };
        scoring.await.unwrap();
        assert!(
            intake.iter().any(|t| !t.is_finished()),
            "scoring waited for all of intake"
        );
        for t in intake {
            t.await.unwrap();
        }
    }
}
