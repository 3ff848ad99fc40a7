//! Data loading (placeholder until the data module lands).

/// A problem with input data.
#[derive(Debug, thiserror::Error)]
#[error("data error: {0}")]
pub struct DataError(pub String);
