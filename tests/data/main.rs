//! The data layer's tests, one binary (one link instead of four): CSV reading, typed errors,
//! split and scaling, and fuzzing of the reader. None needs a GPU, so the standard harness
//! runs them.

mod errors;
mod fuzz;
mod limits;
mod pipeline;
mod read;
