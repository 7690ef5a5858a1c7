//! The scale-out backends, really exercised: PostgreSQL for storage and Redis
//! Streams for the scoring queue (a key prefix of the test's own).

mod common;

use common::{
    events_until, fresh_dir, fresh_postgres, redis_for_test, yueyang_radio_form, TestServer,
};
use jixiao_proto::v1::{
    self, intake_service_client::IntakeServiceClient, scoring_service_client::ScoringServiceClient,
};

#[tokio::test]
async fn the_pipeline_on_postgresql_and_redis_streams() {
    let database = fresh_postgres("scaleout").await;
    let (redis, prefix) = redis_for_test("scaleout");
    let server = TestServer::start_with(
        fresh_dir("scaleout"),
        &[
            ("database_url", database),
            ("redis_url", redis.clone()),
            ("redis_prefix", prefix.clone()),
        ],
    )
    .await;
    let ch = server.channel().await;
    let mut intake = IntakeServiceClient::new(ch.clone());
    let mut ids = Vec::new();
    for n in 0..20 {
        let mut form = yueyang_radio_form();
        form.project_name = format!("无线电管理经费 {n}");
        let reply = intake
            .submit_form(v1::SubmitFormRequest {
                tenant: "湖南省/岳阳市".into(),
                form: Some(form),
                rulebook_id: String::new(),
            })
            .await
            .unwrap()
            .into_inner();
        ids.push(reply.submission.unwrap().id);
    }
    for id in &ids {
        events_until(ch.clone(), id, v1::EventType::Audited).await;
    }
    let card = ScoringServiceClient::new(ch)
        .get_score_card(v1::GetScoreCardRequest {
            submission_id: ids[0].clone(),
            rulebook_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(card.recomputed_total, "96.34");

    // Every job went through the stream and was acked.
    let client = redis::Client::open(redis.as_str()).unwrap();
    let mut c = client.get_multiplexed_async_connection().await.unwrap();
    let stream = format!("{prefix}:scoring-jobs");
    let len: u64 = redis::cmd("XLEN")
        .arg(&stream)
        .query_async(&mut c)
        .await
        .unwrap();
    assert!(len >= 20, "{len} entries in {stream}");
    let pending: redis::Value = redis::cmd("XPENDING")
        .arg(&stream)
        .arg("scoring")
        .query_async(&mut c)
        .await
        .unwrap();
    match pending {
        redis::Value::Array(v) => assert_eq!(
            v.first(),
            Some(&redis::Value::Int(0)),
            "nothing left unacked"
        ),
        other => panic!("{other:?}"),
    }
    server.stop().await;
    let _: () = redis::cmd("DEL")
        .arg(&stream)
        .arg(format!("{stream}:dead"))
        .query_async(&mut c)
        .await
        .unwrap();
}
