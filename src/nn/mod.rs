//! Neural-network building blocks shared by both backends: activations, losses, optimizers.
//! Each is a small value type plus a readable scalar reference the CPU backend runs.

pub mod activation;
pub mod dropout;
pub mod init;
pub mod loss;
pub mod optimizer;
pub mod optimizer_slots;

pub use activation::{ALL_ACTIVATIONS, Activation};
pub use loss::{Accuracy, Loss};
pub use optimizer::Optimizer;
