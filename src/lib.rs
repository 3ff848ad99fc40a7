//! wgtrain: neural-network training on WGSL compute shaders run through wgpu, with an ndarray
//! CPU backend that is both the reference the GPU is checked against and a baseline.
//!
//! The layers: [`nn`] holds activations, losses and optimizers with their scalar reference
//! formulas; [`backend`] holds the [`backend::Backend`] trait and its two implementations;
//! [`data`] turns CSV files into training tensors.

pub mod backend;
pub mod bench;
pub mod cli;
pub mod data;
pub mod error;
pub mod io;
pub mod model;
pub mod nn;
pub mod plot;
pub mod rng;

pub use error::{Error, Result};
