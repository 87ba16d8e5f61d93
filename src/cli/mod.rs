//! Command-line views of the model.

pub mod cg;
pub mod isolation;
pub mod ns;
pub mod oom;
pub mod ops;
pub mod record;
pub mod render;

/// Bad input from the user: printed as is, exit code 2, nothing done.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);
