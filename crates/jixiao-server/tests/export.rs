//! Exports of the real samples through the server, read back and compared with
//! what the other services say: the workbook (calamine), the batch summary,
//! the Fiscal Data Package, region and rulebook selection, the exported event.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::io::{Cursor, Read};
use std::str::FromStr;

use calamine::{Data, Reader, Xlsx};
use common::{fresh_dir, TestServer};
use futures::StreamExt;
use jixiao_proto::v1::{
    self, audit_service_client::AuditServiceClient, export_service_client::ExportServiceClient,
    intake_service_client::IntakeServiceClient, scoring_service_client::ScoringServiceClient,
};
use rust_decimal::Decimal;
use tonic::transport::Channel;

fn sample(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/../jixiao-parse/tests/samples/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap_or_else(|e| panic!("{s:?}: {e}"))
}

/// Imports both samples, 株洲 and 岳阳 under their own city tenants, and waits
/// until every form is audited and the department audits have run.
async fn imported_samples() -> (TestServer, Channel) {
    let server = TestServer::start_with(
        fresh_dir("export"),
        &[("worker.department_audit_secs", "1".into())],
    )
    .await;
    let ch = server.channel().await;
    let mut intake = IntakeServiceClient::new(ch.clone()).max_encoding_message_size(64 << 20);
    for (tenant, file, forms) in [
        ("湖南省/株洲市", "zhuzhou-gxj-2024.txt", 21),
        ("湖南省/岳阳市", "yueyang-gxj-2023.txt", 16),
    ] {
        let r = intake
            .import_document(v1::ImportDocumentRequest {
                tenant: tenant.into(),
                file_name: file.into(),
                content: sample(file),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(r.accepted, forms);
    }
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let audited: usize = submissions(&ch, "湖南省/株洲市").await.len()
            + submissions(&ch, "湖南省/岳阳市").await.len();
        let dept = AuditServiceClient::new(ch.clone())
            .list_findings(v1::ListFindingsRequest {
                tenant: "湖南省/岳阳市".into(),
                rule_id: "DEPT.PROJECT_SPENDING_MISMATCH".into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .findings
            .len();
        if audited == 37 && dept == 1 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{audited} of 37 audited"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    (server, ch)
}

/// The audited submissions of a tenant, with their forms.
async fn submissions(ch: &Channel, tenant: &str) -> Vec<v1::Submission> {
    IntakeServiceClient::new(ch.clone())
        .list_submissions(v1::ListSubmissionsRequest {
            tenant: tenant.into(),
            status: v1::SubmissionStatus::Audited as i32,
            page_size: 1000,
            with_forms: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .submissions
}

async fn export(ch: &Channel, request: v1::ExportBatchRequest) -> (String, String, Vec<u8>) {
    let mut stream = ExportServiceClient::new(ch.clone())
        .export_batch(request)
        .await
        .unwrap()
        .into_inner();
    let first = stream.next().await.unwrap().unwrap();
    let (content_type, file_name, mut bytes) = (first.content_type, first.file_name, first.data);
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.unwrap();
        assert!(chunk.file_name.is_empty());
        bytes.extend(chunk.data);
    }
    (content_type, file_name, bytes)
}

fn region(format: v1::ExportFormat, region: &str) -> v1::ExportBatchRequest {
    v1::ExportBatchRequest {
        format: format as i32,
        region: region.into(),
        ..Default::default()
    }
}

/// What the scoring and audit services say of a submission.
struct Stored {
    card: v1::ScoreCard,
    findings: Vec<v1::Finding>,
}

async fn stored(ch: &Channel, ids: &[String]) -> HashMap<String, Stored> {
    let mut scoring = ScoringServiceClient::new(ch.clone());
    let mut audit = AuditServiceClient::new(ch.clone());
    let mut out = HashMap::new();
    for id in ids {
        let card = scoring
            .get_score_card(v1::GetScoreCardRequest {
                submission_id: id.clone(),
                rulebook_id: String::new(),
            })
            .await
            .unwrap()
            .into_inner();
        let findings = audit
            .list_findings(v1::ListFindingsRequest {
                submission_id: id.clone(),
                page_size: 1000,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .findings;
        out.insert(id.clone(), Stored { card, findings });
    }
    out
}

fn cell_text(d: &Data) -> String {
    match d {
        Data::String(s) => s.clone(),
        Data::Float(f) => f.to_string(),
        Data::Int(i) => i.to_string(),
        Data::Empty => String::new(),
        other => format!("{other}"),
    }
}

/// A numeric cell as the decimal it was written from.
fn cell_decimal(d: &Data) -> Option<Decimal> {
    match d {
        Data::Float(f) => Some(dec(&f.to_string())),
        Data::Int(i) => Some(Decimal::from(*i)),
        Data::Empty => None,
        other => panic!("not a number: {other:?}"),
    }
}

/// Rows of a sheet as maps from the header row's names to cells.
fn table(wb: &mut Xlsx<Cursor<Vec<u8>>>, sheet: &str) -> Vec<HashMap<String, Data>> {
    let range = wb.worksheet_range(sheet).unwrap();
    let mut rows = range.rows();
    let header: Vec<String> = rows.next().unwrap().iter().map(cell_text).collect();
    rows.map(|r| header.iter().cloned().zip(r.iter().cloned()).collect())
        .collect()
}

fn severity(f: &v1::Finding) -> &'static str {
    match v1::Severity::try_from(f.severity).unwrap() {
        v1::Severity::Error => "错误",
        v1::Severity::Warning => "警告",
        _ => "提示",
    }
}

#[tokio::test]
async fn the_workbook_reads_back_as_the_stored_scorecards_and_findings() {
    let (server, ch) = imported_samples().await;
    let (content_type, file_name, bytes) =
        export(&ch, region(v1::ExportFormat::Xlsx, "湖南省")).await;
    assert_eq!(
        content_type,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    assert_eq!(file_name, "jixiao-export.xlsx");
    let mut wb: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(bytes)).unwrap();
    let names = wb.sheet_names();
    assert_eq!(&names[..3], ["汇总", "评分", "问题"]);
    assert_eq!(names.len(), 3 + 37, "one sheet per form");

    let mut ids: Vec<String> = Vec::new();
    for t in ["湖南省/株洲市", "湖南省/岳阳市"] {
        ids.extend(submissions(&ch, t).await.into_iter().map(|s| s.id));
    }
    let truth = stored(&ch, &ids).await;

    // 评分: one row per form, every figure as the services give it.
    let cards = table(&mut wb, "评分");
    assert_eq!(cards.len(), 37);
    let mut form_sheets = HashMap::new();
    for row in &cards {
        let id = cell_text(&row["submission_id"]);
        let s = &truth[&id];
        let stated = cell_decimal(&row["总分(填报)"]);
        let recomputed = cell_decimal(&row["总分(重算)"]);
        assert_eq!(stated, Decimal::from_str(&s.card.stated_total).ok(), "{id}");
        assert_eq!(
            recomputed,
            Decimal::from_str(&s.card.recomputed_total).ok(),
            "{id}"
        );
        if let (Some(a), Some(b)) = (stated, recomputed) {
            assert_eq!(cell_decimal(&row["差额"]), Some(a - b), "{id}");
        }
        assert_eq!(cell_text(&row["等级"]), s.card.grade, "{id}");
        for name in ["错误", "警告", "提示"] {
            let n = s.findings.iter().filter(|f| severity(f) == name).count();
            assert_eq!(
                cell_decimal(&row[name]),
                Some(Decimal::from(n)),
                "{id} {name}"
            );
        }
        form_sheets.insert(id, cell_text(&row["表页"]));
    }

    // 问题: every finding once, with its rule, severity and numbers.
    let findings = table(&mut wb, "问题");
    let mut listed: BTreeMap<(String, String, String, String), usize> = BTreeMap::new();
    for row in &findings {
        *listed
            .entry((
                cell_text(&row["submission_id"]),
                cell_text(&row["规则"]),
                cell_text(&row["严重程度"]),
                cell_text(&row["应为"]),
            ))
            .or_default() += 1;
    }
    let mut expected: BTreeMap<(String, String, String, String), usize> = BTreeMap::new();
    for (id, s) in &truth {
        for f in &s.findings {
            *expected
                .entry((
                    id.clone(),
                    f.rule_id.clone(),
                    severity(f).into(),
                    f.expected.clone(),
                ))
                .or_default() += 1;
        }
    }
    assert_eq!(listed, expected);
    assert!(
        listed.keys().any(|k| k.1.starts_with("DEPT.")),
        "cross-form findings are exported too"
    );

    // A form's own sheet: the 岳阳 无线电 form, its totals side by side and its
    // inflated 得分 cell filled. 中央补助资金无线电管理经费 states 94.89.
    let (radio_id, _) = truth
        .iter()
        .find(|(_, s)| s.card.stated_total == "94.89")
        .expect("the 无线电 form");
    let sheet = &form_sheets[radio_id];
    let range = wb.worksheet_range(sheet).unwrap();
    let total_row = range
        .rows()
        .find(|r| cell_text(&r[0]) == "总分")
        .expect("a 总分 row");
    assert_eq!(cell_decimal(&total_row[6]), Some(dec("94.89")));
    assert_eq!(
        cell_decimal(&total_row[7]),
        Decimal::from_str(&truth[radio_id].card.recomputed_total).ok()
    );
    let inflated = truth[radio_id]
        .findings
        .iter()
        .find(|f| f.location.as_ref().unwrap().path.ends_with(".self_score"))
        .expect("a finding on a 得分 cell");
    let path = &inflated.location.as_ref().unwrap().path;
    let (row_at, _) = range
        .rows()
        .enumerate()
        .find(|(_, r)| cell_text(&r[2]) == inflated.location.as_ref().unwrap().row)
        .unwrap_or_else(|| panic!("no row for {path}"));
    let styles = wb.worksheet_style(sheet).unwrap();
    let (r0, c0) = range.start().unwrap();
    let fill = styles
        .get((r0 + row_at as u32, c0 + 6))
        .and_then(|s| s.fill.clone())
        .and_then(|f| f.get_color())
        .expect("the 得分 cell is filled");
    let rgb = fill.to_argb() & 0xFFFFFF;
    assert!([0xFFC7CE, 0xFFEB9C, 0xDDEBF7].contains(&rgb), "{rgb:06X}");

    // 汇总: the whole batch against the summary RPC.
    let summary = ExportServiceClient::new(ch.clone())
        .get_batch_summary(v1::GetBatchSummaryRequest {
            region: "湖南省".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let overall = summary.overall.unwrap();
    let range = wb.worksheet_range("汇总").unwrap();
    let all = range
        .rows()
        .find(|r| cell_text(&r[0]) == "全部")
        .expect("the 全部 row");
    assert_eq!(cell_decimal(&all[1]), Some(Decimal::from(overall.forms)));
    assert_eq!(cell_decimal(&all[2]), Some(dec(&overall.full_year_budget)));
    assert_eq!(cell_decimal(&all[3]), Some(dec(&overall.executed)));
    assert_eq!(cell_decimal(&all[7]), Some(dec(&overall.mean_inflation)));
    server.stop().await;
}

#[tokio::test]
async fn the_summary_adds_up_what_the_forms_say() {
    let (server, ch) = imported_samples().await;
    let summary = ExportServiceClient::new(ch.clone())
        .get_batch_summary(v1::GetBatchSummaryRequest {
            region: "湖南省".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let overall = summary.overall.clone().unwrap();
    assert_eq!(overall.forms, 37);

    // Independently: Σ 全年预算数 / 全年执行数 of the 年度资金总额 rows of the
    // project forms, and every finding and grade from the other services.
    let mut subs = submissions(&ch, "湖南省/株洲市").await;
    subs.extend(submissions(&ch, "湖南省/岳阳市").await);
    let (mut budget, mut executed) = (Decimal::ZERO, Decimal::ZERO);
    for s in &subs {
        let form = s.form.as_ref().unwrap();
        if form.kind != v1::FormKind::Project as i32 {
            continue;
        }
        let funds = form.funds.as_ref().unwrap();
        if let Some(total) = funds
            .rows
            .iter()
            .find(|r| r.source == v1::FundSource::Total as i32)
        {
            if let (Ok(b), Ok(e)) = (dec_or(&total.full_year_budget), dec_or(&total.executed)) {
                budget += b;
                executed += e;
            }
        }
    }
    assert_eq!(dec(&overall.full_year_budget), budget);
    assert_eq!(dec(&overall.executed), executed);
    assert_eq!(
        dec(&overall.execution_rate),
        (executed / budget * Decimal::ONE_HUNDRED).round_dp(2)
    );
    let ids: Vec<String> = subs.iter().map(|s| s.id.clone()).collect();
    let truth = stored(&ch, &ids).await;
    let findings: usize = truth.values().map(|s| s.findings.len()).sum();
    assert_eq!(
        overall
            .findings_by_severity
            .iter()
            .map(|c| c.count)
            .sum::<u64>(),
        findings as u64
    );
    let grades: u64 = overall.grades.iter().map(|c| c.count).sum();
    assert_eq!(
        grades,
        truth.values().filter(|s| !s.card.grade.is_empty()).count() as u64
    );
    // Per region: the two cities, adding up to the whole.
    let regions: Vec<(&str, u64)> = summary
        .regions
        .iter()
        .map(|r| (r.key.as_str(), r.forms))
        .collect();
    assert_eq!(regions, [("湖南省/岳阳市", 16), ("湖南省/株洲市", 21)]);
    let units: u64 = summary.units.iter().map(|u| u.forms).sum();
    assert_eq!(units, 37);
    // Mean inflation = mean stated − mean recomputed over the compared forms.
    let compared: Vec<&Stored> = truth
        .values()
        .filter(|s| !s.card.stated_total.is_empty() && !s.card.recomputed_total.is_empty())
        .collect();
    let n = Decimal::from(compared.len());
    let inflation: Decimal = compared
        .iter()
        .map(|s| dec(&s.card.stated_total) - dec(&s.card.recomputed_total))
        .sum();
    assert_eq!(dec(&overall.mean_inflation), (inflation / n).round_dp(2));
    server.stop().await;
}

fn dec_or(s: &str) -> Result<Decimal, rust_decimal::Error> {
    Decimal::from_str(s)
}

#[tokio::test]
async fn regions_rulebooks_and_formats_select_and_shape_the_export() {
    let (server, ch) = imported_samples().await;
    let lines = |bytes: &[u8]| String::from_utf8(bytes.to_vec()).unwrap().lines().count();
    // A region takes in the regions under it, on path boundaries only.
    let (_, _, all) = export(&ch, region(v1::ExportFormat::Jsonl, "湖南省")).await;
    assert_eq!(lines(&all), 37);
    let (_, _, zhuzhou) = export(&ch, region(v1::ExportFormat::Jsonl, "湖南省/株洲市")).await;
    assert_eq!(lines(&zhuzhou), 21);
    let (_, _, none) = export(&ch, region(v1::ExportFormat::Jsonl, "湖南")).await;
    assert_eq!(lines(&none), 0);

    // Rescored with another rulebook, only those forms carry its scorecards.
    let queued = ScoringServiceClient::new(ch.clone())
        .rescore_batch(v1::RescoreBatchRequest {
            tenant: "湖南省/岳阳市".into(),
            rulebook_id: "example-province-2023".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .queued;
    assert_eq!(queued, 16);
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
    let by_rulebook = loop {
        let (_, _, b) = export(
            &ch,
            v1::ExportBatchRequest {
                rulebook_id: "example-province-2023".into(),
                ..region(v1::ExportFormat::Jsonl, "湖南省")
            },
        )
        .await;
        if lines(&b) == 16 || tokio::time::Instant::now() > deadline {
            break b;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    let text = String::from_utf8(by_rulebook).unwrap();
    assert_eq!(text.lines().count(), 16);
    assert!(text
        .lines()
        .all(|l| l.contains("\"rulebook_id\":\"example-province-2023\"")));

    // The Fiscal Data Package: one CSV row per fund row, and its descriptor.
    let (content_type, _, zip) = export(&ch, region(v1::ExportFormat::Fdp, "湖南省/株洲市")).await;
    assert_eq!(content_type, "application/zip");
    let mut archive = zip::ZipArchive::new(Cursor::new(zip)).unwrap();
    let mut csv = String::new();
    archive
        .by_name("amounts.csv")
        .unwrap()
        .read_to_string(&mut csv)
        .unwrap();
    let fund_rows: usize = submissions(&ch, "湖南省/株洲市")
        .await
        .iter()
        .map(|s| {
            s.form
                .as_ref()
                .unwrap()
                .funds
                .as_ref()
                .map(|f| {
                    f.rows
                        .iter()
                        .filter(|r| r.source != v1::FundSource::Revenue as i32)
                        .count()
                })
                .unwrap_or(0)
        })
        .sum();
    assert_eq!(csv.lines().count(), 1 + fund_rows);
    let mut descriptor = String::new();
    archive
        .by_name("datapackage.json")
        .unwrap()
        .read_to_string(&mut descriptor)
        .unwrap();
    let d: serde_json::Value = serde_json::from_str(&descriptor).unwrap();
    assert_eq!(d["model"]["measures"]["executed"]["phase"], "executed");

    // The report is one file: charts and every form's row.
    let (_, _, html) = export(&ch, region(v1::ExportFormat::Html, "湖南省")).await;
    let html = String::from_utf8(html).unwrap();
    assert_eq!(html.matches("<tr class=\"form\">").count(), 37);
    for chart in ["grades", "inflation", "rules", "execution"] {
        assert!(html.contains(&format!("id=\"chart-{chart}\"")), "{chart}");
    }

    // Each finished export is announced on the event stream.
    let mut stream = ExportServiceClient::new(ch.clone())
        .watch_events(v1::WatchEventsRequest {
            types: vec![v1::EventType::Exported as i32],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let first = stream.next().await.unwrap().unwrap();
    assert_eq!(
        first.detail,
        "jixiao-export.jsonl of 37 forms (region 湖南省)"
    );
    server.stop().await;
}
