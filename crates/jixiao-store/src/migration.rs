//! Schema migrations: the same code creates the schema on SQLite and PostgreSQL.

use sea_orm_migration::prelude::*;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(Init),
            Box::new(FindingScope),
            Box::new(EventRetention),
            Box::new(TokensAndTenancy),
            Box::new(FormsApart),
            Box::new(OneKeyPerSubmission),
            Box::new(KeyedBySequence),
            Box::new(Lz4Blobs),
            Box::new(UpdatesInPlace),
            Box::new(FindingsPerForm),
            Box::new(JobsWithoutState),
            Box::new(ListingsInSequence),
            Box::new(FindingListingsInSequence),
            Box::new(EarlierSubmissionIds),
            Box::new(BlobsCompressedByTheStore),
        ]
    }
}

struct Init;

impl MigrationName for Init {
    fn name(&self) -> &str {
        "m20261122_000001_init"
    }
}

#[derive(DeriveIden)]
enum Submissions {
    Table,
    Seq,
    Id,
    Tenant,
    ContentDigest,
    Kind,
    BudgetUnit,
    CompetentDepartment,
    ImplementingUnit,
    ProjectName,
    FiscalYear,
    Status,
    Form,
    ReceivedAt,
}

#[derive(DeriveIden)]
enum ScoringJobs {
    Table,
    Seq,
    SubmissionId,
    RulebookId,
    State,
    EnqueuedAt,
}

#[derive(DeriveIden)]
enum Scorecards {
    Table,
    Seq,
    Id,
    SubmissionId,
    RulebookId,
    RulebookVersion,
    InputDigest,
    RecomputedTotal,
    Grade,
    Card,
    ComputedAt,
}

#[derive(DeriveIden)]
enum Findings {
    Table,
    Seq,
    SubmissionId,
    RuleId,
    Severity,
    Finding,
}

#[derive(DeriveIden)]
enum Events {
    Table,
    Seq,
    EventType,
    SubmissionId,
    Tenant,
    BudgetUnit,
    FiscalYear,
    At,
    Detail,
}

/// Department findings beside per-form ones, and what listings filter on.
struct FindingScope;

impl MigrationName for FindingScope {
    fn name(&self) -> &str {
        "m20261122_000002_finding_scope"
    }
}

#[derive(DeriveIden)]
enum FindingsV2 {
    #[sea_orm(iden = "findings")]
    Table,
    Scope,
    Tenant,
    BudgetUnit,
    FiscalYear,
}

#[async_trait::async_trait]
impl MigrationTrait for FindingScope {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER TABLE.
        for col in [
            ColumnDef::new(FindingsV2::Scope)
                .string()
                .not_null()
                .default("form")
                .to_owned(),
            ColumnDef::new(FindingsV2::Tenant)
                .string()
                .not_null()
                .default("")
                .to_owned(),
            ColumnDef::new(FindingsV2::BudgetUnit)
                .string()
                .not_null()
                .default("")
                .to_owned(),
            ColumnDef::new(FindingsV2::FiscalYear)
                .integer()
                .not_null()
                .default(0)
                .to_owned(),
        ] {
            m.alter_table(
                Table::alter()
                    .table(FindingsV2::Table)
                    .add_column(col)
                    .to_owned(),
            )
            .await?;
        }
        m.create_index(index(
            "ix_findings_department",
            FindingsV2::Table,
            &["tenant", "budget_unit", "fiscal_year", "scope", "seq"],
            false,
        ))
        .await?;
        Ok(())
    }
}

/// How far the event log has been trimmed, so a watcher behind it is told.
struct EventRetention;

impl MigrationName for EventRetention {
    fn name(&self) -> &str {
        "m20261129_000003_event_retention"
    }
}

#[derive(DeriveIden)]
enum EventLog {
    Table,
    Id,
    TrimmedThrough,
}

#[async_trait::async_trait]
impl MigrationTrait for EventRetention {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(EventLog::Table)
                .if_not_exists()
                .col(
                    ColumnDef::new(EventLog::Id)
                        .integer()
                        .not_null()
                        .primary_key(),
                )
                .col(
                    ColumnDef::new(EventLog::TrimmedThrough)
                        .big_integer()
                        .not_null(),
                )
                .to_owned(),
        )
        .await?;
        // The one row of the one event log.
        let mut insert = Query::insert();
        insert
            .into_table(EventLog::Table)
            .columns([EventLog::Id, EventLog::TrimmedThrough])
            .values([1.into(), 0i64.into()])
            .map_err(|e| DbErr::Custom(e.to_string()))?;
        m.exec_stmt(insert).await?;
        Ok(())
    }
}

/// API tokens; scorecards learn their tenant, jobs their trace context.
struct TokensAndTenancy;

impl MigrationName for TokensAndTenancy {
    fn name(&self) -> &str {
        "m20261129_000004_tokens_and_tenancy"
    }
}

#[derive(DeriveIden)]
enum ApiTokens {
    Table,
    Id,
    TokenHash,
    Tenant,
    Scopes,
    Name,
    CreatedAt,
    ExpiresAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum ScorecardsV4 {
    #[sea_orm(iden = "scorecards")]
    Table,
    Tenant,
}

#[derive(DeriveIden)]
enum ScoringJobsV4 {
    #[sea_orm(iden = "scoring_jobs")]
    Table,
    TraceContext,
}

#[async_trait::async_trait]
impl MigrationTrait for TokensAndTenancy {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(ApiTokens::Table)
                .if_not_exists()
                .col(text(ApiTokens::Id).primary_key().to_owned())
                .col(text(ApiTokens::TokenHash))
                .col(text(ApiTokens::Tenant))
                .col(text(ApiTokens::Scopes))
                .col(text(ApiTokens::Name))
                .col(
                    ColumnDef::new(ApiTokens::CreatedAt)
                        .big_integer()
                        .not_null(),
                )
                .col(ColumnDef::new(ApiTokens::ExpiresAt).big_integer().null())
                .col(ColumnDef::new(ApiTokens::RevokedAt).big_integer().null())
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(ScorecardsV4::Table)
                .add_column(
                    ColumnDef::new(ScorecardsV4::Tenant)
                        .string()
                        .not_null()
                        .default(""),
                )
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(ScoringJobsV4::Table)
                .add_column(
                    ColumnDef::new(ScoringJobsV4::TraceContext)
                        .string()
                        .not_null()
                        .default(""),
                )
                .to_owned(),
        )
        .await?;
        Ok(())
    }
}

/// Forms move to a table of their own: a status change then rewrites a row
/// of a few dozen bytes instead of one carrying the form.
struct FormsApart;

impl MigrationName for FormsApart {
    fn name(&self) -> &str {
        "m20261130_000005_forms_apart"
    }
}

#[derive(DeriveIden)]
enum SubmissionForms {
    Table,
    Id,
    Form,
}

#[async_trait::async_trait]
impl MigrationTrait for FormsApart {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(SubmissionForms::Table)
                .if_not_exists()
                .col(text(SubmissionForms::Id).primary_key().to_owned())
                .col(ColumnDef::new(SubmissionForms::Form).blob().not_null())
                .to_owned(),
        )
        .await?;
        m.get_connection()
            .execute_unprepared(
                "INSERT INTO submission_forms (id, form) SELECT id, form FROM submissions",
            )
            .await?;
        m.alter_table(
            Table::alter()
                .table(Submissions::Table)
                .drop_column(Submissions::Form)
                .to_owned(),
        )
        .await?;
        Ok(())
    }
}

/// The unique (tenant, content digest) index goes: the submission id is a
/// hash of the same two, unique itself, and nothing looks submissions up by
/// digest. It was a second random-keyed index written for every form.
struct OneKeyPerSubmission;

impl MigrationName for OneKeyPerSubmission {
    fn name(&self) -> &str {
        "m20261201_000006_one_key_per_submission"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for OneKeyPerSubmission {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name("ux_submissions_tenant_digest")
                .table(Submissions::Table)
                .if_exists()
                .to_owned(),
        )
        .await
    }
}

/// The tables under a submission find it by its sequence number, not its
/// id. The id is a hash: every index keyed on it takes each new form on a
/// page of its own, a page written to SQLite's log per form and per index.
/// Sequence numbers grow with intake, so a batch's keys share a few pages
/// (BENCHMARKS.md: end to end +40–50 % at 100,000 forms). The submission id
/// keeps its one unique index, and the child rows keep the id for reading.
struct KeyedBySequence;

impl MigrationName for KeyedBySequence {
    fn name(&self) -> &str {
        "m20261202_000007_keyed_by_sequence"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for KeyedBySequence {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        let sqlite = db.get_database_backend() == sea_orm::DbBackend::Sqlite;
        // Rows of no submission cannot be reached (submissions are never
        // deleted): a job queued for an id that never existed, which no
        // worker could do. Gone on both backends, before the new keys.
        let mut steps: Vec<String> = ["scoring_jobs", "scorecards", "findings"]
            .iter()
            .map(|t| {
                format!("DELETE FROM {t} WHERE submission_id NOT IN (SELECT id FROM submissions)")
            })
            .collect();
        steps.push(
            "DELETE FROM submission_forms WHERE id NOT IN (SELECT id FROM submissions)".into(),
        );
        // Forms: keyed by their submission's sequence (SQLite's rowid).
        let (key, blob) = if sqlite {
            ("INTEGER", "BLOB")
        } else {
            ("BIGINT", "BYTEA")
        };
        steps.extend([
            format!("CREATE TABLE submission_forms_next (seq {key} NOT NULL PRIMARY KEY, form {blob} NOT NULL)"),
            "INSERT INTO submission_forms_next (seq, form) \
             SELECT s.seq, f.form FROM submission_forms f JOIN submissions s ON s.id = f.id"
                .into(),
            "DROP TABLE submission_forms".into(),
            "ALTER TABLE submission_forms_next RENAME TO submission_forms".into(),
            "DROP INDEX IF EXISTS ux_scorecards_submission_rulebook".into(),
        ]);
        // Scorecards: the id (submission, rulebook, version) was unique
        // twice over; SQLite drops a column's UNIQUE only by a rebuild.
        if sqlite {
            steps.extend([
                "CREATE TABLE scorecards_next ( \
                 seq integer NOT NULL PRIMARY KEY AUTOINCREMENT, id varchar NOT NULL, \
                 submission_seq bigint NOT NULL, submission_id varchar NOT NULL, \
                 rulebook_id varchar NOT NULL, rulebook_version varchar NOT NULL, \
                 input_digest varchar NOT NULL, recomputed_total varchar NOT NULL, \
                 grade varchar NOT NULL, card blob NOT NULL, computed_at bigint NOT NULL, \
                 tenant varchar NOT NULL DEFAULT '')"
                    .to_string(),
                "INSERT INTO scorecards_next \
                 SELECT c.seq, c.id, s.seq, c.submission_id, c.rulebook_id, c.rulebook_version, \
                 c.input_digest, c.recomputed_total, c.grade, c.card, c.computed_at, c.tenant \
                 FROM scorecards c JOIN submissions s ON s.id = c.submission_id"
                    .into(),
                "DROP TABLE scorecards".into(),
                "ALTER TABLE scorecards_next RENAME TO scorecards".into(),
            ]);
        } else {
            steps.push(
                "ALTER INDEX submission_forms_next_pkey RENAME TO submission_forms_pkey".into(),
            );
            steps.push("ALTER TABLE scorecards DROP CONSTRAINT IF EXISTS scorecards_id_key".into());
            steps.extend(add_submission_seq("scorecards"));
        }
        steps.push(
            "CREATE UNIQUE INDEX ux_scorecards_submission_rulebook \
             ON scorecards (submission_seq, rulebook_id, rulebook_version)"
                .into(),
        );
        // Findings and jobs: a column, and their index on it.
        for (table, old, new) in [
            (
                "findings",
                "ix_findings_submission",
                "INDEX ix_findings_submission_seq ON findings (submission_seq, seq)",
            ),
            (
                "scoring_jobs",
                "ux_scoring_jobs_submission_rulebook",
                "UNIQUE INDEX ux_scoring_jobs_submission_seq_rulebook \
                 ON scoring_jobs (submission_seq, rulebook_id)",
            ),
        ] {
            steps.push(format!("DROP INDEX IF EXISTS {old}"));
            steps.extend(add_submission_seq(table));
            steps.push(format!("CREATE {new}"));
        }
        run_steps(db, steps).await
    }
}

/// PostgreSQL compresses the form and scorecard blobs (a few KiB each) with
/// lz4 instead of pglz: pglz took a tenth of the machine in a profile of the
/// PostgreSQL + Redis pipeline (BENCHMARKS.md). Rows already stored keep
/// theirs; both read back the same. A server without lz4 (before 14, or
/// built without it) keeps pglz. Since migration 15 the store compresses
/// them itself, on both backends.
struct Lz4Blobs;

impl MigrationName for Lz4Blobs {
    fn name(&self) -> &str {
        "m20261130_000008_lz4_blobs"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Lz4Blobs {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        compress_with_lz4(db, &[("submission_forms", "form"), ("scorecards", "card")]).await
    }
}

/// On a PostgreSQL server with lz4, these blob columns are compressed with
/// it; elsewhere nothing changes.
async fn compress_with_lz4(
    db: &SchemaManagerConnection<'_>,
    columns: &[(&str, &str)],
) -> Result<(), DbErr> {
    if db.get_database_backend() != sea_orm::DbBackend::Postgres {
        return Ok(());
    }
    let lz4 = db
        .query_one(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            "SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' \
             AND 'lz4' = ANY(enumvals)",
        ))
        .await?
        .is_some();
    if lz4 {
        for (table, column) in columns {
            db.execute_unprepared(&format!(
                "ALTER TABLE {table} ALTER COLUMN {column} SET COMPRESSION lz4"
            ))
            .await?;
        }
    }
    Ok(())
}

/// The two updates every form goes through stop rewriting indexes. A
/// scoring job is deleted once done (the scorecard is its record), so its
/// state index goes: the table holds only the outbox's work. The status
/// leaves the (tenant, year) listing index, which still narrows a listing
/// to a tenant's year and filters the status there. On PostgreSQL an update
/// that touches no indexed column is a heap-only (HOT) update, with room
/// kept on the submissions' pages for it (fillfactor 50); before, the
/// status update wrote a new entry in all six of its indexes. The unit
/// indexes take the year too: a (tenant, year, seq) index would otherwise
/// tie with them for a unit's year, and SQLite chose it, reading the whole
/// year of a tenant for one unit's forms.
struct UpdatesInPlace;

impl MigrationName for UpdatesInPlace {
    fn name(&self) -> &str {
        "m20261201_000009_updates_in_place"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for UpdatesInPlace {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        let sqlite = db.get_database_backend() == sea_orm::DbBackend::Sqlite;
        let mut steps: Vec<String> = vec![
            "DELETE FROM scoring_jobs WHERE state <> 'queued'".into(),
            "DROP INDEX IF EXISTS ix_scoring_jobs_state".into(),
            "DROP INDEX IF EXISTS ix_submissions_year_status".into(),
            "CREATE INDEX ix_submissions_year ON submissions (tenant, fiscal_year, seq)".into(),
        ];
        for unit in ["budget_unit", "competent_department", "implementing_unit"] {
            steps.push(format!("DROP INDEX IF EXISTS ix_submissions_{unit}"));
            steps.push(format!(
                "CREATE INDEX ix_submissions_{unit} ON submissions (tenant, {unit}, fiscal_year, seq)"
            ));
        }
        if !sqlite {
            steps.push("ALTER TABLE submissions SET (fillfactor = 50)".into());
        }
        run_steps(db, steps).await
    }
}

/// Findings are stored one row per submission and scope, packed
/// (`packed.rs`): a form's three or four findings were as many rows, each
/// entered in four indexes, the largest part of PostgreSQL's work per form
/// (BENCHMARKS.md). Each old row becomes, in SQL, a list of one in the same
/// layout. The rule index goes: a listing by rule narrows rows by their
/// `rule_ids` and picks the findings out of them.
struct FindingsPerForm;

impl MigrationName for FindingsPerForm {
    fn name(&self) -> &str {
        "m20261203_000010_findings_per_form"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for FindingsPerForm {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        // `[severity i32][rule len u32][rule][payload len u32][payload]`, big-endian.
        let list_of_one = if db.get_database_backend() == sea_orm::DbBackend::Sqlite {
            "CAST(unhex(printf('%08X%08X', max_severity, length(CAST(rule_ids AS BLOB)))) \
             || CAST(rule_ids AS BLOB) || unhex(printf('%08X', length(findings))) || findings AS BLOB)"
        } else {
            "int4send(max_severity) || int4send(octet_length(convert_to(rule_ids, 'UTF8'))) \
             || convert_to(rule_ids, 'UTF8') || int4send(octet_length(findings)) || findings"
        };
        let steps = vec![
            "DROP INDEX IF EXISTS ix_findings_rule".to_string(),
            "ALTER TABLE findings RENAME COLUMN rule_id TO rule_ids".into(),
            "ALTER TABLE findings RENAME COLUMN severity TO max_severity".into(),
            "ALTER TABLE findings RENAME COLUMN finding TO findings".into(),
            format!(
                "UPDATE findings SET findings = {list_of_one}, rule_ids = ' ' || rule_ids || ' '"
            ),
        ];
        run_steps(db, steps).await?;
        // A form's findings together pass the size PostgreSQL compresses at.
        compress_with_lz4(db, &[("findings", "findings")]).await
    }
}

/// A scoring job's `state` said `queued` on every row since done jobs are
/// deleted (migration 9): a value bound and stored per form for nothing.
struct JobsWithoutState;

impl MigrationName for JobsWithoutState {
    fn name(&self) -> &str {
        "m20261204_000011_jobs_without_state"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for JobsWithoutState {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        run_steps(
            m.get_connection(),
            vec!["ALTER TABLE scoring_jobs DROP COLUMN state".into()],
        )
        .await
    }
}

/// A listing by tenant alone (an export, a summary) sorted all the tenant's
/// forms for every page: no index had the tenant then the sequence, and
/// SQLite took a unit index, which also began with the tenant, and a
/// temporary B-tree (16 ms a page at 100,000 forms, growing with them).
/// Now every listing index ends in (seq, year), so pages come in order and
/// a year is filtered inside the index: (tenant, seq, year) for a tenant,
/// (unit, tenant, seq, year) for each unit column. The unit leads, so no unit
/// index ties with the tenant's for a tenant alone, with or without the
/// planner's statistics. The same number of indexes. New ones are built
/// before the old go, so the old serve until the end.
struct ListingsInSequence;

impl MigrationName for ListingsInSequence {
    fn name(&self) -> &str {
        "m20261205_000012_listings_in_sequence"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for ListingsInSequence {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let units = ["budget_unit", "competent_department", "implementing_unit"];
        let mut steps = vec![
            "CREATE INDEX ix_submissions_tenant_seq ON submissions (tenant, seq, fiscal_year)"
                .to_string(),
        ];
        for unit in units {
            steps.push(format!(
                "CREATE INDEX ix_submissions_{unit}_seq ON submissions ({unit}, tenant, seq, fiscal_year)"
            ));
        }
        steps.push("DROP INDEX IF EXISTS ix_submissions_year".into());
        for unit in units {
            steps.push(format!("DROP INDEX IF EXISTS ix_submissions_{unit}"));
        }
        run_steps(m.get_connection(), steps).await
    }
}

/// Findings listed by tenant alone (a province's dashboard, its findings
/// export) sorted all of the tenant's findings for every page: the only
/// index beginning with the tenant was the department one, and SQLite read
/// it whole, each row from the table, then sorted (BENCHMARKS.md). As for
/// submissions (migration 12): (tenant, seq, year) for a tenant, and the
/// department index becomes (unit, tenant, seq, year), so neither ties with
/// the other and both give rows in order. One more entry per findings row,
/// at the end of its tenant's range.
struct FindingListingsInSequence;

impl MigrationName for FindingListingsInSequence {
    fn name(&self) -> &str {
        "m20261206_000013_finding_listings_in_sequence"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for FindingListingsInSequence {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        run_steps(
            m.get_connection(),
            vec![
                "CREATE INDEX ix_findings_tenant_seq ON findings (tenant, seq, fiscal_year)".into(),
                "CREATE INDEX ix_findings_budget_unit_seq \
                 ON findings (budget_unit, tenant, seq, fiscal_year)"
                    .into(),
                "DROP INDEX IF EXISTS ix_findings_department".into(),
            ],
        )
        .await
    }
}

/// Submission ids begin with their unit from here on
/// (`jixiao_form::submission_id`). Rows stored before keep their ids, which
/// callers hold; the store remembers the last of them, so that a repeat of
/// their content is found by its earlier id, and a database that held none
/// never looks.
struct EarlierSubmissionIds;

impl MigrationName for EarlierSubmissionIds {
    fn name(&self) -> &str {
        "m20261207_000014_earlier_submission_ids"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for EarlierSubmissionIds {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        run_steps(
            m.get_connection(),
            vec![
                "CREATE TABLE earlier_submission_ids (until_seq BIGINT NOT NULL)".into(),
                "INSERT INTO earlier_submission_ids (until_seq) \
                 SELECT COALESCE(MAX(seq), 0) FROM submissions"
                    .into(),
            ],
        )
        .await
    }
}

/// The store compresses forms, scorecards and findings on PostgreSQL too
/// (`blob.rs`), so PostgreSQL no longer tries again (`EXTERNAL`), and a
/// compressed form (~2.7 KB) stays in its row instead of going through
/// TOAST, a second table and index (`toast_tuple_target`: the most a row may
/// hold before PostgreSQL moves values out). Rows stored before read back
/// as they are.
struct BlobsCompressedByTheStore;

impl MigrationName for BlobsCompressedByTheStore {
    fn name(&self) -> &str {
        "m20261208_000015_blobs_compressed_by_the_store"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for BlobsCompressedByTheStore {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        if db.get_database_backend() != sea_orm::DbBackend::Postgres {
            return Ok(());
        }
        let mut steps =
            vec!["ALTER TABLE submission_forms SET (toast_tuple_target = 8160)".to_string()];
        for (table, column) in [
            ("submission_forms", "form"),
            ("scorecards", "card"),
            ("findings", "findings"),
        ] {
            steps.push(format!(
                "ALTER TABLE {table} ALTER COLUMN {column} SET STORAGE EXTERNAL"
            ));
        }
        run_steps(db, steps).await
    }
}

/// Runs a migration's statements in order. On SQLite as one script on one
/// connection: another connection of the pool would act on the schema it
/// read before a drop or rename ("already exists"). PostgreSQL's migrator
/// already runs each migration in a transaction.
async fn run_steps(db: &SchemaManagerConnection<'_>, steps: Vec<String>) -> Result<(), DbErr> {
    if db.get_database_backend() == sea_orm::DbBackend::Sqlite {
        db.execute_unprepared(&format!("BEGIN; {}; COMMIT", steps.join("; ")))
            .await?;
    } else {
        for step in steps {
            db.execute_unprepared(&step).await?;
        }
    }
    Ok(())
}

/// Adds `submission_seq` to `table` and fills it from the submissions.
fn add_submission_seq(table: &str) -> [String; 2] {
    [
        format!("ALTER TABLE {table} ADD COLUMN submission_seq BIGINT NOT NULL DEFAULT 0"),
        format!(
            "UPDATE {table} SET submission_seq = \
             (SELECT s.seq FROM submissions s WHERE s.id = {table}.submission_id)"
        ),
    ]
}

fn seq<T: IntoIden>(col: T) -> ColumnDef {
    ColumnDef::new(col)
        .big_integer()
        .not_null()
        .auto_increment()
        .primary_key()
        .to_owned()
}

fn text<T: IntoIden>(col: T) -> ColumnDef {
    ColumnDef::new(col).string().not_null().to_owned()
}

fn index<T: IntoIden + 'static>(
    name: &str,
    table: T,
    cols: &[&'static str],
    unique: bool,
) -> IndexCreateStatement {
    let mut i = Index::create();
    i.name(name).table(table);
    for c in cols {
        i.col(Alias::new(*c));
    }
    if unique {
        i.unique();
    }
    i.to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Init {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Submissions::Table)
                .if_not_exists()
                .col(seq(Submissions::Seq))
                .col(text(Submissions::Id).unique_key().to_owned())
                .col(text(Submissions::Tenant))
                .col(text(Submissions::ContentDigest))
                .col(text(Submissions::Kind))
                .col(text(Submissions::BudgetUnit))
                .col(text(Submissions::CompetentDepartment))
                .col(text(Submissions::ImplementingUnit))
                .col(text(Submissions::ProjectName))
                .col(ColumnDef::new(Submissions::FiscalYear).integer().not_null())
                .col(text(Submissions::Status))
                .col(ColumnDef::new(Submissions::Form).blob().not_null())
                .col(
                    ColumnDef::new(Submissions::ReceivedAt)
                        .big_integer()
                        .not_null(),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ux_submissions_tenant_digest",
            Submissions::Table,
            &["tenant", "content_digest"],
            true,
        ))
        .await?;
        for (name, col) in [
            ("ix_submissions_budget_unit", "budget_unit"),
            (
                "ix_submissions_competent_department",
                "competent_department",
            ),
            ("ix_submissions_implementing_unit", "implementing_unit"),
        ] {
            m.create_index(index(
                name,
                Submissions::Table,
                &["tenant", col, "seq"],
                false,
            ))
            .await?;
        }
        m.create_index(index(
            "ix_submissions_year_status",
            Submissions::Table,
            &["tenant", "fiscal_year", "status", "seq"],
            false,
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(ScoringJobs::Table)
                .if_not_exists()
                .col(seq(ScoringJobs::Seq))
                .col(text(ScoringJobs::SubmissionId))
                .col(text(ScoringJobs::RulebookId))
                .col(text(ScoringJobs::State))
                .col(
                    ColumnDef::new(ScoringJobs::EnqueuedAt)
                        .big_integer()
                        .not_null(),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ux_scoring_jobs_submission_rulebook",
            ScoringJobs::Table,
            &["submission_id", "rulebook_id"],
            true,
        ))
        .await?;
        m.create_index(index(
            "ix_scoring_jobs_state",
            ScoringJobs::Table,
            &["state", "seq"],
            false,
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(Scorecards::Table)
                .if_not_exists()
                .col(seq(Scorecards::Seq))
                .col(text(Scorecards::Id).unique_key().to_owned())
                .col(text(Scorecards::SubmissionId))
                .col(text(Scorecards::RulebookId))
                .col(text(Scorecards::RulebookVersion))
                .col(text(Scorecards::InputDigest))
                .col(text(Scorecards::RecomputedTotal))
                .col(text(Scorecards::Grade))
                .col(ColumnDef::new(Scorecards::Card).blob().not_null())
                .col(
                    ColumnDef::new(Scorecards::ComputedAt)
                        .big_integer()
                        .not_null(),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ux_scorecards_submission_rulebook",
            Scorecards::Table,
            &["submission_id", "rulebook_id", "rulebook_version"],
            true,
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(Findings::Table)
                .if_not_exists()
                .col(seq(Findings::Seq))
                .col(text(Findings::SubmissionId))
                .col(text(Findings::RuleId))
                .col(ColumnDef::new(Findings::Severity).integer().not_null())
                .col(ColumnDef::new(Findings::Finding).blob().not_null())
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_findings_submission",
            Findings::Table,
            &["submission_id", "seq"],
            false,
        ))
        .await?;
        m.create_index(index(
            "ix_findings_rule",
            Findings::Table,
            &["rule_id", "seq"],
            false,
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(Events::Table)
                .if_not_exists()
                .col(seq(Events::Seq))
                .col(text(Events::EventType))
                .col(text(Events::SubmissionId))
                .col(text(Events::Tenant))
                .col(text(Events::BudgetUnit))
                .col(ColumnDef::new(Events::FiscalYear).integer().not_null())
                .col(ColumnDef::new(Events::At).big_integer().not_null())
                .col(text(Events::Detail))
                .to_owned(),
        )
        .await?;
        Ok(())
    }
}
