//! The parts of a frame, each a widget over borrowed state.

pub mod header;
pub mod help;
pub mod preamble;
pub mod table;
