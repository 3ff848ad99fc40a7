//! wgtrain: neural-network training on WGSL compute shaders run through wgpu, with an ndarray
//! CPU backend that is both the reference the GPU is checked against and a baseline.
//!
//! The layers: [`data`] turns CSV files into training tensors; [`model`] holds Sequential
//! models, their compiled layers, executors, fit / evaluate / predict, callbacks and model
//! files; [`nn`] holds activations, losses, optimizers and schedules with their scalar
//! reference formulas; [`backend`] holds the checked [`backend::Backend`] seam and its two
//! implementations; [`rng`] the one seeded generator; [`io`] atomic file writing.
//!
//! This crate is the engine alone. The `wgtrain` command (its flags, plots and
//! bench runner) is the binary beside it, built by the `cli` feature (on by default); with
//! `default-features = false` nothing of it is compiled.

pub mod backend;
pub mod data;
pub mod error;
pub mod io;
pub mod memory;
pub mod model;
pub mod nn;
pub mod rng;

pub use error::{Error, Result};

/// The README's Rust example, compiled and run with the doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
