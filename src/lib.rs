//! nstop: Linux namespaces and cgroups made visible and operable.
//!
//! Data flows one way: `sys` reads the kernel into a raw `model::sample::Sample`, `model` joins
//! it into a serializable `Model`, and `cli` prints it, `tui` explores it and `serve` exposes
//! it to Prometheus.

pub mod cli;
pub mod collector;
pub mod filter;
pub mod model;
pub mod ops;
pub mod replayer;
pub mod serve;
pub mod store;
pub mod sys;
pub mod text;
pub mod tui;
