//! Every error a service returns passes through [`ApiError`], and only
//! `From<ApiError> for tonic::Status` decides the code. Internal details are
//! logged here and never sent to the client.

use jixiao_auth::{AccessError, Caller, TenantSelection};
use jixiao_form::Violation;
use jixiao_queue::QueueError;
use jixiao_store::{StoreError, StoreErrorKind};
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

#[derive(Debug, Clone)]
pub enum ApiError {
    /// Bad input: each violation names a field and the reason.
    InvalidArgument {
        message: String,
        violations: Vec<Violation>,
    },
    NotFound(String),
    /// No token, or one that is unknown, revoked or expired.
    Unauthenticated(String),
    /// The token may not do this, or not in that region.
    PermissionDenied(String),
    /// A cursor or position outside what is kept: `reason` and `metadata`
    /// go to the client as google.rpc.ErrorInfo.
    OutOfRange {
        message: String,
        reason: &'static str,
        metadata: Vec<(String, String)>,
    },
    /// More than a limit allows; the client may retry after the delay, if any.
    ResourceExhausted {
        message: String,
        retry_after: Option<std::time::Duration>,
    },
    /// A backend (database, queue) cannot be reached; the client may retry.
    Unavailable(String),
    /// A bug or an unexpected backend answer.
    Internal(String),
}

impl ApiError {
    pub fn invalid(violations: Vec<Violation>) -> Self {
        let message = match violations.as_slice() {
            [one] => format!("{}: {}", one.field, one.description),
            many => format!(
                "{} invalid fields: {}",
                many.len(),
                many.iter()
                    .map(|v| v.field.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        ApiError::InvalidArgument {
            message,
            violations,
        }
    }

    pub fn invalid_field(field: &str, description: impl Into<String>) -> Self {
        Self::invalid(vec![Violation::new(field, description)])
    }

    /// The same error about one item of a list: each violated field is renamed
    /// (`form.fiscal_year` → `forms[3].fiscal_year`); other errors pass as they are.
    pub fn within(self, rename: impl Fn(&str) -> String) -> Self {
        match self {
            ApiError::InvalidArgument { violations, .. } => ApiError::invalid(
                violations
                    .into_iter()
                    .map(|v| Violation::new(rename(&v.field), v.description))
                    .collect(),
            ),
            other => other,
        }
    }

    pub fn not_found(what: impl Into<String>) -> Self {
        ApiError::NotFound(what.into())
    }

    /// The status code name, as used in per-item batch results.
    pub fn code(&self) -> Code {
        match self {
            ApiError::InvalidArgument { .. } => Code::InvalidArgument,
            ApiError::NotFound(_) => Code::NotFound,
            ApiError::Unauthenticated(_) => Code::Unauthenticated,
            ApiError::PermissionDenied(_) => Code::PermissionDenied,
            ApiError::OutOfRange { .. } => Code::OutOfRange,
            ApiError::ResourceExhausted { .. } => Code::ResourceExhausted,
            ApiError::Unavailable(_) => Code::Unavailable,
            ApiError::Internal(_) => Code::Internal,
        }
    }
}

impl From<ApiError> for Status {
    fn from(e: ApiError) -> Status {
        match e {
            ApiError::InvalidArgument {
                message,
                violations,
            } => {
                let mut details = ErrorDetails::new();
                for v in &violations {
                    details.add_bad_request_violation(v.field.clone(), v.description.clone());
                }
                Status::with_error_details(Code::InvalidArgument, message, details)
            }
            ApiError::NotFound(what) => Status::not_found(what),
            ApiError::Unauthenticated(why) => Status::unauthenticated(why),
            ApiError::PermissionDenied(why) => Status::permission_denied(why),
            ApiError::OutOfRange {
                message,
                reason,
                metadata,
            } => {
                let details = ErrorDetails::with_error_info(
                    reason,
                    "jixiao",
                    metadata
                        .into_iter()
                        .collect::<std::collections::HashMap<_, _>>(),
                );
                Status::with_error_details(Code::OutOfRange, message, details)
            }
            ApiError::ResourceExhausted {
                message,
                retry_after,
            } => match retry_after {
                Some(delay) => Status::with_error_details(
                    Code::ResourceExhausted,
                    message,
                    ErrorDetails::with_retry_info(Some(delay)),
                ),
                None => Status::resource_exhausted(message),
            },
            ApiError::Unavailable(detail) => {
                tracing::warn!(%detail, "backend unavailable");
                Status::unavailable("a backend is unavailable; retry later")
            }
            ApiError::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                Status::internal("internal error")
            }
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e.kind {
            StoreErrorKind::Unavailable => ApiError::Unavailable(e.message),
            StoreErrorKind::Internal => ApiError::Internal(e.message),
        }
    }
}

impl From<AccessError> for ApiError {
    fn from(e: AccessError) -> Self {
        match e {
            AccessError::Unauthenticated(m) => ApiError::Unauthenticated(m),
            AccessError::PermissionDenied(m) => ApiError::PermissionDenied(m),
        }
    }
}

/// The caller the server's authentication put on the request. A request
/// without one never passed authentication: it is refused, never trusted.
pub fn caller<T>(request: &tonic::Request<T>) -> Result<Caller, ApiError> {
    request
        .extensions()
        .get::<Caller>()
        .cloned()
        .ok_or_else(|| ApiError::Unauthenticated("the request carries no caller".into()))
}

impl From<QueueError> for ApiError {
    fn from(e: QueueError) -> Self {
        match e {
            QueueError::Unavailable(m) => ApiError::Unavailable(m),
        }
    }
}

/// Reads and validates the form of a request; the error names every bad field.
pub fn read_form(wire: Option<jixiao_proto::v1::Form>) -> Result<jixiao_form::Form, ApiError> {
    let wire = wire.ok_or_else(|| ApiError::invalid_field("form", "is required"))?;
    let form = jixiao_proto::convert::form_from_proto(wire).map_err(ApiError::invalid)?;
    let violations = jixiao_form::validate(&form);
    if !violations.is_empty() {
        return Err(ApiError::invalid(violations));
    }
    Ok(form)
}

/// The submissions a request selects — tenant (exact), region (subtree), unit,
/// fiscal year, status — narrowed to what the caller sees.
pub fn submission_filter(
    caller: &Caller,
    tenant: &str,
    region: &str,
    unit: &str,
    fiscal_year: i32,
    status: i32,
) -> Result<jixiao_store::SubmissionFilter, ApiError> {
    let TenantSelection { tenant, region } = caller.selection(tenant, region)?;
    Ok(jixiao_store::SubmissionFilter {
        tenant,
        region,
        unit: Some(unit.trim().to_string()).filter(|u| !u.is_empty()),
        fiscal_year: (fiscal_year != 0).then_some(fiscal_year),
        status: jixiao_proto::convert::submission_status_filter(status)
            .map_err(|v| ApiError::invalid(vec![v]))?
            .map(|s| s.as_str().to_string()),
    })
}

/// A status from another service passes through with its code; only a
/// transport failure becomes UNAVAILABLE.
pub fn from_peer(service: &str, s: Status) -> ApiError {
    match s.code() {
        Code::NotFound => ApiError::NotFound(s.message().to_string()),
        Code::Unavailable => ApiError::Unavailable(format!("{service}: {}", s.message())),
        _ => ApiError::Internal(format!("{service}: {s}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_argument_carries_bad_request_details() {
        let status: Status = ApiError::invalid_field("form.fiscal_year", "must be a year").into();
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(status.message(), "form.fiscal_year: must be a year");
        let br = status.get_details_bad_request().unwrap();
        assert_eq!(br.field_violations[0].field, "form.fiscal_year");
    }

    #[test]
    fn internal_details_are_not_sent() {
        let status: Status = ApiError::Internal("password=hunter2".into()).into();
        assert_eq!(status.code(), Code::Internal);
        assert!(!status.message().contains("hunter2"));
    }
}
