//! One module per table. Each table belongs to one service (see ARCHITECTURE.md).

pub mod api_token;
pub mod event;
pub mod event_log;
pub mod finding;
pub mod scorecard;
pub mod scoring_job;
pub mod submission;
pub mod submission_form;
