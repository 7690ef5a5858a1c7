//! The store's contract, run against both backends: SQLite in a temp file and
//! the real PostgreSQL on 127.0.0.1:5432 (a fresh database per test). A
//! missing PostgreSQL fails these tests; it is never skipped.

use std::sync::atomic::{AtomicU32, Ordering};

use jixiao_store::*;
use sea_orm::{ConnectionTrait, Database};

static NEXT: AtomicU32 = AtomicU32::new(0);

/// Unique part first: PostgreSQL cuts identifiers at 63 bytes.
fn unique(name: &str) -> String {
    let short: String = name.chars().take(30).collect();
    format!(
        "jixiao_t_{}_{}_{short}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    )
}

/// A new SQLite database's URL.
fn sqlite_url(name: &str) -> String {
    let path = std::env::temp_dir().join(format!("{}.sqlite", unique(name)));
    let _ = std::fs::remove_file(&path);
    format!("sqlite://{}?mode=rwc", path.display())
}

async fn sqlite(name: &str) -> Store {
    Store::connect(&sqlite_url(name)).await.unwrap()
}

/// Admin connection; `JIXIAO_TEST_POSTGRES_URL` overrides the default.
fn postgres_admin_url() -> String {
    std::env::var("JIXIAO_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

async fn postgres(name: &str) -> Store {
    Store::connect(&postgres_url(name).await).await.unwrap()
}

/// A new PostgreSQL database's URL.
async fn postgres_url(name: &str) -> String {
    let admin_url = postgres_admin_url();
    let admin = Database::connect(&admin_url)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL at {admin_url} is required for this test: {e}"));
    let db = unique(name);
    admin
        .execute_unprepared(&format!("CREATE DATABASE {db}"))
        .await
        .unwrap();
    let base = admin_url.rsplit_once('/').unwrap().0;
    format!("{base}/{db}")
}

fn new_submission(n: u32, tenant: &str, unit: &str) -> NewSubmission {
    NewSubmission {
        id: format!("sub_{tenant}_{n}"),
        earlier_id: None,
        tenant: tenant.into(),
        content_digest: format!("digest{n}"),
        kind: "project".into(),
        budget_unit: unit.into(),
        competent_department: String::new(),
        implementing_unit: String::new(),
        project_name: format!("项目{n}"),
        fiscal_year: 2024,
        form: vec![1, 2, 3],
        received_at: 1_700_000_000_000 + i64::from(n),
        rulebook_id: "rb".into(),
        trace_context: String::new(),
    }
}

fn new_card(submission_id: &str, total: &str) -> NewScoreCard {
    NewScoreCard {
        id: format!("{submission_id}:rb:1"),
        submission_id: submission_id.into(),
        rulebook_id: "rb".into(),
        rulebook_version: "1".into(),
        input_digest: "d".into(),
        recomputed_total: total.into(),
        grade: "优".into(),
        card: total.as_bytes().to_vec(),
        computed_at: 1,
        tenant: "t".into(),
        budget_unit: "甲".into(),
        fiscal_year: 2024,
    }
}

async fn submissions_are_stored_once_per_content(store: Store) {
    let first = store
        .submit(new_submission(1, "t", "株洲市工业和信息化局"))
        .await
        .unwrap();
    let created = first.created.expect("new content is created");
    // The job returned is the one stored, waiting for the relay or a worker.
    assert_eq!(
        store.queued_jobs(0, 10).await.unwrap(),
        std::slice::from_ref(&created.job)
    );
    assert_eq!(created.event.event_type, "received");

    let again = store
        .submit(new_submission(1, "t", "株洲市工业和信息化局"))
        .await
        .unwrap();
    assert!(again.created.is_none());
    assert_eq!(again.submission.seq, first.submission.seq);

    // A batch holding the same content twice stores it once.
    let batch = store
        .submit_many(vec![
            new_submission(2, "t", "u"),
            new_submission(2, "t", "u"),
            new_submission(3, "t", "u"),
        ])
        .await
        .unwrap();
    let created: Vec<bool> = batch.iter().map(|o| o.created.is_some()).collect();
    assert_eq!(created, [true, false, true]);
    assert_eq!(store.queued_jobs(0, 100).await.unwrap().len(), 3);

    // An id taken by other content (a hash collision, or another tenant's
    // form) is an error, never the stored submission handed back, and the
    // batch it came in writes nothing.
    for other in [
        NewSubmission {
            content_digest: "other".into(),
            ..new_submission(3, "t", "u")
        },
        NewSubmission {
            tenant: "t2".into(),
            ..new_submission(3, "t", "u")
        },
    ] {
        let err = store
            .submit_many(vec![new_submission(4, "t", "u"), other])
            .await
            .unwrap_err();
        assert!(
            err.message.contains("sub_t_3 is taken by other content"),
            "{err}"
        );
    }
    assert!(store.submission("sub_t_4").await.unwrap().is_none());
    // The same within one batch.
    let err = store
        .submit_many(vec![
            new_submission(5, "t", "u"),
            NewSubmission {
                content_digest: "other".into(),
                ..new_submission(5, "t", "u")
            },
        ])
        .await
        .unwrap_err();
    assert!(
        err.message.contains("sub_t_5 is taken by other content"),
        "{err}"
    );
    assert!(store.submission("sub_t_5").await.unwrap().is_none());
    assert_eq!(store.queued_jobs(0, 100).await.unwrap().len(), 3);
}

async fn rescoring_queues_jobs_again_and_keeps_old_scorecards(store: Store) {
    store.submit(new_submission(1, "t", "u")).await.unwrap();
    store
        .save_scorecard(new_card("sub_t_1", "95.69"))
        .await
        .unwrap();
    assert!(store.queued_jobs(0, 10).await.unwrap().is_empty());
    // Same book again, and another book twice: both queued, no duplicate job rows.
    store
        .queue_jobs(&["sub_t_1".into()], "rb", 2, "")
        .await
        .unwrap();
    store
        .queue_jobs(&["sub_t_1".into()], "other", 2, "")
        .await
        .unwrap();
    store
        .queue_jobs(
            &["sub_t_1".into()],
            "other",
            3,
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        )
        .await
        .unwrap();
    let jobs = store.queued_jobs(0, 10).await.unwrap();
    let mut books: Vec<&str> = jobs.iter().map(|j| j.rulebook_id.as_str()).collect();
    books.sort();
    assert_eq!(books, ["other", "rb"]);
    // A queued job keeps the trace context of the request that queued it last.
    let other = jobs.iter().find(|j| j.rulebook_id == "other").unwrap();
    assert!(other.trace_context.starts_with("00-0af7651916cd43dd"));
    let mut other = new_card("sub_t_1", "80.00");
    other.id = "sub_t_1:other:1".into();
    other.rulebook_id = "other".into();
    let (_, event) = store.save_scorecard(other).await.unwrap();
    assert!(event.is_some(), "a new book's scorecard is announced");
    assert_eq!(
        store
            .latest_scorecard("sub_t_1", None)
            .await
            .unwrap()
            .unwrap()
            .recomputed_total,
        "80.00"
    );
    assert_eq!(
        store
            .latest_scorecard("sub_t_1", Some("rb"))
            .await
            .unwrap()
            .unwrap()
            .recomputed_total,
        "95.69"
    );
}

async fn scorecards_and_findings_are_idempotent(store: Store) {
    store.submit(new_submission(1, "t", "u")).await.unwrap();
    let (card, event) = store
        .save_scorecard(new_card("sub_t_1", "95.69"))
        .await
        .unwrap();
    assert_eq!(card.recomputed_total, "95.69");
    assert_eq!(event.unwrap().event_type, "scored");
    assert_eq!(
        store.submission("sub_t_1").await.unwrap().unwrap().status,
        STATUS_SCORED
    );
    assert!(
        store.queued_jobs(0, 100).await.unwrap().is_empty(),
        "the job is done with the scorecard"
    );

    // A redelivered job keeps the first scorecard and announces nothing.
    let (again, event) = store
        .save_scorecard(new_card("sub_t_1", "12.00"))
        .await
        .unwrap();
    assert_eq!(again.recomputed_total, "95.69");
    assert!(event.is_none());

    let finding = |rule: &str| NewFinding {
        rule_id: rule.into(),
        severity: 2,
        finding: rule.as_bytes().to_vec(),
    };
    let e = store
        .replace_findings("sub_t_1", vec![finding("A"), finding("B")], 5)
        .await
        .unwrap();
    assert_eq!(e.unwrap().detail, "2 findings");
    assert_eq!(
        store.submission("sub_t_1").await.unwrap().unwrap().status,
        STATUS_AUDITED
    );
    assert!(store
        .replace_findings("sub_t_1", vec![finding("A"), finding("B")], 6)
        .await
        .unwrap()
        .is_none());
    assert!(store
        .replace_findings("sub_t_1", vec![finding("A")], 7)
        .await
        .unwrap()
        .is_some());
    let rows = store
        .list_findings(
            &FindingFilter {
                submission_id: Some("sub_t_1".into()),
                ..Default::default()
            },
            0,
            10,
        )
        .await
        .unwrap();
    assert_eq!(
        rows.iter().map(|r| r.rule_id.as_str()).collect::<Vec<_>>(),
        ["A"]
    );
}

async fn listings_filter_and_page(store: Store) {
    for n in 0..5 {
        let unit = if n % 2 == 0 { "甲" } else { "乙" };
        store.submit(new_submission(n, "t", unit)).await.unwrap();
    }
    store
        .submit(new_submission(9, "other", "甲"))
        .await
        .unwrap();
    let f = SubmissionFilter {
        tenant: Some("t".into()),
        unit: Some("甲".into()),
        ..Default::default()
    };
    let page1 = store.list_submissions(&f, 0, 2).await.unwrap();
    let page2 = store
        .list_submissions(&f, page1.last().unwrap().seq, 2)
        .await
        .unwrap();
    let ids: Vec<String> = page1.iter().chain(&page2).map(|m| m.id.clone()).collect();
    assert_eq!(ids, ["sub_t_0", "sub_t_2", "sub_t_4"]);

    let events = store
        .events_after(
            0,
            100,
            &EventFilter {
                tenant: Some("t".into()),
                types: vec!["received".into()],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(events.len(), 5);
    assert!(events.windows(2).all(|w| w[0].seq < w[1].seq));
    let rest = store
        .events_after(events[2].seq, 100, &EventFilter::default())
        .await
        .unwrap();
    assert_eq!(rest.first().unwrap().seq, events[3].seq);
}

/// A filter applied to events in hand (the watches' shared window) takes
/// exactly what the query takes: a region is itself and the paths under it,
/// never a longer name that starts the same, LIKE's wildcards are literal,
/// and case counts (SQLite's LIKE ignores ASCII case unless told not to).
async fn an_event_filter_in_hand_selects_what_the_query_selects(store: Store) {
    let tenants = [
        "湖南省",
        "湖南省/岳阳市",
        "湖南省岳阳",
        "湖南%",
        "湖南%/x",
        "湖南省/岳阳市/平江县",
        "Hunan/a",
        "hunan/b",
    ];
    for (n, tenant) in tenants.iter().enumerate() {
        let unit = if n % 2 == 0 { "甲" } else { "乙" };
        store
            .submit(new_submission(n as u32, tenant, unit))
            .await
            .unwrap();
    }
    let all = store
        .events_after(0, 1000, &EventFilter::default())
        .await
        .unwrap();
    assert_eq!(all.len(), tenants.len());
    let filters = [
        EventFilter {
            region: Some("湖南省".into()),
            ..Default::default()
        },
        EventFilter {
            region: Some("湖南%".into()),
            ..Default::default()
        },
        EventFilter {
            region: Some("湖南省/岳阳市".into()),
            budget_unit: Some("乙".into()),
            ..Default::default()
        },
        EventFilter {
            tenant: Some("湖南省岳阳".into()),
            types: vec!["received".into()],
            ..Default::default()
        },
        EventFilter {
            types: vec!["audited".into()],
            ..Default::default()
        },
        EventFilter {
            region: Some("Hunan".into()),
            ..Default::default()
        },
    ];
    for f in &filters {
        let queried: Vec<i64> = store
            .events_after(0, 1000, f)
            .await
            .unwrap()
            .iter()
            .map(|e| e.seq)
            .collect();
        let in_hand: Vec<i64> = all.iter().filter(|e| f.matches(e)).map(|e| e.seq).collect();
        assert_eq!(queried, in_hand, "{f:?}");
    }
    let region = |r: &str| {
        all.iter()
            .filter(|e| {
                EventFilter {
                    region: Some(r.into()),
                    ..Default::default()
                }
                .matches(e)
            })
            .count()
    };
    assert_eq!(region("湖南省"), 3, "itself and two paths under it");
    assert_eq!(region("湖南%"), 2, "the wildcard is a character");
    assert_eq!(region("Hunan"), 1, "case counts");
}

/// A form's findings share a row; listings page through them one at a time,
/// within a row and across rows, and filter by rule and severity exactly
/// (a rule id with LIKE's wildcards in it matches only itself).
async fn findings_list_one_at_a_time_out_of_their_rows(store: Store) {
    for n in 0..3 {
        store.submit(new_submission(n, "t", "甲")).await.unwrap();
    }
    let f = |rule: &str, severity: i32| NewFinding {
        rule_id: rule.into(),
        severity,
        finding: format!("{rule}/{severity}").into_bytes(),
    };
    store
        .replace_findings_many(
            vec![
                ("sub_t_0".into(), vec![f("A", 1), f("B_1", 3), f("A", 2)]),
                ("sub_t_1".into(), vec![f("BX1", 2)]),
                ("sub_t_2".into(), vec![f("A", 3), f("C", 1)]),
            ],
            5,
        )
        .await
        .unwrap();
    store
        .replace_department_findings("t", "甲", 2024, vec![("sub_t_1".into(), f("D", 2))])
        .await
        .unwrap();
    let all_pages = |filter: FindingFilter, size: u64| {
        let store = store.clone();
        async move {
            let (mut after, mut out) = (0, Vec::new());
            loop {
                let page = store.list_findings(&filter, after, size).await.unwrap();
                assert!(page.len() as u64 <= size);
                let Some(last) = page.last() else { break };
                after = last.seq;
                out.extend(
                    page.into_iter()
                        .map(|x| String::from_utf8(x.finding).unwrap()),
                );
            }
            out
        }
    };
    assert_eq!(
        all_pages(FindingFilter::default(), 1).await,
        ["A/1", "B_1/3", "A/2", "BX1/2", "A/3", "C/1", "D/2"]
    );
    assert_eq!(all_pages(FindingFilter::default(), 3).await.len(), 7);
    let rule = |r: &str| FindingFilter {
        rule_id: Some(r.into()),
        ..Default::default()
    };
    assert_eq!(all_pages(rule("A"), 1).await, ["A/1", "A/2", "A/3"]);
    assert_eq!(all_pages(rule("B_1"), 2).await, ["B_1/3"]);
    assert!(all_pages(rule("%"), 2).await.is_empty());
    let severe = FindingFilter {
        min_severity: Some(3),
        ..Default::default()
    };
    assert_eq!(all_pages(severe, 1).await, ["B_1/3", "A/3"]);
    let department = FindingFilter {
        tenant: Some("t".into()),
        budget_unit: Some("甲".into()),
        fiscal_year: Some(2024),
        submission_id: Some("sub_t_1".into()),
        ..Default::default()
    };
    assert_eq!(all_pages(department, 5).await, ["BX1/2", "D/2"]);
    // A named form's findings outside the tenant, region, unit or year asked
    // for are not listed (checked on its rows, not in SQL).
    for outside in [
        FindingFilter {
            tenant: Some("u".into()),
            ..Default::default()
        },
        FindingFilter {
            region: Some("t/x".into()),
            ..Default::default()
        },
        FindingFilter {
            budget_unit: Some("乙".into()),
            ..Default::default()
        },
        FindingFilter {
            fiscal_year: Some(2023),
            ..Default::default()
        },
    ] {
        let named = FindingFilter {
            submission_id: Some("sub_t_1".into()),
            ..outside
        };
        assert!(all_pages(named, 5).await.is_empty());
    }
    let in_region = FindingFilter {
        submission_id: Some("sub_t_1".into()),
        region: Some("t".into()),
        ..Default::default()
    };
    assert!(!all_pages(in_region, 5).await.is_empty());
    let found = store.findings_of(&["sub_t_0".into()]).await.unwrap();
    assert_eq!(
        found
            .iter()
            .map(|x| (x.rule_id.as_str(), x.severity, x.scope.as_str()))
            .collect::<Vec<_>>(),
        [("A", 1, "form"), ("B_1", 3, "form"), ("A", 2, "form")]
    );
}

async fn regions_take_in_the_regions_under_them(store: Store) {
    for (n, tenant) in [
        "湖南省",
        "湖南省/株洲市",
        "湖南省/株洲市/醴陵市",
        "湖南省株洲",
        "湖北省",
        "a_b",
        "axb",
    ]
    .iter()
    .enumerate()
    {
        store
            .submit(new_submission(n as u32, tenant, "甲"))
            .await
            .unwrap();
    }
    let tenants = |region: &str| {
        let store = store.clone();
        let f = SubmissionFilter {
            region: Some(region.into()),
            ..Default::default()
        };
        async move {
            store
                .list_submissions(&f, 0, 100)
                .await
                .unwrap()
                .into_iter()
                .map(|s| s.tenant)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        tenants("湖南省").await,
        ["湖南省", "湖南省/株洲市", "湖南省/株洲市/醴陵市"]
    );
    assert_eq!(
        tenants("湖南省/株洲市").await,
        ["湖南省/株洲市", "湖南省/株洲市/醴陵市"]
    );
    // LIKE wildcards in a region are literal.
    assert_eq!(tenants("a_b").await, ["a_b"]);
    assert!(tenants("湖南").await.is_empty());
}

async fn exports_read_scorecards_and_findings_a_page_at_a_time(store: Store) {
    for n in 0..3 {
        store.submit(new_submission(n, "t", "甲")).await.unwrap();
    }
    store
        .save_scorecard(new_card("sub_t_0", "90"))
        .await
        .unwrap();
    store
        .save_scorecard(new_card("sub_t_1", "80"))
        .await
        .unwrap();
    let mut other = new_card("sub_t_1", "70");
    other.id = "sub_t_1:rb2:1".into();
    other.rulebook_id = "rb2".into();
    store.save_scorecard(other).await.unwrap();
    let ids: Vec<String> = (0..3).map(|n| format!("sub_t_{n}")).collect();
    let newest = store.latest_scorecards(&ids, None).await.unwrap();
    assert_eq!(newest.len(), 2);
    assert_eq!(newest["sub_t_1"].recomputed_total, "70");
    let of_rb = store.latest_scorecards(&ids, Some("rb")).await.unwrap();
    assert_eq!(of_rb["sub_t_1"].recomputed_total, "80");

    let finding = |rule: &str| NewFinding {
        rule_id: rule.into(),
        severity: 2,
        finding: rule.as_bytes().to_vec(),
    };
    store
        .replace_findings("sub_t_0", vec![finding("A"), finding("B")], 5)
        .await
        .unwrap();
    store
        .replace_department_findings("t", "甲", 2024, vec![("sub_t_2".into(), finding("D"))])
        .await
        .unwrap();
    let rules: Vec<(String, String)> = store
        .findings_of(&ids)
        .await
        .unwrap()
        .into_iter()
        .map(|f| (f.submission_id, f.rule_id))
        .collect();
    assert_eq!(
        rules,
        [
            ("sub_t_0".to_string(), "A".to_string()),
            ("sub_t_0".into(), "B".into()),
            ("sub_t_2".into(), "D".into())
        ]
    );
}

async fn the_event_log_is_trimmed_to_its_newest_events(store: Store) {
    for n in 0..6 {
        store.submit(new_submission(n, "t", "甲")).await.unwrap();
    }
    assert_eq!(store.events_trimmed_through().await.unwrap(), 0);
    let all = store
        .events_after(0, 100, &EventFilter::default())
        .await
        .unwrap();
    assert_eq!(store.trim_events(4, |_| {}).await.unwrap(), 2);
    assert_eq!(store.events_trimmed_through().await.unwrap(), all[1].seq);
    let kept = store
        .events_after(0, 100, &EventFilter::default())
        .await
        .unwrap();
    assert_eq!(kept, all[2..].to_vec());
    // Nothing more to trim; keeping more than there is trims nothing either.
    assert_eq!(store.trim_events(4, |_| {}).await.unwrap(), 0);
    assert_eq!(store.trim_events(100, |_| {}).await.unwrap(), 0);
    let exported = store
        .record_event("exported", "", "t", "", 0, 9, "csv of 6 forms".into())
        .await
        .unwrap();
    assert!(exported.seq > all[5].seq);
}

async fn batches_of_scorecards_and_findings_commit_together(store: Store) {
    for n in 0..4 {
        store.submit(new_submission(n, "t", "甲")).await.unwrap();
    }
    let cards: Vec<NewScoreCard> = (0..4)
        .map(|n| new_card(&format!("sub_t_{n}"), "90"))
        .chain([new_card("sub_t_0", "90")])
        .collect();
    let saved = store.save_scorecards(cards).await.unwrap();
    assert_eq!(saved.len(), 5);
    // Four new cards announced; the repeat inside the batch is not.
    assert_eq!(saved.iter().filter(|(_, e)| e.is_some()).count(), 4);
    assert!(saved[4].1.is_none());
    assert_eq!(saved[4].0.id, saved[0].0.id);
    let again = store
        .save_scorecards(vec![new_card("sub_t_1", "90")])
        .await
        .unwrap();
    assert!(again[0].1.is_none(), "a redelivered card writes no event");
    assert!(store.queued_jobs(0, 10).await.unwrap().is_empty());
    let cursors: Vec<i64> = saved
        .iter()
        .filter_map(|(_, e)| e.as_ref().map(|e| e.seq))
        .collect();
    assert!(cursors.windows(2).all(|w| w[0] < w[1]));

    let finding = |rule: &str| NewFinding {
        rule_id: rule.into(),
        severity: 1,
        finding: rule.as_bytes().to_vec(),
    };
    let events = store
        .replace_findings_many(
            (0..4)
                .map(|n| {
                    (
                        format!("sub_t_{n}"),
                        vec![finding("A"), finding(&format!("B{n}"))],
                    )
                })
                .collect(),
            5,
        )
        .await
        .unwrap();
    assert_eq!(events.iter().filter(|e| e.is_some()).count(), 4);
    // The same findings again change nothing; different ones replace them.
    let events = store
        .replace_findings_many(
            vec![
                ("sub_t_0".into(), vec![finding("A"), finding("B0")]),
                ("sub_t_1".into(), vec![finding("C")]),
            ],
            6,
        )
        .await
        .unwrap();
    assert!(events[0].is_none());
    assert_eq!(events[1].as_ref().unwrap().detail, "1 findings");
    let rules: Vec<String> = store
        .findings_of(&["sub_t_1".to_string()])
        .await
        .unwrap()
        .into_iter()
        .map(|f| f.rule_id)
        .collect();
    assert_eq!(rules, ["C"]);
    let audited = store
        .list_submissions(
            &SubmissionFilter {
                tenant: Some("t".into()),
                status: Some("audited".into()),
                ..Default::default()
            },
            0,
            10,
        )
        .await
        .unwrap();
    assert_eq!(audited.len(), 4);
}

/// The worker's path when audit shares its process: the scorecards and the
/// findings of a batch in one transaction, all or nothing.
async fn scorecards_with_their_findings_commit_as_one(store: Store) {
    for n in 0..5 {
        store.submit(new_submission(n, "t", "甲")).await.unwrap();
    }
    let finding = |rule: &str| NewFinding {
        rule_id: rule.into(),
        severity: 2,
        finding: rule.as_bytes().to_vec(),
    };
    let cards = || {
        (0..3)
            .map(|n| new_card(&format!("sub_t_{n}"), "90"))
            .collect()
    };
    let findings = || {
        (0..3)
            .map(|n| (format!("sub_t_{n}"), vec![finding(&format!("R{n}"))]))
            .collect()
    };

    // One failing part (findings of a submission that does not exist) and
    // nothing is written, not even the cards that were fine.
    let mut bad: Vec<(String, Vec<NewFinding>)> = findings();
    bad.push(("sub_t_missing".into(), vec![finding("X")]));
    let before = store.last_event_seq().await.unwrap();
    assert!(store
        .save_scorecards_and_findings(cards(), bad, 7)
        .await
        .is_err());
    assert_eq!(store.last_event_seq().await.unwrap(), before);
    assert!(store
        .latest_scorecard("sub_t_0", None)
        .await
        .unwrap()
        .is_none());
    assert_eq!(store.queued_jobs(0, 10).await.unwrap().len(), 5);

    let (scored, audited) = store
        .save_scorecards_and_findings(cards(), findings(), 7)
        .await
        .unwrap();
    // Each event names its own submission, and is of its kind.
    for (n, ((card, scored), audited)) in scored.iter().zip(&audited).enumerate() {
        let (scored, audited) = (scored.as_ref().unwrap(), audited.as_ref().unwrap());
        let id = format!("sub_t_{n}");
        assert_eq!(card.submission_id, id);
        assert_eq!(
            (scored.event_type.as_str(), &scored.submission_id),
            ("scored", &id)
        );
        assert_eq!(
            (audited.event_type.as_str(), &audited.submission_id),
            ("audited", &id)
        );
    }
    let scored: Vec<i64> = scored
        .iter()
        .map(|(_, e)| e.as_ref().unwrap().seq)
        .collect();
    let audited: Vec<i64> = audited.iter().map(|e| e.as_ref().unwrap().seq).collect();
    assert_eq!((scored.len(), audited.len()), (3, 3));
    // Every scored event comes before every audited one, in order.
    assert!(scored
        .iter()
        .chain(&audited)
        .collect::<Vec<_>>()
        .windows(2)
        .all(|w| w[0] < w[1]));
    assert_eq!(store.queued_jobs(0, 10).await.unwrap().len(), 2);
    let stored = store.findings_of(&["sub_t_2".to_string()]).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].rule_id, "R2");
    let sub = store.submission("sub_t_1").await.unwrap().unwrap();
    assert_eq!(sub.status, "audited");

    // Redelivered: the first cards stand, the findings are the same, nothing is announced.
    let last = store.last_event_seq().await.unwrap();
    let (scored, audited) = store
        .save_scorecards_and_findings(cards(), findings(), 8)
        .await
        .unwrap();
    assert!(scored.iter().all(|(_, e)| e.is_none()));
    assert!(audited.iter().all(Option::is_none));
    assert_eq!(store.last_event_seq().await.unwrap(), last);

    // A redelivery beside a new form in one batch: only the new one is
    // announced, scored before audited.
    let (scored, audited) = store
        .save_scorecards_and_findings(
            vec![new_card("sub_t_0", "90"), new_card("sub_t_4", "70")],
            vec![
                ("sub_t_0".into(), vec![finding("R0")]),
                ("sub_t_4".into(), vec![finding("R4")]),
            ],
            9,
        )
        .await
        .unwrap();
    assert!(scored[0].1.is_none() && audited[0].is_none());
    let (s4, a4) = (scored[1].1.as_ref().unwrap(), audited[1].as_ref().unwrap());
    assert_eq!(
        (s4.event_type.as_str(), s4.submission_id.as_str()),
        ("scored", "sub_t_4")
    );
    assert_eq!(
        (a4.event_type.as_str(), a4.submission_id.as_str()),
        ("audited", "sub_t_4")
    );
    assert!(last < s4.seq && s4.seq < a4.seq);

    // A card that comes without findings is scored, not audited: only the
    // submissions audited in the same call skip the `scored` status.
    let (scored, audited) = store
        .save_scorecards_and_findings(vec![new_card("sub_t_3", "80")], vec![], 9)
        .await
        .unwrap();
    assert!(scored[0].1.is_some() && audited.is_empty());
    let sub = store.submission("sub_t_3").await.unwrap().unwrap();
    assert_eq!(sub.status, "scored");
}

/// Rows written by the schema before the tables under a submission were
/// keyed by its sequence number come through the upgrade whole, and the new
/// keys hold them to one card and one job each.
async fn an_older_database_keeps_its_rows_through_the_upgrade(url: String) {
    use sea_orm::sea_query::{Alias, Query};
    use sea_orm_migration::MigratorTrait;
    let db = Database::connect(&url).await.unwrap();
    Migrator::up(&db, Some(6)).await.unwrap();
    let insert = |table: &str, columns: &[&str], rows: Vec<Vec<sea_orm::Value>>| {
        let mut q = Query::insert();
        q.into_table(Alias::new(table))
            .columns(columns.iter().map(|c| Alias::new(*c)));
        for row in rows {
            q.values_panic(row.into_iter().map(Into::into));
        }
        db.get_database_backend().build(&q)
    };
    let submission = |id: &str, status: &str, received_at: i64| -> Vec<sea_orm::Value> {
        vec![
            id.into(),
            "t".into(),
            format!("digest of {id}").into(),
            "project".into(),
            "u".into(),
            "".into(),
            "".into(),
            "p".into(),
            2024.into(),
            status.into(),
            received_at.into(),
        ]
    };
    for statement in [
        insert(
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
            // sub_b was scored and audited before the upgrade.
            vec![
                submission("sub_a", "received", 1),
                submission("sub_b", "audited", 2),
            ],
        ),
        insert(
            "submission_forms",
            &["id", "form"],
            vec![
                vec!["sub_b".into(), vec![3u8].into()],
                vec!["sub_a".into(), vec![1u8, 2].into()],
            ],
        ),
        insert(
            "scorecards",
            &[
                "id",
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
            vec![vec![
                "sub_b:rb:1".into(),
                "sub_b".into(),
                "rb".into(),
                "1".into(),
                "d".into(),
                "91".into(),
                "优".into(),
                vec![9u8].into(),
                5i64.into(),
                "t".into(),
            ]],
        ),
        insert(
            "findings",
            &[
                "submission_id",
                "rule_id",
                "severity",
                "finding",
                "scope",
                "tenant",
                "budget_unit",
                "fiscal_year",
            ],
            vec![
                vec![
                    "sub_b".into(),
                    "R1".into(),
                    2.into(),
                    vec![7u8].into(),
                    "form".into(),
                    "t".into(),
                    "u".into(),
                    2024.into(),
                ],
                vec![
                    "sub_b".into(),
                    "规则-2".into(),
                    3.into(),
                    vec![0u8, 255, 8].into(),
                    "form".into(),
                    "t".into(),
                    "u".into(),
                    2024.into(),
                ],
            ],
        ),
        insert(
            "scoring_jobs",
            &[
                "submission_id",
                "rulebook_id",
                "state",
                "enqueued_at",
                "trace_context",
            ],
            // Two jobs for ids that never existed: unreachable rows, which
            // the new unique key would have refused as two of (0, rulebook).
            ["sub_a", "sub_gone_1", "sub_gone_2"]
                .into_iter()
                .map(|id| {
                    vec![
                        id.into(),
                        "rb".into(),
                        "queued".into(),
                        1i64.into(),
                        "".into(),
                    ]
                })
                .collect(),
        ),
    ] {
        db.execute(statement).await.unwrap();
    }
    db.close().await.unwrap();

    let store = Store::connect(&url).await.unwrap();
    let (a, b) = (
        store.submission("sub_a").await.unwrap().unwrap(),
        store.submission("sub_b").await.unwrap().unwrap(),
    );
    let forms = store.forms_of(&[a.clone(), b.clone()]).await.unwrap();
    assert_eq!(forms.len(), 2);
    assert_eq!(forms["sub_a"], vec![1, 2]);
    assert_eq!(forms["sub_b"], vec![3]);
    let card = store
        .latest_scorecard("sub_b", None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (card.submission_seq, card.recomputed_total.as_str()),
        (b.seq, "91")
    );
    // Each old finding row became a packed list of one (migration 10).
    let findings = store.findings_of(&["sub_b".into()]).await.unwrap();
    assert_eq!(
        findings
            .iter()
            .map(|f| (
                f.submission_seq,
                f.rule_id.as_str(),
                f.severity,
                f.finding.as_slice()
            ))
            .collect::<Vec<_>>(),
        [
            (b.seq, "R1", 2, &[7u8][..]),
            (b.seq, "规则-2", 3, &[0u8, 255, 8][..])
        ]
    );
    let by_rule = FindingFilter {
        rule_id: Some("规则-2".into()),
        ..Default::default()
    };
    let listed = store.list_findings(&by_rule, 0, 10).await.unwrap();
    assert_eq!(listed, findings[1..]);
    // Findings stored again the same are recognised as unchanged.
    let again = findings
        .iter()
        .map(|f| NewFinding {
            rule_id: f.rule_id.clone(),
            severity: f.severity,
            finding: f.finding.clone(),
        })
        .collect();
    let event = store.replace_findings("sub_b", again, 9).await.unwrap();
    assert!(event.is_none(), "the same findings again write nothing");
    assert_eq!(
        store.findings_of(&["sub_b".into()]).await.unwrap(),
        findings
    );
    let jobs = store.queued_jobs(0, 10).await.unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(
        (jobs[0].submission_seq, jobs[0].submission_id.as_str()),
        (a.seq, "sub_a")
    );
    // The new keys hold what the old ones did: one card per (submission,
    // rulebook, version), one job per (submission, rulebook).
    let (_, event) = store.save_scorecard(new_card("sub_b", "60")).await.unwrap();
    assert!(event.is_none(), "the card stored before the upgrade wins");
    let (new, event) = store.save_scorecard(new_card("sub_a", "70")).await.unwrap();
    assert!(
        event.is_some() && new.seq > card.seq,
        "cards go on numbering after the old ones"
    );
    assert_eq!(new.submission_seq, a.seq);
    store
        .queue_jobs(&["sub_a".into()], "rb", 6, "")
        .await
        .unwrap();
    assert_eq!(store.count_jobs_queued_before(i64::MAX).await.unwrap(), 1);
    assert_eq!(store.count_jobs_queued_before(0).await.unwrap(), 0);

    // Ids begin with their unit now (migration 14). A repeat of content
    // stored before maps to its earlier id; other content takes its new one,
    // and a row stored since is never matched by an earlier id.
    let repeat = |id: &str, earlier: &str| NewSubmission {
        id: id.into(),
        earlier_id: Some(earlier.into()),
        content_digest: format!("digest of {earlier}"),
        ..new_submission(100, "t", "u")
    };
    let out = store
        .submit_many(vec![repeat("sub_u_a", "sub_a"), repeat("sub_u_c", "sub_c")])
        .await
        .unwrap();
    assert!(out[0].created.is_none());
    assert_eq!(
        (out[0].submission.id.as_str(), out[0].submission.seq),
        ("sub_a", a.seq)
    );
    assert!(out[1].created.is_some());
    assert_eq!(out[1].submission.id, "sub_u_c");
    let since = store.submit(repeat("sub_u_d", "sub_u_c")).await.unwrap();
    assert!(since.created.is_some());
    assert_eq!(since.submission.id, "sub_u_d");
}

#[tokio::test]
async fn sqlite_keeps_its_rows_through_the_upgrade() {
    an_older_database_keeps_its_rows_through_the_upgrade(sqlite_url("upgrade")).await
}

#[tokio::test]
async fn postgres_keeps_its_rows_through_the_upgrade() {
    an_older_database_keeps_its_rows_through_the_upgrade(postgres_url("upgrade").await).await
}

/// Forms, scorecards and findings are stored lz4-compressed by the store,
/// on both backends, and PostgreSQL is told not to compress them again
/// (EXTERNAL) and does not move a form of a few KiB out of its row (TOAST).
/// They read back as written.
async fn blobs_are_stored_compressed(url: String) {
    let store = Store::connect(&url).await.unwrap();
    // Past PostgreSQL's 2 KiB threshold, and compressible, as forms are.
    let form: Vec<u8> = "项目绩效目标完成情况 ".repeat(200).into_bytes();
    let mut new = new_submission(1, "t", "甲");
    new.form = form.clone();
    store.submit(new).await.unwrap();
    // Still 3,000 bytes once compressed: a large form, yet short of a page.
    let mut state = 1u32;
    let dense: Vec<u8> = (0..3000)
        .map(|_| {
            state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            (state >> 24) as u8
        })
        .collect();
    let mut new = new_submission(2, "t", "甲");
    new.form = dense.clone();
    store.submit(new).await.unwrap();
    let mut card = new_card("sub_t_1", "90");
    card.card = "评分明细 ".repeat(300).into_bytes();
    store.save_scorecards(vec![card.clone()]).await.unwrap();
    let findings: Vec<NewFinding> = (0..8)
        .map(|n| NewFinding {
            rule_id: format!("R{n}"),
            severity: 2,
            finding: "执行数超过预算数 ".repeat(40).into_bytes(),
        })
        .collect();
    store
        .replace_findings("sub_t_1", findings.clone(), 3)
        .await
        .unwrap();
    let db = Database::connect(&url).await.unwrap();
    let backend = db.get_database_backend();
    for (table, column) in [
        ("submission_forms", "form"),
        ("scorecards", "card"),
        ("findings", "findings"),
    ] {
        let (head, magic, length) = if backend == sea_orm::DbBackend::Postgres {
            (
                format!("substring({column} from 1 for 4)"),
                "'\\xff4c5a34'::bytea",
                "octet_length",
            )
        } else {
            (format!("substr({column}, 1, 4)"), "x'ff4c5a34'", "length")
        };
        let row = db
            .query_one(sea_orm::Statement::from_string(
                backend,
                format!(
                    "SELECT CASE WHEN {head} = {magic} AND {length}({column}) < 400 \
                     THEN 'lz4' ELSE 'raw' END AS method FROM {table} ORDER BY seq LIMIT 1"
                ),
            ))
            .await
            .unwrap()
            .unwrap();
        let method: String = row.try_get("", "method").unwrap();
        assert_eq!(method, "lz4", "{table}.{column}");
        if backend == sea_orm::DbBackend::Postgres {
            // EXTERNAL: a value past PostgreSQL's threshold is not compressed again.
            let row = db
                .query_one(sea_orm::Statement::from_string(
                    backend,
                    format!(
                        "SELECT attstorage::text FROM pg_attribute \
                         WHERE attrelid = '{table}'::regclass AND attname = '{column}'"
                    ),
                ))
                .await
                .unwrap()
                .unwrap();
            let storage: String = row.try_get_by_index(0).unwrap();
            assert_eq!(storage, "e", "{table}.{column}");
        }
    }
    if backend == sea_orm::DbBackend::Postgres {
        let row = db
            .query_one(sea_orm::Statement::from_string(
                backend,
                "SELECT pg_relation_size(reltoastrelid) FROM pg_class \
                 WHERE relname = 'submission_forms'",
            ))
            .await
            .unwrap()
            .unwrap();
        let toasted: i64 = row.try_get_by_index(0).unwrap();
        assert_eq!(toasted, 0, "a 3,000-byte form went to TOAST");
    }
    let subs = vec![
        store.submission("sub_t_1").await.unwrap().unwrap(),
        store.submission("sub_t_2").await.unwrap().unwrap(),
    ];
    let read = store.forms_of(&subs).await.unwrap();
    assert_eq!(read["sub_t_1"], form);
    assert_eq!(read["sub_t_2"], dense);
    let stored = store
        .latest_scorecard("sub_t_1", None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.card, card.card);
    let read: Vec<Vec<u8>> = store
        .findings_of(&["sub_t_1".into()])
        .await
        .unwrap()
        .into_iter()
        .map(|f| f.finding)
        .collect();
    assert_eq!(
        read,
        findings.into_iter().map(|f| f.finding).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn sqlite_stores_blobs_compressed() {
    blobs_are_stored_compressed(sqlite_url("lz4")).await
}

#[tokio::test]
async fn postgres_stores_blobs_compressed() {
    blobs_are_stored_compressed(postgres_url("lz4").await).await
}

macro_rules! on_both_backends {
    ($($name:ident),*) => {
        mod sqlite_backend {
            $(#[tokio::test] async fn $name() { super::$name(super::sqlite(stringify!($name)).await).await })*
        }
        mod postgres_backend {
            $(#[tokio::test] async fn $name() { super::$name(super::postgres(stringify!($name)).await).await })*
        }
    };
}

on_both_backends!(
    submissions_are_stored_once_per_content,
    rescoring_queues_jobs_again_and_keeps_old_scorecards,
    scorecards_and_findings_are_idempotent,
    listings_filter_and_page,
    an_event_filter_in_hand_selects_what_the_query_selects,
    findings_list_one_at_a_time_out_of_their_rows,
    regions_take_in_the_regions_under_them,
    exports_read_scorecards_and_findings_a_page_at_a_time,
    the_event_log_is_trimmed_to_its_newest_events,
    batches_of_scorecards_and_findings_commit_together,
    scorecards_with_their_findings_commit_as_one
);

/// Concurrent writers on PostgreSQL, and a follower that only ever reads after
/// the highest cursor it has seen (as WatchEvents and the Redis mirror do): it
/// must end up with every event. Without the event-log lock, a lower sequence
/// committed after a higher one is skipped for good.
#[tokio::test]
async fn a_follower_misses_no_event_under_concurrent_writers() {
    let store = postgres("follower").await;
    let writers: Vec<_> = (0..8u32)
        .map(|w| {
            let store = store.clone();
            tokio::spawn(async move {
                for n in 0..40u32 {
                    store
                        .submit(new_submission(w * 1000 + n, "t", "u"))
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    let follower = {
        let store = store.clone();
        tokio::spawn(async move {
            let mut cursor = 0;
            let mut seen = Vec::new();
            for _ in 0..2000 {
                let page = store
                    .events_after(cursor, 1000, &EventFilter::default())
                    .await
                    .unwrap();
                for e in &page {
                    seen.push(e.seq);
                    cursor = cursor.max(e.seq);
                }
                if seen.len() == 320 {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(2)).await;
            }
            seen
        })
    };
    for w in writers {
        w.await.unwrap();
    }
    let seen = follower.await.unwrap();
    let all = store
        .events_after(0, 10_000, &EventFilter::default())
        .await
        .unwrap();
    assert_eq!(all.len(), 320);
    assert_eq!(
        seen.len(),
        320,
        "the follower missed {} events",
        320 - seen.len()
    );
}

/// SQLite's log is checkpointed beside the writers, never inside a commit;
/// under writes that never pause it must still restart and stay bounded.
/// Twenty times the restart mark passes through here; the log may hold the
/// mark, what came in while the checkpoint that restarts it copied, waited its
/// turn and ran (up to 99 MiB seen with the other tests running beside it),
/// and a transaction.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sqlite_log_stays_bounded_under_writes_that_never_pause() {
    let path = std::env::temp_dir().join(format!("{}.sqlite", unique("wal_bounded")));
    let store = Store::connect(&format!("sqlite://{}?mode=rwc", path.display()))
        .await
        .unwrap();
    let wal = path.with_extension("sqlite-wal");
    let mark = jixiao_store::SQLITE_LOG_RESTART_BYTES as u64;
    // 32 forms of 64 KiB: 2 MiB a transaction.
    let batches = (20 * mark / (2 << 20)) as u32;
    let mut largest = 0;
    for batch in 0..batches {
        let news = (0..32u32)
            .map(|n| NewSubmission {
                form: vec![(n % 251) as u8; 64 * 1024],
                ..new_submission(batch * 100 + n, "t", "u")
            })
            .collect();
        store.submit_many(news).await.unwrap();
        largest = largest.max(std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0));
    }
    assert!(largest < 8 * mark, "the log grew to {} MiB", largest >> 20);
    let _ = std::fs::remove_file(&path);
}
