//! One form through the whole embedded pipeline over real gRPC: intake →
//! queue → scoring → audit → events, on SQLite in a fresh directory.

mod common;

use common::{events_until, first_violated_field, fresh_dir, yueyang_radio_form, TestServer};
use futures::StreamExt;
use jixiao_proto::v1::{
    self, audit_service_client::AuditServiceClient, export_service_client::ExportServiceClient,
    intake_service_client::IntakeServiceClient, scoring_service_client::ScoringServiceClient,
};
use tonic::Code;
use tonic_types::StatusExt;

fn submit(form: v1::Form) -> v1::SubmitFormRequest {
    v1::SubmitFormRequest {
        tenant: "湖南省/岳阳市".into(),
        form: Some(form),
        rulebook_id: String::new(),
    }
}

/// Submits the 岳阳 sample form and returns its submission id.
async fn submit_sample(intake: &mut IntakeServiceClient<tonic::transport::Channel>) -> String {
    intake
        .submit_form(submit(yueyang_radio_form()))
        .await
        .unwrap()
        .into_inner()
        .submission
        .unwrap()
        .id
}

#[tokio::test]
async fn sample_form_is_scored_audited_and_announced() {
    let server = TestServer::start(fresh_dir("pipeline")).await;
    let ch = server.channel().await;
    let mut intake = IntakeServiceClient::new(ch.clone());

    let accepted = intake
        .submit_form(submit(yueyang_radio_form()))
        .await
        .unwrap()
        .into_inner();
    assert!(!accepted.deduplicated);
    let sub = accepted.submission.unwrap();
    assert_eq!(sub.status, v1::SubmissionStatus::Received as i32);
    assert_eq!(sub.budget_unit, "岳阳市工业和信息化局");

    let events = events_until(ch.clone(), &sub.id, v1::EventType::Audited).await;
    let types: Vec<i32> = events.iter().map(|e| e.r#type).collect();
    assert_eq!(
        types,
        [
            v1::EventType::Received as i32,
            v1::EventType::Scored as i32,
            v1::EventType::Audited as i32
        ]
    );
    assert!(events.windows(2).all(|w| w[0].cursor < w[1].cursor));

    // The scorecard, checked by hand against the form:
    // 124.51 / 139.98 = 88.948 % → 10 × 0.88948 = 8.89; "≥1 次" with 0 done → 0 / 1 × 2 = 0.00;
    // "≥90%" with 87.72 % → 87.72 / 90 × 8 = 7.80; "100%" done "95%" (an = row, no
    // tolerance) → 95 / 100 × 7 = 6.65; "<15%" with 0.4 % is met.
    let card = ScoringServiceClient::new(ch.clone())
        .get_score_card(v1::GetScoreCardRequest {
            submission_id: sub.id.clone(),
            rulebook_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (card.rulebook_id.as_str(), card.rulebook_version.as_str()),
        ("cn-national-default", "2020.1")
    );
    assert_eq!(card.input_digest, sub.content_digest);
    assert_eq!(card.rulebook_digest.len(), 64);
    let recomputed: Vec<&str> = card
        .lines
        .iter()
        .map(|l| l.recomputed_score.as_str())
        .collect();
    assert_eq!(
        recomputed,
        [
            "8.89", "5.00", "5.00", "4.00", "4.00", "0.00", "10.00", "7.80", "5.00", "7.00",
            "10.00", "6.00", "7.00", "6.65", "10.00"
        ]
    );
    assert_eq!(card.lines[5].explanation, "0次 / 1次 × 2 = 0.00");
    assert_eq!(card.lines[13].explanation, "95% / 100% × 7 = 6.65");
    assert_eq!(card.lines[9].rule, "at_most");
    assert_eq!(card.stated_total, "94.89");
    assert_eq!(card.recomputed_total, "96.34");
    assert_eq!(card.total_explanation, "Σ lines = 96.34");
    assert_eq!(card.grade, "优");

    // The defects of this form (see crates/jixiao-audit/tests/expected-findings.tsv):
    // 年初 sources 126 + 13.98 against a total of 126; a missed target (0 of ≥1
    // cases) self-scored 1 of 2; two self scores below the rules; five actuals
    // without their unit.
    let findings = AuditServiceClient::new(ch.clone())
        .list_findings(v1::ListFindingsRequest {
            submission_id: sub.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .findings;
    let mut rules: Vec<&str> = findings.iter().map(|f| f.rule_id.as_str()).collect();
    rules.sort();
    assert_eq!(
        rules,
        [
            "FUNDS.SOURCES_DO_NOT_ADD_UP",
            "SCORES.BELOW_RULES",
            "SCORES.BELOW_RULES",
            "SCORES.INFLATED",
            "VALUES.ACTUAL_UNIT_MISSING",
            "VALUES.ACTUAL_UNIT_MISSING",
            "VALUES.ACTUAL_UNIT_MISSING",
            "VALUES.ACTUAL_UNIT_MISSING",
            "VALUES.ACTUAL_UNIT_MISSING"
        ]
    );
    let f = findings
        .iter()
        .find(|f| f.rule_id == "SCORES.INFLATED")
        .unwrap();
    assert_eq!(f.severity, v1::Severity::Warning as i32);
    let loc = f.location.as_ref().unwrap();
    assert_eq!(loc.path, "indicators[4].self_score");
    assert_eq!(loc.row, "开展“黑广播”“伪基站”等违法案件的查处");
    assert_eq!(
        (
            f.expected.as_str(),
            f.stated.as_str(),
            f.difference.as_str()
        ),
        ("0.00", "1", "1.00")
    );

    let stored = intake
        .get_submission(v1::GetSubmissionRequest { id: sub.id.clone() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(stored.status, v1::SubmissionStatus::Audited as i32);
    let form = stored.form.unwrap();
    assert_eq!(form.indicators[4].target.as_ref().unwrap().value, "1");
    assert_eq!(
        form.indicators[4].target.as_ref().unwrap().direction,
        v1::Direction::AtLeast as i32
    );
    server.stop().await;
}

#[tokio::test]
async fn the_same_content_twice_is_one_submission_and_one_scorecard() {
    let server = TestServer::start(fresh_dir("dedup")).await;
    let ch = server.channel().await;
    let mut intake = IntakeServiceClient::new(ch.clone());
    let id = submit_sample(&mut intake).await;
    events_until(ch.clone(), &id, v1::EventType::Audited).await;

    // Same amounts written differently (trailing zeros, spaces) are the same content.
    let mut again = yueyang_radio_form();
    again.funds.as_mut().unwrap().rows[0].full_year_budget = " 139.980".into();
    let second = intake
        .submit_form(submit(again))
        .await
        .unwrap()
        .into_inner();
    assert!(second.deduplicated);
    assert_eq!(second.submission.unwrap().id, id);

    let page = intake
        .list_submissions(v1::ListSubmissionsRequest {
            tenant: "湖南省/岳阳市".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(page.submissions.len(), 1);

    // Another tenant submitting the same content has its own submission.
    let other = intake
        .submit_form(v1::SubmitFormRequest {
            tenant: "湖南省/株洲市".into(),
            form: Some(yueyang_radio_form()),
            rulebook_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!other.deduplicated);
    assert_ne!(other.submission.unwrap().id, id);

    // Exactly one scored event for the first submission: no second scorecard.
    let mut export = ExportServiceClient::new(ch.clone());
    let mut stream = export
        .watch_events(v1::WatchEventsRequest {
            types: vec![v1::EventType::Scored as i32],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let mut scored_for_id = 0;
    while let Ok(Some(Ok(e))) =
        tokio::time::timeout(std::time::Duration::from_millis(500), stream.next()).await
    {
        assert_eq!(e.r#type, v1::EventType::Scored as i32);
        if e.submission_id == id {
            scored_for_id += 1;
        }
    }
    assert_eq!(scored_for_id, 1);
    server.stop().await;
}

#[tokio::test]
async fn a_malformed_form_is_rejected_naming_the_field_and_nothing_is_stored() {
    let server = TestServer::start(fresh_dir("invalid")).await;
    let mut intake = IntakeServiceClient::new(server.channel().await);
    let mut form = yueyang_radio_form();
    form.funds.as_mut().unwrap().rows[1].executed = "110,53".into();
    form.indicators[2].self_score = "104".into();
    let err = intake.submit_form(submit(form)).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let fields: Vec<String> = err
        .get_details_bad_request()
        .expect("BadRequest details")
        .field_violations
        .into_iter()
        .map(|v| v.field)
        .collect();
    assert_eq!(fields, ["form.funds.rows[1].executed"]);

    // Once the amount is readable, the range check names the score.
    let mut form = yueyang_radio_form();
    form.indicators[2].self_score = "104".into();
    let err = intake.submit_form(submit(form)).await.unwrap_err();
    let br = err.get_details_bad_request().unwrap();
    assert_eq!(
        br.field_violations[0].field,
        "form.indicators[2].self_score"
    );
    assert!(br.field_violations[0]
        .description
        .contains("between 0 and 100"));

    let err = intake
        .submit_form(v1::SubmitFormRequest::default())
        .await
        .unwrap_err();
    assert_eq!(first_violated_field(&err), "form");

    let page = intake
        .list_submissions(v1::ListSubmissionsRequest {
            tenant: "湖南省/岳阳市".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(page.submissions.is_empty());
    let err = intake
        .get_submission(v1::GetSubmissionRequest {
            id: "sub_nope".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    server.stop().await;
}

#[tokio::test]
async fn a_batch_answers_once_per_form_in_order() {
    let server = TestServer::start(fresh_dir("batch")).await;
    let mut intake = IntakeServiceClient::new(server.channel().await);
    let mut bad = yueyang_radio_form();
    bad.fiscal_year = 23;
    let mut other = yueyang_radio_form();
    other.project_name = "另一个项目".into();
    let items = vec![
        submit(yueyang_radio_form()),
        submit(bad),
        submit(yueyang_radio_form()),
        submit(other),
    ];
    let resp = intake
        .submit_batch(futures::stream::iter(items))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((resp.accepted, resp.deduplicated, resp.rejected), (2, 1, 1));
    let indexes: Vec<u32> = resp.results.iter().map(|r| r.index).collect();
    assert_eq!(indexes, [0, 1, 2, 3]);
    match &resp.results[1].outcome {
        Some(v1::batch_item_result::Outcome::Error(e)) => {
            assert_eq!(e.code, "InvalidArgument");
            assert_eq!(e.violations[0].field, "form.fiscal_year");
        }
        other => panic!("expected an error, got {other:?}"),
    }
    server.stop().await;
}

#[tokio::test]
async fn events_resume_after_a_cursor_without_gaps_or_repeats() {
    let server = TestServer::start(fresh_dir("resume")).await;
    let ch = server.channel().await;
    let mut intake = IntakeServiceClient::new(ch.clone());
    let id = submit_sample(&mut intake).await;
    let all = events_until(ch.clone(), &id, v1::EventType::Audited).await;
    let after_first = all[0].cursor;
    let mut stream = ExportServiceClient::new(ch)
        .watch_events(v1::WatchEventsRequest {
            after_cursor: after_first,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let mut resumed = Vec::new();
    for _ in 0..2 {
        resumed.push(stream.next().await.unwrap().unwrap());
    }
    assert_eq!(resumed, all[1..].to_vec());
    server.stop().await;
}

#[tokio::test]
async fn export_batch_streams_json_lines_with_scorecards_and_findings() {
    let server = TestServer::start(fresh_dir("export")).await;
    let ch = server.channel().await;
    let id = submit_sample(&mut IntakeServiceClient::new(ch.clone())).await;
    events_until(ch.clone(), &id, v1::EventType::Audited).await;
    let mut stream = ExportServiceClient::new(ch)
        .export_batch(v1::ExportBatchRequest {
            format: v1::ExportFormat::Jsonl as i32,
            tenant: "湖南省/岳阳市".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let mut bytes = Vec::new();
    while let Some(chunk) = stream.next().await {
        bytes.extend(chunk.unwrap().data);
    }
    let text = String::from_utf8(bytes).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1);
    assert!(
        lines[0].contains("\"recomputed_total\":\"96.34\""),
        "{}",
        lines[0]
    );
    assert!(
        lines[0].contains("\"rule_id\":\"SCORES.INFLATED\""),
        "{}",
        lines[0]
    );
    server.stop().await;
}

#[tokio::test]
async fn a_full_queue_turns_submissions_away_and_stores_nothing() {
    // No scoring role, and room for one job: the first form fills the queue.
    let server = TestServer::start_with(
        fresh_dir("backlog"),
        &[
            ("roles", "intake,audit,export".into()),
            ("worker.queue_capacity", "1".into()),
            ("worker.backlog_wait_secs", "1".into()),
        ],
    )
    .await;
    let mut intake = IntakeServiceClient::new(server.channel().await);
    submit_sample(&mut intake).await;
    let mut other = yueyang_radio_form();
    other.project_name.push_str("（二期）");
    let err = intake.submit_form(submit(other)).await.unwrap_err();
    assert_eq!(err.code(), Code::ResourceExhausted, "{err:?}");
    assert!(
        err.message().contains("nothing was stored"),
        "{}",
        err.message()
    );
    assert!(
        err.get_details_retry_info().is_some(),
        "the client is told when to retry"
    );
    let listed = intake
        .list_submissions(v1::ListSubmissionsRequest {
            tenant: "湖南省/岳阳市".into(),
            page_size: 10,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.submissions.len(), 1, "only the first form is stored");
    server.stop().await;
}

#[tokio::test]
async fn a_job_queued_before_a_stop_is_scored_after_the_restart() {
    let dir = fresh_dir("restart");
    // No scoring role: the job is committed with the submission but nobody takes it.
    let first = TestServer::start_roles(dir.clone(), "intake,audit,export").await;
    let id = IntakeServiceClient::new(first.channel().await)
        .submit_form(submit(yueyang_radio_form()))
        .await
        .unwrap()
        .into_inner()
        .submission
        .unwrap()
        .id;
    first.stop().await;

    let second = TestServer::start(dir).await;
    let events = events_until(second.channel().await, &id, v1::EventType::Audited).await;
    let types: Vec<i32> = events.iter().map(|e| e.r#type).collect();
    assert_eq!(
        types,
        [
            v1::EventType::Received as i32,
            v1::EventType::Scored as i32,
            v1::EventType::Audited as i32
        ]
    );
    second.stop().await;
}

#[tokio::test]
async fn rescoring_with_another_rulebook_adds_a_scorecard_and_keeps_the_first() {
    let server = TestServer::start(fresh_dir("rescore")).await;
    let ch = server.channel().await;
    let id = submit_sample(&mut IntakeServiceClient::new(ch.clone())).await;
    let first = events_until(ch.clone(), &id, v1::EventType::Audited).await;
    let mut scoring = ScoringServiceClient::new(ch.clone());

    let books = scoring
        .list_rulebooks(v1::ListRulebooksRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(books.default_rulebook_id, "cn-national-default");
    let ids: Vec<&str> = books.rulebooks.iter().map(|b| b.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "cn-national-default",
            "example-province-2023",
            "explain-overachievement"
        ]
    );
    let book = scoring
        .get_rulebook(v1::GetRulebookRequest {
            id: "example-province-2023".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(book.source.contains("denominator = \"initial_budget\""));
    let err = scoring
        .get_rulebook(v1::GetRulebookRequest { id: "nope".into() })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let err = scoring
        .rescore_batch(v1::RescoreBatchRequest {
            tenant: "湖南省/岳阳市".into(),
            rulebook_id: "nope".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(first_violated_field(&err), "rulebook_id");

    let queued = scoring
        .rescore_batch(v1::RescoreBatchRequest {
            tenant: "湖南省/岳阳市".into(),
            rulebook_id: "example-province-2023".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .queued;
    assert_eq!(queued, 1);

    // Wait for the second scored event of this submission.
    let mut stream = ExportServiceClient::new(ch.clone())
        .watch_events(v1::WatchEventsRequest {
            after_cursor: first.last().unwrap().cursor,
            types: vec![v1::EventType::Scored as i32],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let e = tokio::time::timeout(std::time::Duration::from_secs(30), stream.next())
        .await
        .expect("a second scored event")
        .unwrap()
        .unwrap();
    assert_eq!(e.submission_id, id);
    drop(stream);

    let card = |rulebook: &str| {
        let mut scoring = scoring.clone();
        let req = v1::GetScoreCardRequest {
            submission_id: id.clone(),
            rulebook_id: rulebook.into(),
        };
        async move { scoring.get_score_card(req).await.unwrap().into_inner() }
    };
    // 年初预算数 126, executed 124.51: 20 × 124.51 / 126 = 19.76.
    let province = card("example-province-2023").await;
    assert_eq!(province.lines[0].recomputed_score, "19.76");
    assert_eq!(
        card("").await.rulebook_id,
        "example-province-2023",
        "the newest card by default"
    );
    assert_eq!(
        card("cn-national-default").await.recomputed_total,
        "96.34",
        "the first card is kept"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_submission_may_name_its_rulebook() {
    let server = TestServer::start(fresh_dir("explicit-rulebook")).await;
    let ch = server.channel().await;
    let mut intake = IntakeServiceClient::new(ch.clone());
    let mut req = submit(yueyang_radio_form());
    req.rulebook_id = "nope".into();
    let err = intake.submit_form(req.clone()).await.unwrap_err();
    assert_eq!(first_violated_field(&err), "rulebook_id");
    req.rulebook_id = "example-province-2023".into();
    let id = intake
        .submit_form(req)
        .await
        .unwrap()
        .into_inner()
        .submission
        .unwrap()
        .id;
    events_until(ch.clone(), &id, v1::EventType::Scored).await;
    let card = ScoringServiceClient::new(ch)
        .get_score_card(v1::GetScoreCardRequest {
            submission_id: id,
            rulebook_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(card.rulebook_id, "example-province-2023");
    server.stop().await;
}

#[tokio::test]
async fn a_bad_rulebook_file_stops_the_start_naming_file_and_key() {
    let dir = fresh_dir("bad-rulebook");
    let books = dir.join("rulebooks");
    std::fs::create_dir_all(&books).unwrap();
    std::fs::write(
        books.join("mine.toml"),
        "id = \"mine\"\nversion = \"1\"\ntitle = \"t\"\nweight = 3\n",
    )
    .unwrap();
    let config = jixiao_server::Config::load(
        None,
        Vec::new(),
        &[
            ("listen", "127.0.0.1:0".into()),
            ("data_dir", dir.display().to_string()),
            ("rulebook_dir", books.display().to_string()),
        ],
    )
    .unwrap();
    let bound = jixiao_server::bind(config).await.unwrap();
    let err = bound.run(async {}).await.unwrap_err();
    let text = format!("{err:#}");
    assert!(
        text.contains("mine.toml") && text.contains("weight"),
        "{text}"
    );
}
