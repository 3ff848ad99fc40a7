//! wgtrain: neural-network training on WGSL compute shaders run through wgpu, with an ndarray
//! CPU backend that is both the reference the GPU is checked against and a baseline.
//!
//! The layers: [`nn`] holds activations, losses and optimizers with their scalar reference
//! formulas; [`backend`] holds the [`backend::Backend`] trait and its two implementations;
//! [`data`] turns CSV files into training tensors.
//!
//! The `cli` feature (on by default) adds the `wgtrain` command's modules: `cli`, `plot` and
//! `bench`, with clap, indicatif, plotters and png. With `default-features = false` the crate
//! is the engine alone.

pub mod backend;
#[cfg(feature = "cli")]
pub mod bench;
#[cfg(feature = "cli")]
pub mod cli;
pub mod data;
pub mod error;
pub mod io;
pub mod model;
pub mod nn;
#[cfg(feature = "cli")]
pub mod plot;

pub use error::{Error, Result};
