//! Intake and audit as the scoring worker reaches them: over gRPC, or, when
//! the roles share this process, by calling the services themselves. A local
//! call skips what only a wire needs (encoding, decoding, HTTP/2, the socket
//! and the auth gate, which would let the internal caller through anyway);
//! it runs the same handler with the same internal caller and deadline.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use jixiao_audit_service::AuditService;
use jixiao_auth::Caller;
use jixiao_proto::v1::{
    self, audit_service_client::AuditServiceClient, audit_service_server::AuditService as _,
    intake_service_client::IntakeServiceClient, intake_service_server::IntakeService,
};
use jixiao_telemetry::PeerChannel;
use tonic::{Request, Response, Status};
use tracing::Instrument;

#[derive(Clone)]
pub enum IntakePeer {
    Remote(IntakeServiceClient<PeerChannel>),
    Local(Arc<dyn IntakeService>),
}

/// Audit in this process is the service itself, not only its RPCs: the worker
/// runs its per-form step and stores the findings with the scorecards.
#[derive(Clone)]
pub enum AuditPeer {
    Remote(AuditServiceClient<PeerChannel>),
    Local(Arc<AuditService>),
}

impl IntakePeer {
    pub async fn get_submissions(
        &mut self,
        message: v1::GetSubmissionsRequest,
        timeout: Duration,
    ) -> Result<v1::GetSubmissionsResponse, Status> {
        match self {
            IntakePeer::Remote(c) => c.get_submissions(remote(message, timeout)).await,
            IntakePeer::Local(s) => {
                let path = "jixiao.v1.IntakeService/GetSubmissions";
                local(path, timeout, s.get_submissions(internal(message, timeout))).await
            }
        }
        .map(Response::into_inner)
    }
}

impl AuditPeer {
    /// The audit service when it shares this process.
    pub fn in_process(&self) -> Option<Arc<AuditService>> {
        match self {
            AuditPeer::Local(s) => Some(s.clone()),
            AuditPeer::Remote(_) => None,
        }
    }

    pub async fn audit_submissions(
        &mut self,
        message: v1::AuditSubmissionsRequest,
        timeout: Duration,
    ) -> Result<v1::AuditSubmissionsResponse, Status> {
        match self {
            AuditPeer::Remote(c) => c.audit_submissions(remote(message, timeout)).await,
            AuditPeer::Local(s) => {
                let path = "jixiao.v1.AuditService/AuditSubmissions";
                local(
                    path,
                    timeout,
                    s.audit_submissions(internal(message, timeout)),
                )
                .await
            }
        }
        .map(Response::into_inner)
    }

    pub async fn audit_department(
        &mut self,
        message: v1::AuditDepartmentRequest,
        timeout: Duration,
    ) -> Result<v1::AuditDepartmentResponse, Status> {
        match self {
            AuditPeer::Remote(c) => c.audit_department(remote(message, timeout)).await,
            AuditPeer::Local(s) => {
                let path = "jixiao.v1.AuditService/AuditDepartment";
                local(
                    path,
                    timeout,
                    s.audit_department(internal(message, timeout)),
                )
                .await
            }
        }
        .map(Response::into_inner)
    }
}

fn remote<T>(message: T, timeout: Duration) -> Request<T> {
    let mut request = Request::new(message);
    request.set_timeout(timeout);
    request
}

/// What the auth gate hands a service for a call from another service.
fn internal<T>(message: T, timeout: Duration) -> Request<T> {
    let mut request = remote(message, timeout);
    request
        .extensions_mut()
        .insert(Caller::unrestricted("internal"));
    request
}

/// Runs a handler in this process under the RPC's span and deadline.
async fn local<T>(
    path: &str,
    timeout: Duration,
    call: impl Future<Output = Result<Response<T>, Status>>,
) -> Result<Response<T>, Status> {
    let span =
        tracing::info_span!("rpc", otel.name = %path, rpc = %format!("/{path}"), local = true);
    tokio::time::timeout(timeout, call.instrument(span))
        .await
        .map_err(|_| Status::deadline_exceeded(format!("{path} took longer than {timeout:?}")))?
}
