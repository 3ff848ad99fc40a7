//! Neural-network building blocks shared by both backends: activations, losses, optimizers and
//! their learning-rate schedules.
//! Each is a small value type plus a readable scalar reference the CPU backend runs.

pub mod activation;
pub mod dropout;
pub mod init;
pub mod loss;
pub mod optimizer;
pub mod optimizer_slots;
pub mod schedule;

pub use activation::{ALL_ACTIVATIONS, Activation};
pub use loss::{Accuracy, Loss};
pub use optimizer::Optimizer;
pub use schedule::{LearningRateSchedule, MAX_BOUNDARIES, PiecewiseConstant, Warmup};
