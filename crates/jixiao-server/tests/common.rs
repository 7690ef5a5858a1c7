//! Shared by the integration tests: a whole jixiao on 127.0.0.1:0 in this
//! process, and a form hand-typed from the 岳阳 2023 sample.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use futures::StreamExt;
use jixiao_proto::v1::{self, export_service_client::ExportServiceClient};
use jixiao_server::Config;
use tokio::sync::oneshot;
use tonic::transport::Channel;

pub struct TestServer {
    pub addr: SocketAddr,
    /// Where `/metrics` is served, when `telemetry.admin_listen` is set.
    pub admin: Option<SocketAddr>,
    pub data_dir: PathBuf,
    stop: Option<oneshot::Sender<()>>,
    handle: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

static NEXT: AtomicU32 = AtomicU32::new(0);

/// A fresh data directory per server, under the system temp dir.
pub fn fresh_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "jixiao-test-{}-{}-{}",
        name,
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

impl TestServer {
    pub async fn start(data_dir: PathBuf) -> TestServer {
        Self::start_roles(data_dir, "intake,scoring,audit,export").await
    }

    pub async fn start_roles(data_dir: PathBuf, roles: &str) -> TestServer {
        Self::start_with(data_dir, &[("roles", roles.into())]).await
    }

    /// A server with extra configuration flags (`database_url`, `redis_url`, …).
    pub async fn start_with(data_dir: PathBuf, extra: &[(&str, String)]) -> TestServer {
        let mut flags = vec![
            ("listen", "127.0.0.1:0".to_string()),
            ("data_dir", data_dir.display().to_string()),
        ];
        flags.extend(extra.iter().cloned());
        let config = Config::load(None, Vec::new(), &flags).unwrap();
        let bound = jixiao_server::bind(config).await.unwrap();
        let addr = bound.local_addr();
        let admin = bound.admin_addr();
        let (tx, rx) = oneshot::channel();
        let handle = tokio::spawn(bound.run(async {
            let _ = rx.await;
        }));
        let server = TestServer {
            addr,
            admin,
            data_dir,
            stop: Some(tx),
            handle: Some(handle),
        };
        server.wait_ready().await;
        server
    }

    async fn wait_ready(&self) {
        for _ in 0..100 {
            if let Ok(ch) = Channel::from_shared(self.url()).unwrap().connect().await {
                let mut health = tonic_health::pb::health_client::HealthClient::new(ch);
                if health
                    .check(tonic_health::pb::HealthCheckRequest {
                        service: "jixiao.v1.IntakeService".into(),
                    })
                    .await
                    .is_ok()
                {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("server on {} did not become ready", self.addr);
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A token as `jixiao token create` makes one, stored in this server's
    /// (SQLite) database; `expires_at` in milliseconds since the epoch.
    pub async fn token(&self, tenant: &str, scopes: &str, expires_at: Option<i64>) -> String {
        let store = jixiao_store::Store::connect(&format!(
            "sqlite://{}?mode=rwc",
            self.data_dir.join("jixiao.sqlite").display()
        ))
        .await
        .unwrap();
        let issued = jixiao_auth::issue_token().unwrap();
        let scopes = jixiao_auth::Scope::parse_list(scopes).unwrap();
        store
            .create_token(jixiao_store::entity::api_token::Model {
                id: issued.id.clone(),
                token_hash: issued.hash,
                tenant: tenant.into(),
                scopes: scopes
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(","),
                name: "test".into(),
                created_at: 0,
                expires_at,
                revoked_at: None,
            })
            .await
            .unwrap();
        issued.token
    }

    pub async fn channel(&self) -> Channel {
        Channel::from_shared(self.url())
            .unwrap()
            .connect()
            .await
            .unwrap()
    }

    /// Graceful stop: waits for the server to drain.
    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.handle.take() {
            h.await.unwrap().unwrap();
        }
    }
}

/// `message` with `authorization: Bearer <token>`.
pub fn authed<T>(message: T, token: &str) -> tonic::Request<T> {
    let mut r = tonic::Request::new(message);
    r.metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    r
}

/// Follows WatchEvents until `submission_id` has an event of `until`; returns every event seen for it.
pub async fn events_until(
    channel: Channel,
    submission_id: &str,
    until: v1::EventType,
) -> Vec<v1::Event> {
    let mut client = ExportServiceClient::new(channel);
    let mut stream = client
        .watch_events(v1::WatchEventsRequest::default())
        .await
        .unwrap()
        .into_inner();
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let next = tokio::time::timeout_at(deadline, stream.next())
            .await
            .unwrap_or_else(|_| {
                panic!("no {until:?} event for {submission_id} within 30 s; saw {seen:?}")
            })
            .expect("event stream ended")
            .unwrap();
        if next.submission_id == submission_id {
            let done = next.r#type == until as i32;
            seen.push(next);
            if done {
                return seen;
            }
        }
    }
}

fn measure(raw: &str) -> Option<v1::Measure> {
    Some(v1::Measure {
        raw: raw.into(),
        ..Default::default()
    })
}

#[allow(clippy::too_many_arguments)]
fn row(
    level1: &str,
    level2: &str,
    name: &str,
    target: &str,
    actual: &str,
    weight: &str,
    score: &str,
    reason: &str,
) -> v1::Indicator {
    v1::Indicator {
        level1: level1.into(),
        level2: level2.into(),
        name: name.into(),
        target: measure(target),
        actual: measure(actual),
        weight: weight.into(),
        self_score: score.into(),
        deviation_reason: reason.into(),
    }
}

fn fund(
    source: v1::FundSource,
    label: &str,
    initial: &str,
    full_year: &str,
    executed: &str,
) -> v1::FundRow {
    v1::FundRow {
        source: source as i32,
        label: label.into(),
        initial_budget: initial.into(),
        full_year_budget: full_year.into(),
        executed: executed.into(),
    }
}

/// 2023年度项目支出绩效自评表 — 中央补助资金无线电管理经费, typed by hand from
/// ../shared/samples/yueyang-gxj-2023.txt lines 3196–3421, raw cell text kept.
pub fn yueyang_radio_form() -> v1::Form {
    use v1::FundSource::*;
    let out = "产出指标";
    let benefit = "效益指标";
    v1::Form {
        kind: v1::FormKind::Project as i32,
        project_name: "中央补助资金无线电管理经费".into(),
        units: Some(v1::Units {
            budget_unit: String::new(),
            competent_department: "岳阳市工业和信息化局".into(),
            implementing_unit: "湖南省无线电管理委员会办公室岳阳市无线电监测站".into(),
            region: "湖南省/岳阳市".into(),
        }),
        fiscal_year: 2023,
        funds: Some(v1::FundBlock {
            rows: vec![
                fund(Total, "年度资金总额", "126", "139.98", "124.51"),
                fund(CurrentAppropriation, "当年财政拨款", "126", "126", "110.53"),
                fund(PriorYearCarryover, "上年结转资金", "13.98", "13.98", "13.98"),
                fund(Other, "其他资金", "0", "0", "0"),
            ],
            weight: "10".into(),
            stated_execution_rate: "88.94%".into(),
            stated_score: "8.89".into(),
        }),
        goals: vec![v1::Goal {
            expected: "1.重点开展全域范围内的频率、台账数据核查工作；2.开展对设台单位的清查工作；3.开展无线电发射设备销售市场执法检查工作；4.加强对重点保护对象的保护性监测；5.加强对重大活动与各类考试的无线电安全保障；6.积极开展打击“黑广播”、“伪基站”行动。".into(),
            actual: "1.开展我市在用频率台站数据普查工作；2.完成春节、两会、五一假期、十一长假等重要节日安全保障4次。全年完成高考、学考、国考、研究生考试等各类考试无线电安全保障工作30余次；3.干扰申诉处理率100%，民航、铁路干扰查处处理率100%；4.2023年未发现黑广播、伪基站。".into(),
        }],
        indicators: vec![
            row(out, "数量指标", "开展无线电监测设施定期巡检、测试验证、在用发射设备检测、运行维护次数", "≥ 13次", "13", "5", "5", ""),
            row(out, "数量指标", "开展重大活动、频率协调、培训、民航铁路专项监测等无线电专项监管次数", "≥ 6 次", "6", "5", "5", ""),
            row(out, "数量指标", "开展考试无线电保障次数", "≥22  次", "30", "4", "4", ""),
            row(out, "数量指标", "开展无线电监测技术演练次数", "≥ 1次", "1", "4", "4", ""),
            row(out, "数量指标", "开展“黑广播”“伪基站”等违法案件的查处", "≥1  次", "0", "2", "1",
                "未发现“黑广播”、“伪基站”，2024年将开展专项行动，集中打击治理“黑广播”“伪基站”"),
            row(out, "质量指标", "无线电干扰申诉处理率", "≥95%", "100%", "10", "10", ""),
            row(out, "时效指标", "资金执行率", "≥90%", "87.72%", "8", "6",
                "因财政局提前关账，导致部分资金未执行完毕，2024年会制定好资金执行计划，并与财政局、局财务科加强沟通，加速资金执行进程。"),
            row(out, "时效指标", "资金到位及时率", "100%", "100%", "5", "5", ""),
            row(out, "成本指标", "项目成本控制率", "<15%", "0.4%", "7", "7", ""),
            row(benefit, "经济效益指标", "无线电管理机构频占费资金征收规模", "≥ 2 万元", "2.7万元", "10", "10", ""),
            row(benefit, "社会效益指标", "无线电频率使用许可、台（站）设置使用许可监督检查和发射设备销售市场专项检查次数", "≥ 5次", "5次", "6", "6", ""),
            row(benefit, "可持续影响指标", "是否充分发挥无线电管理工作职能，促进无线电管理事业健康发展", "100%", "100%", "7", "7", ""),
            row(benefit, "可持续影响指标", "针对在资金使用监督检查（审计、绩效评价、专项检查）发现的问题，进行整改的及时性及效果", "100%", "95%", "7", "6",
                "存在部分历史遗留问题正持续整改中"),
            row("满意度指标", "服务对象满意度指标", "服务对象（包括民航、铁路、教育等部门）调研问卷满意度", "≥95%", "100%", "10", "10", ""),
        ],
        section_weights: vec![
            v1::SectionWeight { level1: out.into(), weight: "50".into() },
            v1::SectionWeight { level1: benefit.into(), weight: "30".into() },
            v1::SectionWeight { level1: "满意度指标".into(), weight: "10".into() },
        ],
        stated_total: "94.89".into(),
        filer: Some(v1::Filer {
            name: "李琪".into(),
            date: "2024年6月10日".into(),
            phone: "8721315".into(),
        }),
                narrative: String::new(),
        basic_data: None,
        diagnostics: vec![],
        origin: None,
    }
}

/// A fresh PostgreSQL database on the local server (`JIXIAO_TEST_POSTGRES_URL`
/// names the admin connection); fails loudly when PostgreSQL is not there.
pub async fn fresh_postgres(name: &str) -> String {
    use sea_orm::ConnectionTrait;
    let admin_url = std::env::var("JIXIAO_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let admin = sea_orm::Database::connect(&admin_url)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL at {admin_url} is required for this test: {e}"));
    let db = format!(
        "jixiao_t_{}_{}_{name}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    );
    admin
        .execute_unprepared(&format!("CREATE DATABASE {db}"))
        .await
        .unwrap();
    format!("{}/{db}", admin_url.rsplit_once('/').unwrap().0)
}

/// The field named by an INVALID_ARGUMENT's first BadRequest violation.
pub fn first_violated_field(err: &tonic::Status) -> String {
    use tonic_types::StatusExt;
    err.get_details_bad_request()
        .expect("the status carries BadRequest details")
        .field_violations[0]
        .field
        .clone()
}

/// The shared Redis (`JIXIAO_TEST_REDIS_URL`) and a key prefix of this test's own.
pub fn redis_for_test(name: &str) -> (String, String) {
    let url =
        std::env::var("JIXIAO_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    (
        url,
        format!(
            "jixiao-test:{}:{}:{name}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        ),
    )
}
