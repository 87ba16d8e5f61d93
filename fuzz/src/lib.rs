//! What the fuzz targets share with the property tests (tests/parsers.rs).

#[path = "../../tests/support/cgroup_file.rs"]
mod support;

pub use support::cgroup_file;
