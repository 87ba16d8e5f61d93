//! The parts of a frame, each a widget over borrowed state.

pub mod chart;
pub mod detail;
pub mod grid;
pub mod header;
pub mod help;
pub mod popup;
pub mod preamble;
pub mod table;
