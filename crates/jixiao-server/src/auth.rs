//! The gate every RPC passes: it finds the scope the RPC needs, checks the
//! bearer token (hash, expiry, revocation, scope), applies the token's rate
//! limit, puts the [`Caller`] on the request for the services' tenant checks,
//! and records the RPC's latency and status code.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use http_body::{Body as HttpBody, Frame};
use jixiao_auth::{hash_token, required_scope, same_secret, token_id, Caller, Scope, ALL_REGIONS};
use jixiao_status::ApiError;
use jixiao_store::{entity::api_token, Store};
use jixiao_telemetry::metrics::metrics;
use tonic::body::Body;
use tonic::Code;

/// How tokens are checked in this process.
pub struct AuthPolicy {
    pub required: bool,
    /// The secret the services present to each other.
    pub internal_token: String,
    pub cache_for: Duration,
    /// RPCs per second per token and the burst above it; `None`: no limit.
    pub rate: Option<(u32, u32)>,
    /// The decoding limit, named when a message is refused as too large.
    pub max_message_bytes: usize,
}

struct Gate {
    store: Store,
    policy: AuthPolicy,
    /// Token id → (read at, the stored token). Misses are cached too, briefly.
    tokens: Mutex<HashMap<String, (Instant, Option<api_token::Model>)>>,
    buckets: Mutex<HashMap<String, Bucket>>,
}

/// A token bucket in nanotokens: `burst` whole requests, refilled at `rate` per second.
struct Bucket {
    nanotokens: u128,
    at: Instant,
}

const NANO: u128 = 1_000_000_000;

impl Gate {
    async fn token(&self, id: &str) -> Result<Option<api_token::Model>, ApiError> {
        if let Some((at, t)) = self
            .tokens
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
        {
            if at.elapsed() < self.policy.cache_for {
                return Ok(t.clone());
            }
        }
        let t = self.store.token(id).await?;
        let mut cache = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
        // Bounded: an unknown-token flood cannot grow it without limit.
        if cache.len() > 100_000 {
            cache.clear();
        }
        cache.insert(id.to_string(), (Instant::now(), t.clone()));
        Ok(t)
    }

    /// Takes one request from the token's bucket, or says when to retry.
    fn take(&self, token: &str) -> Result<(), Duration> {
        let Some((rate, burst)) = self.policy.rate else {
            return Ok(());
        };
        let (rate, burst) = (u128::from(rate), u128::from(burst));
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let b = buckets.entry(token.to_string()).or_insert(Bucket {
            nanotokens: burst * NANO,
            at: now,
        });
        let refill = now.duration_since(b.at).as_nanos() * rate;
        b.nanotokens = (b.nanotokens + refill).min(burst * NANO);
        b.at = now;
        if b.nanotokens >= NANO {
            b.nanotokens -= NANO;
            return Ok(());
        }
        let missing = NANO - b.nanotokens;
        Err(Duration::from_nanos(
            u64::try_from(missing.div_ceil(rate.max(1))).unwrap_or(u64::MAX),
        ))
    }

    async fn authorize(&self, headers: &http::HeaderMap, scope: Scope) -> Result<Caller, ApiError> {
        if !self.policy.required {
            return Ok(Caller::unrestricted(""));
        }
        let presented = headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .ok_or_else(|| {
                ApiError::Unauthenticated(
                    "this server requires `authorization: Bearer <token>`".into(),
                )
            })?;
        if !self.policy.internal_token.is_empty()
            && same_secret(presented, &self.policy.internal_token)
        {
            return Ok(Caller::unrestricted("internal"));
        }
        let unknown = || ApiError::Unauthenticated("unknown token".into());
        let id = token_id(presented).ok_or_else(unknown)?;
        let stored = self.token(id).await?.ok_or_else(unknown)?;
        if !same_secret(&hash_token(presented), &stored.token_hash) {
            return Err(unknown());
        }
        if stored.revoked_at.is_some() {
            return Err(ApiError::Unauthenticated(format!("token {id} was revoked")));
        }
        if stored
            .expires_at
            .is_some_and(|at| at <= jixiao_proto::convert::now_millis())
        {
            return Err(ApiError::Unauthenticated(format!("token {id} has expired")));
        }
        let caller = Caller {
            token_id: stored.id.clone(),
            region: (stored.tenant != ALL_REGIONS).then(|| stored.tenant.clone()),
            scopes: stored
                .scopes
                .split(',')
                .filter_map(Scope::from_name)
                .filter(|s| *s != Scope::Internal)
                .collect(),
        };
        caller.may(scope)?;
        self.take(&stored.id)
            .map_err(|wait| ApiError::ResourceExhausted {
                message: format!(
                    "token {id} is over its rate of {} requests per second; retry in {} ms",
                    self.policy.rate.map(|r| r.0).unwrap_or(0),
                    wait.as_millis().max(1)
                ),
                retry_after: Some(wait),
            })?;
        Ok(caller)
    }
}

#[derive(Clone)]
pub struct AuthLayer {
    gate: Arc<Gate>,
}

impl AuthLayer {
    pub fn new(store: Store, policy: AuthPolicy) -> Self {
        AuthLayer {
            gate: Arc::new(Gate {
                store,
                policy,
                tokens: Mutex::new(HashMap::new()),
                buckets: Mutex::new(HashMap::new()),
            }),
        }
    }
}

impl<S> tower_layer::Layer<S> for AuthLayer {
    type Service = AuthService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthService {
            inner,
            gate: self.gate.clone(),
        }
    }
}

#[derive(Clone)]
pub struct AuthService<S> {
    inner: S,
    gate: Arc<Gate>,
}

type BoxFuture<T> = Pin<Box<dyn std::future::Future<Output = T> + Send>>;

impl<S, B> tower_service::Service<http::Request<B>> for AuthService<S>
where
    S: tower_service::Service<http::Request<B>, Response = http::Response<Body>>
        + Clone
        + Send
        + 'static,
    S::Future: Send,
    B: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        // The ready service goes into the future; a fresh clone stays behind.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let gate = self.gate.clone();
        Box::pin(async move {
            let method = request.uri().path().to_string();
            let started = Instant::now();
            let Some(scope) = required_scope(&method) else {
                return inner.call(request).await;
            };
            let response = match gate.authorize(request.headers(), scope).await {
                Ok(caller) => {
                    request.extensions_mut().insert(caller);
                    inner.call(request).await?
                }
                Err(e) => tonic::Status::from(e).into_http(),
            };
            let response = name_the_size_limit(response, gate.policy.max_message_bytes);
            Ok(metered(response, method, started))
        })
    }
}

/// The transport refuses an oversized message as OUT_OF_RANGE before any
/// service sees it; the client is told it met a limit, and which.
fn name_the_size_limit(mut response: http::Response<Body>, limit: usize) -> http::Response<Body> {
    let headers = response.headers();
    let too_large = headers.get("grpc-status").is_some_and(|s| s == "11")
        && headers
            .get("grpc-message")
            .and_then(|m| m.to_str().ok())
            .is_some_and(|m| m.contains("too%20large") || m.contains("too large"));
    if too_large {
        let status: tonic::Status = ApiError::ResourceExhausted {
            message: format!("the request message is larger than the {limit} bytes accepted"),
            retry_after: None,
        }
        .into();
        let replaced: http::Response<Body> = status.into_http();
        let (parts, _) = replaced.into_parts();
        let (_, body) = response.into_parts();
        response = http::Response::from_parts(parts, body);
    }
    response
}

/// The response, recording the RPC's duration and status when it ends.
fn metered(
    response: http::Response<Body>,
    method: String,
    started: Instant,
) -> http::Response<Body> {
    // A trailers-only answer carries its status in the headers.
    let code = response
        .headers()
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i32>().ok())
        .map(Code::from_i32);
    response.map(|body| {
        Body::new(MeteredBody {
            inner: body,
            method,
            started,
            code,
            recorded: false,
        })
    })
}

struct MeteredBody {
    inner: Body,
    method: String,
    started: Instant,
    code: Option<Code>,
    recorded: bool,
}

impl MeteredBody {
    fn record(&mut self) {
        if !self.recorded {
            self.recorded = true;
            // A stream dropped before its trailers was cancelled by the client.
            let code = self.code.unwrap_or(Code::Cancelled);
            metrics().rpc(&self.method, code, self.started.elapsed());
        }
    }
}

impl HttpBody for MeteredBody {
    type Data = <Body as HttpBody>::Data;
    type Error = <Body as HttpBody>::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(code) = frame
                    .trailers_ref()
                    .and_then(|t| t.get("grpc-status"))
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<i32>().ok())
                {
                    self.code = Some(Code::from_i32(code));
                }
            }
            Poll::Ready(None) => {
                if self.code.is_none() {
                    self.code = Some(Code::Ok);
                }
                self.record();
            }
            Poll::Ready(Some(Err(_))) => {
                self.code.get_or_insert(Code::Internal);
                self.record();
            }
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for MeteredBody {
    fn drop(&mut self) {
        self.record();
    }
}
