//! Tokens, scopes and tenant isolation over real gRPC: every RPC, called with a
//! token of 株洲 against 岳阳's data, is refused or sees nothing of it; no,
//! unknown, expired or revoked tokens are UNAUTHENTICATED; a missing scope is
//! PERMISSION_DENIED; limits answer RESOURCE_EXHAUSTED; metrics are served.

mod common;

use std::time::Duration;

use common::{authed, fresh_dir, yueyang_radio_form, TestServer};
use futures::StreamExt;
use jixiao_proto::v1::{
    self, audit_service_client::AuditServiceClient, export_service_client::ExportServiceClient,
    intake_service_client::IntakeServiceClient, scoring_service_client::ScoringServiceClient,
};
use tonic::transport::Channel;
use tonic::Code;
use tonic_types::StatusExt;

const ZHUZHOU: &str = "湖南省/株洲市";
const YUEYANG: &str = "湖南省/岳阳市";
const ALL: &str = "submit,read,export,rescore";

async fn secured(name: &str, extra: &[(&str, String)]) -> TestServer {
    let mut flags = vec![
        ("auth.required", "true".to_string()),
        ("auth.cache_secs", "0".to_string()),
    ];
    flags.extend(extra.iter().cloned());
    TestServer::start_with(fresh_dir(name), &flags).await
}

fn form_of(tenant: &str, name: &str) -> v1::SubmitFormRequest {
    let mut form = yueyang_radio_form();
    form.project_name = name.into();
    // The form names no region of its own: its tenant is its region.
    form.units.as_mut().unwrap().region = String::new();
    v1::SubmitFormRequest {
        tenant: tenant.into(),
        form: Some(form),
        rulebook_id: String::new(),
    }
}

/// Submits with `token` and waits until the submission is audited.
async fn submitted(ch: &Channel, token: &str, tenant: &str, name: &str) -> v1::Submission {
    let mut intake = IntakeServiceClient::new(ch.clone());
    let sub = intake
        .submit_form(authed(form_of(tenant, name), token))
        .await
        .unwrap()
        .into_inner()
        .submission
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let s = intake
            .get_submission(authed(
                v1::GetSubmissionRequest { id: sub.id.clone() },
                token,
            ))
            .await
            .unwrap()
            .into_inner();
        if s.status == v1::SubmissionStatus::Audited as i32 {
            return s;
        }
        assert!(tokio::time::Instant::now() < deadline, "not audited");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// What one RPC answered: its status code, and whether a readable answer
/// mentioned the other tenant's submission.
#[derive(Debug, PartialEq)]
enum Answer {
    Refused(Code),
    /// Answered, showing nothing of the other tenant.
    Clean,
    /// Answered, and the other tenant's data was in it.
    Leaked,
}

fn judge<T>(r: Result<tonic::Response<T>, tonic::Status>, leaked: impl Fn(&T) -> bool) -> Answer {
    match r {
        Err(s) => Answer::Refused(s.code()),
        Ok(r) if leaked(r.get_ref()) => Answer::Leaked,
        Ok(_) => Answer::Clean,
    }
}

/// Every RPC, with `token`, aimed at `victim` (another tenant's audited submission).
async fn every_rpc(
    ch: &Channel,
    token: &str,
    victim: &v1::Submission,
) -> Vec<(&'static str, Answer)> {
    let mut intake = IntakeServiceClient::new(ch.clone()).max_encoding_message_size(64 << 20);
    let mut scoring = ScoringServiceClient::new(ch.clone());
    let mut audit = AuditServiceClient::new(ch.clone());
    let mut export = ExportServiceClient::new(ch.clone());
    let id = victim.id.clone();
    let has = |s: &str| s.contains(&id) || s.contains(YUEYANG);
    let mut out = Vec::new();

    out.push((
        "SubmitForm into the other tenant",
        judge(
            intake
                .submit_form(authed(form_of(YUEYANG, "越权"), token))
                .await,
            |_| true,
        ),
    ));
    let batch = intake
        .submit_batch(authed(
            futures::stream::iter(vec![form_of(YUEYANG, "越权批")]),
            token,
        ))
        .await;
    out.push((
        "SubmitBatch into the other tenant",
        match batch {
            Err(s) => Answer::Refused(s.code()),
            Ok(r) => match &r.get_ref().results[0].outcome {
                Some(v1::batch_item_result::Outcome::Error(e)) if e.code == "PermissionDenied" => {
                    Answer::Refused(Code::PermissionDenied)
                }
                _ => Answer::Leaked,
            },
        },
    ));
    out.push((
        "ImportDocument into the other tenant",
        judge(
            intake
                .import_document(authed(
                    v1::ImportDocumentRequest {
                        tenant: YUEYANG.into(),
                        file_name: "a.txt".into(),
                        content: b"x".to_vec(),
                        ..Default::default()
                    },
                    token,
                ))
                .await,
            |_| true,
        ),
    ));
    out.push((
        "GetSubmission",
        judge(
            intake
                .get_submission(authed(v1::GetSubmissionRequest { id: id.clone() }, token))
                .await,
            |_| true,
        ),
    ));
    out.push((
        "ListSubmissions of the other tenant",
        judge(
            intake
                .list_submissions(authed(
                    v1::ListSubmissionsRequest {
                        tenant: YUEYANG.into(),
                        ..Default::default()
                    },
                    token,
                ))
                .await,
            |r| !r.submissions.is_empty(),
        ),
    ));
    out.push((
        "ListSubmissions of its own",
        judge(
            intake
                .list_submissions(authed(v1::ListSubmissionsRequest::default(), token))
                .await,
            |r| r.submissions.iter().any(|s| s.id == id || has(&s.tenant)),
        ),
    ));
    out.push((
        "GetScoreCard",
        judge(
            scoring
                .get_score_card(authed(
                    v1::GetScoreCardRequest {
                        submission_id: id.clone(),
                        rulebook_id: String::new(),
                    },
                    token,
                ))
                .await,
            |_| true,
        ),
    ));
    out.push((
        "RescoreBatch of the other tenant",
        judge(
            scoring
                .rescore_batch(authed(
                    v1::RescoreBatchRequest {
                        tenant: YUEYANG.into(),
                        rulebook_id: "cn-national-default".into(),
                        ..Default::default()
                    },
                    token,
                ))
                .await,
            |_| true,
        ),
    ));
    out.push((
        "AuditSubmissions (internal)",
        judge(
            audit
                .audit_submissions(authed(
                    v1::AuditSubmissionsRequest {
                        submissions: vec![v1::AuditSubmissionRequest {
                            submission_id: id.clone(),
                            tenant: YUEYANG.into(),
                            form: Some(yueyang_radio_form()),
                            scorecard: None,
                        }],
                    },
                    token,
                ))
                .await,
            |_| true,
        ),
    ));
    out.push((
        "GetSubmissions",
        judge(
            intake
                .get_submissions(authed(
                    v1::GetSubmissionsRequest {
                        ids: vec![id.clone()],
                    },
                    token,
                ))
                .await,
            |r| !r.submissions.is_empty(),
        ),
    ));
    out.push((
        "AuditDepartment of the other tenant",
        judge(
            audit
                .audit_department(authed(
                    v1::AuditDepartmentRequest {
                        tenant: YUEYANG.into(),
                        unit: victim.budget_unit.clone(),
                        fiscal_year: 2023,
                        forms: vec![],
                    },
                    token,
                ))
                .await,
            |_| true,
        ),
    ));
    out.push((
        "ListFindings of the other's submission",
        judge(
            audit
                .list_findings(authed(
                    v1::ListFindingsRequest {
                        submission_id: id.clone(),
                        ..Default::default()
                    },
                    token,
                ))
                .await,
            |r| !r.findings.is_empty(),
        ),
    ));
    out.push((
        "ListFindings of the other tenant",
        judge(
            audit
                .list_findings(authed(
                    v1::ListFindingsRequest {
                        tenant: YUEYANG.into(),
                        ..Default::default()
                    },
                    token,
                ))
                .await,
            |r| !r.findings.is_empty(),
        ),
    ));
    out.push((
        "ExportBatch of the province",
        match export
            .export_batch(authed(
                v1::ExportBatchRequest {
                    region: "湖南省".into(),
                    ..Default::default()
                },
                token,
            ))
            .await
        {
            Err(s) => Answer::Refused(s.code()),
            Ok(r) => {
                let mut bytes = Vec::new();
                let mut stream = r.into_inner();
                while let Some(chunk) = stream.next().await {
                    match chunk {
                        Ok(c) => bytes.extend(c.data),
                        Err(s) => return vec![("ExportBatch", Answer::Refused(s.code()))],
                    }
                }
                if has(&String::from_utf8_lossy(&bytes)) {
                    Answer::Leaked
                } else {
                    Answer::Clean
                }
            }
        },
    ));
    out.push((
        "ExportBatch of the other tenant",
        judge(
            export
                .export_batch(authed(
                    v1::ExportBatchRequest {
                        tenant: YUEYANG.into(),
                        ..Default::default()
                    },
                    token,
                ))
                .await,
            |_| true,
        ),
    ));
    out.push((
        "GetBatchSummary of the province",
        judge(
            export
                .get_batch_summary(authed(
                    v1::GetBatchSummaryRequest {
                        region: "湖南省".into(),
                        ..Default::default()
                    },
                    token,
                ))
                .await,
            |r| r.regions.iter().any(|g| has(&g.key)),
        ),
    ));
    out.push((
        "GetBatchSummary of the other region",
        judge(
            export
                .get_batch_summary(authed(
                    v1::GetBatchSummaryRequest {
                        region: YUEYANG.into(),
                        ..Default::default()
                    },
                    token,
                ))
                .await,
            |_| true,
        ),
    ));
    // The event stream shows only the caller's region; read what is there.
    let watched = match export
        .watch_events(authed(v1::WatchEventsRequest::default(), token))
        .await
    {
        Err(s) => Answer::Refused(s.code()),
        Ok(r) => {
            let mut stream = r.into_inner();
            let mut leaked = false;
            while let Ok(Some(Ok(e))) =
                tokio::time::timeout(Duration::from_millis(700), stream.next()).await
            {
                leaked |= e.submission_id == id || has(&e.tenant);
            }
            if leaked {
                Answer::Leaked
            } else {
                Answer::Clean
            }
        }
    };
    out.push(("WatchEvents", watched));
    out.push((
        "WatchEvents of the other tenant",
        judge(
            export
                .watch_events(authed(
                    v1::WatchEventsRequest {
                        tenant: YUEYANG.into(),
                        ..Default::default()
                    },
                    token,
                ))
                .await,
            |_| true,
        ),
    ));
    out
}

#[tokio::test]
async fn a_token_of_one_city_cannot_read_or_change_another_citys_data() {
    let server = secured("isolation", &[]).await;
    let ch = server.channel().await;
    let zhuzhou = server.token(ZHUZHOU, ALL, None).await;
    let yueyang = server.token(YUEYANG, ALL, None).await;
    let province = server.token("湖南省", "read", None).await;
    let victim = submitted(&ch, &yueyang, "", "岳阳的项目").await;
    assert_eq!(victim.tenant, YUEYANG, "an empty tenant is the token's own");
    let own = submitted(&ch, &zhuzhou, "", "株洲的项目").await;
    assert_eq!(own.tenant, ZHUZHOU);

    use Answer::*;
    let expected = [
        (
            "SubmitForm into the other tenant",
            Refused(Code::PermissionDenied),
        ),
        (
            "SubmitBatch into the other tenant",
            Refused(Code::PermissionDenied),
        ),
        (
            "ImportDocument into the other tenant",
            Refused(Code::PermissionDenied),
        ),
        ("GetSubmission", Refused(Code::NotFound)),
        (
            "ListSubmissions of the other tenant",
            Refused(Code::PermissionDenied),
        ),
        ("ListSubmissions of its own", Clean),
        ("GetScoreCard", Refused(Code::NotFound)),
        (
            "RescoreBatch of the other tenant",
            Refused(Code::PermissionDenied),
        ),
        (
            "AuditSubmissions (internal)",
            Refused(Code::PermissionDenied),
        ),
        ("GetSubmissions", Clean),
        (
            "AuditDepartment of the other tenant",
            Refused(Code::PermissionDenied),
        ),
        ("ListFindings of the other's submission", Clean),
        (
            "ListFindings of the other tenant",
            Refused(Code::PermissionDenied),
        ),
        ("ExportBatch of the province", Clean),
        (
            "ExportBatch of the other tenant",
            Refused(Code::PermissionDenied),
        ),
        ("GetBatchSummary of the province", Clean),
        (
            "GetBatchSummary of the other region",
            Refused(Code::PermissionDenied),
        ),
        ("WatchEvents", Clean),
        (
            "WatchEvents of the other tenant",
            Refused(Code::PermissionDenied),
        ),
    ];
    let answers = every_rpc(&ch, &zhuzhou, &victim).await;
    for ((rpc, answer), (want_rpc, want)) in answers.iter().zip(&expected) {
        assert_eq!(rpc, want_rpc);
        assert_eq!(answer, want, "{rpc}");
    }
    assert_eq!(answers.len(), expected.len());

    // Nothing was written into 岳阳 by the refused calls.
    let theirs = IntakeServiceClient::new(ch.clone())
        .list_submissions(authed(v1::ListSubmissionsRequest::default(), &yueyang))
        .await
        .unwrap()
        .into_inner()
        .submissions;
    assert_eq!(theirs.len(), 1);

    // The province sees both cities; its token only reads.
    let summary = ExportServiceClient::new(ch.clone())
        .get_batch_summary(authed(v1::GetBatchSummaryRequest::default(), &province))
        .await
        .unwrap()
        .into_inner();
    let regions: Vec<&str> = summary.regions.iter().map(|r| r.key.as_str()).collect();
    assert_eq!(regions, [YUEYANG, ZHUZHOU]);
    let err = IntakeServiceClient::new(ch.clone())
        .submit_form(authed(form_of("", "省里"), &province))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    assert!(err.message().contains("submit"), "{}", err.message());
    server.stop().await;
}

#[tokio::test]
async fn missing_unknown_expired_and_revoked_tokens_are_unauthenticated() {
    let server = secured("tokens", &[]).await;
    let ch = server.channel().await;
    let mut scoring = ScoringServiceClient::new(ch.clone());
    let list = |t: Option<&str>| match t {
        Some(t) => authed(v1::ListRulebooksRequest {}, t),
        None => tonic::Request::new(v1::ListRulebooksRequest {}),
    };
    let code = |r: Result<tonic::Response<v1::ListRulebooksResponse>, tonic::Status>| {
        r.map(|_| Code::Ok).unwrap_or_else(|s| s.code())
    };
    assert_eq!(
        code(scoring.list_rulebooks(list(None)).await),
        Code::Unauthenticated
    );
    let forged = format!("jx_{}_{}", "0".repeat(12), "f".repeat(64));
    assert_eq!(
        code(scoring.list_rulebooks(list(Some(&forged))).await),
        Code::Unauthenticated
    );
    assert_eq!(
        code(scoring.list_rulebooks(list(Some("nonsense"))).await),
        Code::Unauthenticated
    );

    let expired = server
        .token(
            ZHUZHOU,
            "read",
            Some(jixiao_proto::convert::now_millis() - 1000),
        )
        .await;
    let err = scoring
        .list_rulebooks(list(Some(&expired)))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
    assert!(err.message().contains("expired"), "{}", err.message());

    let good = server.token(ZHUZHOU, "read", None).await;
    assert_eq!(
        code(scoring.list_rulebooks(list(Some(&good))).await),
        Code::Ok
    );
    // A valid token with one character changed is unknown.
    let mut tampered = good.clone();
    tampered.pop();
    tampered.push(if good.ends_with('0') { '1' } else { '0' });
    assert_eq!(
        code(scoring.list_rulebooks(list(Some(&tampered))).await),
        Code::Unauthenticated
    );

    let store = jixiao_store::Store::connect(&format!(
        "sqlite://{}?mode=rwc",
        server.data_dir.join("jixiao.sqlite").display()
    ))
    .await
    .unwrap();
    let id = jixiao_auth::token_id(&good).unwrap().to_string();
    assert!(store.revoke_token(&id, 1).await.unwrap());
    let err = scoring.list_rulebooks(list(Some(&good))).await.unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
    assert!(err.message().contains("revoked"), "{}", err.message());

    // Health stays open for probes.
    let mut health = tonic_health::pb::health_client::HealthClient::new(ch.clone());
    health
        .check(tonic_health::pb::HealthCheckRequest {
            service: String::new(),
        })
        .await
        .unwrap();
    server.stop().await;
}

#[tokio::test]
async fn each_rpc_needs_its_scope() {
    let server = secured("scopes", &[]).await;
    let ch = server.channel().await;
    let reader = server.token(ZHUZHOU, "read", None).await;
    let submitter = server.token(ZHUZHOU, "submit", None).await;
    let denied = |r: Result<(), tonic::Status>| {
        let s = r.unwrap_err();
        assert_eq!(s.code(), Code::PermissionDenied, "{s:?}");
        s.message().to_string()
    };
    let mut intake = IntakeServiceClient::new(ch.clone());
    let m = denied(
        intake
            .submit_form(authed(form_of("", "x"), &reader))
            .await
            .map(|_| ()),
    );
    assert!(m.contains("submit"), "{m}");
    denied(
        intake
            .list_submissions(authed(v1::ListSubmissionsRequest::default(), &submitter))
            .await
            .map(|_| ()),
    );
    let m = denied(
        ExportServiceClient::new(ch.clone())
            .export_batch(authed(v1::ExportBatchRequest::default(), &reader))
            .await
            .map(|_| ()),
    );
    assert!(m.contains("export"), "{m}");
    denied(
        ScoringServiceClient::new(ch.clone())
            .rescore_batch(authed(
                v1::RescoreBatchRequest {
                    rulebook_id: "cn-national-default".into(),
                    ..Default::default()
                },
                &reader,
            ))
            .await
            .map(|_| ()),
    );
    // With the scope, the same call goes through.
    intake
        .submit_form(authed(form_of("", "x"), &submitter))
        .await
        .unwrap();
    server.stop().await;
}

#[tokio::test]
async fn limits_answer_resource_exhausted_naming_the_limit() {
    let server = secured(
        "limits",
        &[
            ("limits.max_document_bytes", "1000".into()),
            ("limits.max_batch_forms", "3".into()),
            ("limits.max_message_bytes", "20000".into()),
            ("limits.rate_per_sec", "0".into()),
        ],
    )
    .await;
    let ch = server.channel().await;
    let token = server.token(ZHUZHOU, ALL, None).await;
    let mut intake = IntakeServiceClient::new(ch.clone());

    let err = intake
        .import_document(authed(
            v1::ImportDocumentRequest {
                file_name: "big.txt".into(),
                content: vec![b'x'; 2000],
                ..Default::default()
            },
            &token,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::ResourceExhausted);
    assert!(err.message().contains("1000"), "{}", err.message());

    let five: Vec<_> = (0..5).map(|i| form_of("", &format!("批{i}"))).collect();
    let err = intake
        .submit_batch(authed(futures::stream::iter(five), &token))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::ResourceExhausted);
    assert!(err.message().contains("at most 3"), "{}", err.message());
    // The three before the limit were taken; the stream stopped there.
    let listed = intake
        .list_submissions(authed(v1::ListSubmissionsRequest::default(), &token))
        .await
        .unwrap()
        .into_inner()
        .submissions;
    assert_eq!(listed.len(), 3);

    // A form over the message limit, to intake and to a pure RPC elsewhere.
    let mut big = form_of("", "大");
    big.form.as_mut().unwrap().narrative = "说明".repeat(10_000);
    let err = intake
        .submit_form(authed(big.clone(), &token))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::ResourceExhausted, "{err:?}");
    let err = ScoringServiceClient::new(ch.clone())
        .score_form(authed(
            v1::ScoreFormRequest {
                form: big.form,
                rulebook_id: String::new(),
            },
            &token,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::ResourceExhausted, "{err:?}");
    assert!(err.message().contains("20000"), "{}", err.message());
    server.stop().await;
}

#[tokio::test]
async fn a_token_over_its_rate_is_told_when_to_retry() {
    let server = secured(
        "rate",
        &[
            ("limits.rate_per_sec", "1".into()),
            ("limits.rate_burst", "3".into()),
        ],
    )
    .await;
    let ch = server.channel().await;
    let busy = server.token(ZHUZHOU, "read", None).await;
    let calm = server.token(ZHUZHOU, "read", None).await;
    let mut scoring = ScoringServiceClient::new(ch.clone());
    for _ in 0..3 {
        scoring
            .list_rulebooks(authed(v1::ListRulebooksRequest {}, &busy))
            .await
            .unwrap();
    }
    let err = scoring
        .list_rulebooks(authed(v1::ListRulebooksRequest {}, &busy))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::ResourceExhausted);
    let retry = err
        .get_details_retry_info()
        .and_then(|r| r.retry_delay)
        .expect("RetryInfo with a delay");
    assert!(
        retry > Duration::ZERO && retry <= Duration::from_secs(1),
        "{retry:?}"
    );
    // Each token has its own bucket.
    scoring
        .list_rulebooks(authed(v1::ListRulebooksRequest {}, &calm))
        .await
        .unwrap();
    tokio::time::sleep(retry).await;
    scoring
        .list_rulebooks(authed(v1::ListRulebooksRequest {}, &busy))
        .await
        .unwrap();
    server.stop().await;
}

#[tokio::test]
async fn metrics_count_forms_and_time_rpcs_on_the_admin_port() {
    let server = TestServer::start_with(
        fresh_dir("metrics"),
        &[("telemetry.admin_listen", "127.0.0.1:0".into())],
    )
    .await;
    let ch = server.channel().await;
    let mut intake = IntakeServiceClient::new(ch.clone());
    let id = intake
        .submit_form(form_of(ZHUZHOU, "计量"))
        .await
        .unwrap()
        .into_inner()
        .submission
        .unwrap()
        .id;
    common::events_until(ch.clone(), &id, v1::EventType::Audited).await;
    let err = intake
        .get_submission(v1::GetSubmissionRequest {
            id: "sub_none".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);

    // A plain HTTP/1.1 GET, as Prometheus makes it.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut conn = tokio::net::TcpStream::connect(server.admin.unwrap())
        .await
        .unwrap();
    conn.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut text = String::new();
    conn.read_to_string(&mut text).await.unwrap();
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    // Counters are per process: this test binary runs other servers too, so
    // only lower bounds hold.
    let value = |name: &str| -> f64 {
        text.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in {text}"))
    };
    assert!(value("jixiao_forms_received_total") >= 1.0);
    assert!(value("jixiao_forms_scored_total") >= 1.0);
    assert!(value("jixiao_forms_audited_total") >= 1.0);
    assert!(
        text.contains("jixiao_queue_jobs{state=\"ready\"}"),
        "{text}"
    );
    assert!(value(
        "jixiao_rpc_duration_seconds_count{method=\"/jixiao.v1.IntakeService/SubmitForm\",code=\"Ok\"}"
    ) >= 1.0);
    assert!(value(
        "jixiao_rpc_duration_seconds_count{method=\"/jixiao.v1.IntakeService/GetSubmission\",code=\"NotFound\"}"
    ) >= 1.0);
    server.stop().await;
}
