//! TLS with a CA made in the test: the server speaks only TLS, its own
//! services call each other over TLS (a form goes all the way to audited), a
//! client that does not trust the CA or speaks plaintext is refused, and with
//! `tls.client_ca` a client must present a certificate the CA signed.

mod common;

use std::path::Path;
use std::time::Duration;

use common::{fresh_dir, yueyang_radio_form};
use jixiao_proto::v1::{self, intake_service_client::IntakeServiceClient};
use jixiao_server::Config;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};

/// A CA, and certificates it signs: PEM text of (cert, key).
struct Ca {
    pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl Ca {
    fn new(name: &str) -> Ca {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let pem = params.self_signed(&key).unwrap().pem();
        Ca {
            pem,
            issuer: Issuer::new(params, key),
        }
    }

    fn sign(&self, names: &[&str]) -> (String, String) {
        let key = KeyPair::generate().unwrap();
        let params =
            CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        (cert.pem(), key.serialize_pem())
    }
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

struct Running {
    addr: std::net::SocketAddr,
    stop: tokio::sync::oneshot::Sender<()>,
    handle: tokio::task::JoinHandle<anyhow::Result<()>>,
}

async fn serve(dir: &Path, ca: &Ca, mutual: bool) -> Running {
    std::fs::create_dir_all(dir).unwrap();
    let (cert, key) = ca.sign(&["localhost", "127.0.0.1"]);
    let mut flags = vec![
        ("listen", "127.0.0.1:0".to_string()),
        ("data_dir", dir.display().to_string()),
        ("tls.cert", write(dir, "server.pem", &cert)),
        ("tls.key", write(dir, "server.key", &key)),
        ("tls.ca", write(dir, "ca.pem", &ca.pem)),
    ];
    if mutual {
        flags.push(("tls.client_ca", write(dir, "client-ca.pem", &ca.pem)));
    }
    let config = Config::load(None, Vec::new(), &flags).unwrap();
    let bound = jixiao_server::bind(config).await.unwrap();
    let addr = bound.local_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel();
    let handle = tokio::spawn(bound.run(async {
        let _ = stopped.await;
    }));
    Running { addr, stop, handle }
}

async fn connect(
    addr: std::net::SocketAddr,
    tls: Option<ClientTlsConfig>,
) -> Result<Channel, tonic::transport::Error> {
    let scheme = if tls.is_some() { "https" } else { "http" };
    let mut endpoint = Channel::from_shared(format!("{scheme}://{addr}"))
        .unwrap()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(5));
    if let Some(tls) = tls {
        endpoint = endpoint.tls_config(tls)?;
    }
    endpoint.connect().await
}

async fn health(ch: Channel) -> Result<(), tonic::Status> {
    tonic_health::pb::health_client::HealthClient::new(ch)
        .check(tonic_health::pb::HealthCheckRequest {
            service: "jixiao.v1.IntakeService".into(),
        })
        .await
        .map(|_| ())
}

fn trusting(ca: &Ca) -> ClientTlsConfig {
    ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(&ca.pem))
        .domain_name("localhost")
}

#[tokio::test]
async fn the_server_and_its_services_speak_tls_only() {
    let ca = Ca::new("jixiao test CA");
    let dir = fresh_dir("tls");
    let server = serve(&dir, &ca, false).await;

    let mut ready = None;
    for _ in 0..100 {
        if let Ok(ch) = connect(server.addr, Some(trusting(&ca))).await {
            if health(ch.clone()).await.is_ok() {
                ready = Some(ch);
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let ch = ready.expect("a TLS client that trusts the CA is served");

    // The worker reaches intake and audit over TLS too: the form is audited.
    let mut intake = IntakeServiceClient::new(ch.clone());
    let id = intake
        .submit_form(v1::SubmitFormRequest {
            tenant: "湖南省/岳阳市".into(),
            form: Some(yueyang_radio_form()),
            rulebook_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .submission
        .unwrap()
        .id;
    common::events_until(ch.clone(), &id, v1::EventType::Audited).await;

    // Plaintext, or a CA the client does not trust: no service.
    let plain = match connect(server.addr, None).await {
        Ok(ch) => health(ch).await.is_err(),
        Err(_) => true,
    };
    assert!(plain, "a plaintext client was served");
    let stranger = Ca::new("some other CA");
    let untrusted = match connect(server.addr, Some(trusting(&stranger))).await {
        Ok(ch) => health(ch).await.is_err(),
        Err(_) => true,
    };
    assert!(untrusted, "a client trusting another CA was served");

    let _ = server.stop.send(());
    server.handle.await.unwrap().unwrap();
}

#[tokio::test]
async fn with_a_client_ca_only_clients_with_its_certificates_are_served() {
    let ca = Ca::new("jixiao test CA");
    let dir = fresh_dir("mtls");
    let server = serve(&dir, &ca, true).await;
    let (cert, key) = ca.sign(&["dashboard"]);
    let with_cert = trusting(&ca).identity(Identity::from_pem(cert, key));
    let mut served = false;
    for _ in 0..100 {
        if let Ok(ch) = connect(server.addr, Some(with_cert.clone())).await {
            if health(ch).await.is_ok() {
                served = true;
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(served, "a client with a certificate of the CA is served");
    let without = match connect(server.addr, Some(trusting(&ca))).await {
        Ok(ch) => health(ch).await.is_err(),
        Err(_) => true,
    };
    assert!(without, "a client without a certificate was served");
    let _ = server.stop.send(());
    server.handle.await.unwrap().unwrap();
}
