//! ScoringService (pure ScoreForm, GetScoreCard) and the queue-triggered
//! scoring worker.

mod worker;

use std::sync::Arc;

use jixiao_form::{content_digest, validate, Form};
use jixiao_proto::convert::{form_from_proto, scorecard_to_proto};
use jixiao_proto::v1::{self, scoring_service_server::ScoringServiceServer};
use jixiao_scoring::{score_form, Rulebook, Rulebooks};
use jixiao_status::ApiError;
use jixiao_store::Store;
use prost::Message;
use tonic::{Request, Response, Status};

pub use worker::{ScoringWorker, WorkerOptions};

pub struct ScoringService {
    store: Store,
    rulebooks: Arc<Rulebooks>,
}

impl ScoringService {
    pub fn new(store: Store, rulebooks: Arc<Rulebooks>) -> Self {
        Self { store, rulebooks }
    }

    pub fn into_server(self) -> ScoringServiceServer<Self> {
        ScoringServiceServer::new(self)
    }
}

/// Reads and validates a wire form; the error names every bad field.
pub fn read_form(wire: Option<&v1::Form>) -> Result<Form, ApiError> {
    let wire = wire.ok_or_else(|| ApiError::invalid_field("form", "is required"))?;
    let form = form_from_proto(wire).map_err(ApiError::invalid)?;
    let violations = validate(&form);
    if !violations.is_empty() {
        return Err(ApiError::invalid(violations));
    }
    Ok(form)
}

/// The rulebook named by a request (empty: the default), or INVALID_ARGUMENT listing the known ones.
pub fn pick_rulebook<'a>(rulebooks: &'a Rulebooks, id: &str) -> Result<&'a Rulebook, ApiError> {
    rulebooks.get(id).ok_or_else(|| {
        ApiError::invalid_field(
            "rulebook_id",
            format!(
                "unknown rulebook {id:?}; known: {}",
                rulebooks.ids().join(", ")
            ),
        )
    })
}

/// Scores a form and returns the wire scorecard (without id, submission or time).
pub fn score(form: &Form, rulebook: &Rulebook) -> v1::ScoreCard {
    scorecard_to_proto(&score_form(form, &content_digest(form), rulebook))
}

#[tonic::async_trait]
impl v1::scoring_service_server::ScoringService for ScoringService {
    async fn score_form(
        &self,
        request: Request<v1::ScoreFormRequest>,
    ) -> Result<Response<v1::ScoreCard>, Status> {
        let r = request.into_inner();
        let form = read_form(r.form.as_ref())?;
        let rulebook = pick_rulebook(&self.rulebooks, &r.rulebook_id)?;
        Ok(Response::new(score(&form, rulebook)))
    }

    async fn get_score_card(
        &self,
        request: Request<v1::GetScoreCardRequest>,
    ) -> Result<Response<v1::ScoreCard>, Status> {
        let r = request.into_inner();
        if r.submission_id.trim().is_empty() {
            return Err(ApiError::invalid_field("submission_id", "is required").into());
        }
        let rulebook = Some(r.rulebook_id.trim()).filter(|s| !s.is_empty());
        let row = self
            .store
            .latest_scorecard(&r.submission_id, rulebook)
            .await
            .map_err(ApiError::from)?
            .ok_or_else(|| {
                ApiError::not_found(format!("no scorecard for submission {}", r.submission_id))
            })?;
        let card = v1::ScoreCard::decode(row.card.as_slice()).map_err(|e| {
            ApiError::Internal(format!("stored scorecard {} does not decode: {e}", row.id))
        })?;
        Ok(Response::new(card))
    }
}
