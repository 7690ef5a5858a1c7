//! The real documents through the server: ImportDocument finds every form,
//! stores them, and the department audit runs over what was stored.

mod common;

use common::{events_until, first_violated_field, fresh_dir, TestServer};
use jixiao_proto::v1::{
    self, audit_service_client::AuditServiceClient, intake_service_client::IntakeServiceClient,
};
use tonic::Code;

fn sample(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/../jixiao-parse/tests/samples/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

async fn import(
    intake: &mut IntakeServiceClient<tonic::transport::Channel>,
    name: &str,
) -> v1::ImportDocumentResponse {
    intake
        .import_document(v1::ImportDocumentRequest {
            tenant: "湖南省".into(),
            file_name: name.into(),
            content: sample(name),
            content_type: String::new(),
            rulebook_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
}

#[tokio::test]
async fn importing_the_samples_stores_every_form_and_audits_the_department() {
    let server = TestServer::start(fresh_dir("import")).await;
    let ch = server.channel().await;
    let mut intake = IntakeServiceClient::new(ch.clone()).max_encoding_message_size(64 << 20);

    let yy = import(&mut intake, "yueyang-gxj-2023.txt").await;
    assert_eq!((yy.accepted, yy.deduplicated, yy.rejected), (16, 0, 0));
    let zz = import(&mut intake, "zhuzhou-gxj-2024.txt").await;
    assert_eq!((zz.accepted, zz.deduplicated, zz.rejected), (21, 0, 0));
    // The 株洲 department form's 得分 "100%" is reported with its line.
    let dept = zz
        .forms
        .iter()
        .find(|f| f.origin.as_ref().unwrap().first_line == 231)
        .unwrap();
    assert_eq!(dept.diagnostics[0].code, "score_as_percent");
    assert_eq!(dept.diagnostics[0].line, 253);
    // The same document again: every form is a duplicate.
    let again = import(&mut intake, "yueyang-gxj-2023.txt").await;
    assert_eq!((again.accepted, again.deduplicated), (0, 16));

    let last = match yy.forms.last().unwrap().outcome.as_ref().unwrap() {
        v1::imported_form::Outcome::Accepted(a) => a.submission.as_ref().unwrap().id.clone(),
        other => panic!("{other:?}"),
    };
    events_until(ch.clone(), &last, v1::EventType::Audited).await;

    let mut audit = AuditServiceClient::new(ch.clone());
    // The worker runs the department audit after each batch: the cross-form
    // findings appear without anyone asking.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let found = audit
            .list_findings(v1::ListFindingsRequest {
                tenant: "湖南省".into(),
                unit: "岳阳市工业和信息化局".into(),
                fiscal_year: 2023,
                rule_id: "DEPT.OTHER_FUNDS_BELOW_PROJECTS".into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .findings;
        if found.len() == 1 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no department audit after the import"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let dept = audit
        .audit_department(v1::AuditDepartmentRequest {
            tenant: "湖南省".into(),
            unit: "岳阳市工业和信息化局".into(),
            fiscal_year: 2023,
            forms: vec![],
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(dept.forms, 16);
    let rules: Vec<&str> = dept
        .findings
        .iter()
        .map(|f| f.finding.as_ref().unwrap().rule_id.as_str())
        .collect();
    assert_eq!(
        rules,
        [
            "DEPT.PROJECT_SPENDING_MISMATCH",
            "DEPT.OTHER_FUNDS_BELOW_PROJECTS"
        ]
    );

    // Listing by unit and year shows the department's findings beside the forms' own.
    let listed = audit
        .list_findings(v1::ListFindingsRequest {
            tenant: "湖南省".into(),
            unit: "岳阳市工业和信息化局".into(),
            fiscal_year: 2023,
            rule_id: "DEPT.PROJECT_SPENDING_MISMATCH".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.findings.len(), 1);
    assert_eq!(listed.findings[0].stated, "1119.71");
    // Auditing again replaces, never duplicates.
    audit
        .audit_department(v1::AuditDepartmentRequest {
            tenant: "湖南省".into(),
            unit: "岳阳市工业和信息化局".into(),
            fiscal_year: 2023,
            forms: vec![],
        })
        .await
        .unwrap();
    let errors = audit
        .list_findings(v1::ListFindingsRequest {
            tenant: "湖南省".into(),
            unit: "岳阳市工业和信息化局".into(),
            fiscal_year: 2023,
            min_severity: v1::Severity::Error as i32,
            page_size: 1000,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .findings;
    assert_eq!(
        errors
            .iter()
            .filter(|f| f.rule_id.starts_with("DEPT."))
            .count(),
        2
    );
    assert!(errors
        .iter()
        .all(|f| f.severity == v1::Severity::Error as i32));

    let catalogue = audit
        .get_rule_catalog(v1::GetRuleCatalogRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(catalogue.rules.len(), 32);
    assert_eq!(catalogue.rules.iter().filter(|r| r.cross_form).count(), 5);

    let err = audit
        .audit_department(v1::AuditDepartmentRequest::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(first_violated_field(&err), "unit");
    server.stop().await;
}

#[tokio::test]
async fn a_document_that_is_not_text_is_refused_naming_the_field() {
    let server = TestServer::start(fresh_dir("bad-doc")).await;
    let mut intake = IntakeServiceClient::new(server.channel().await);
    let err = intake
        .import_document(v1::ImportDocumentRequest {
            tenant: "湖南省".into(),
            file_name: "forms.bin".into(),
            content: vec![0xff, 0xfe, 0x00, 0x12],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(first_violated_field(&err), "content");
    server.stop().await;
}
