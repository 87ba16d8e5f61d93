//! Command-line views of the model.

pub mod cg;
pub mod docs;
pub mod doctor;
pub mod isolation;
pub mod ns;
pub mod oom;
pub mod ops;
pub mod record;
pub mod render;

/// Bad input from the user: printed as is, exit code 2, nothing done.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// An argument parsed by `parser`, with the words shells complete it with: lists and names
/// whose parsing stays the command's own (`-o +NS,PATH`, `-s 9`), so clap neither rejects nor
/// rewrites them.
#[derive(Clone)]
pub struct Completed<P> {
    parser: P,
    words: fn() -> Vec<&'static str>,
}

pub fn completed<P>(parser: P, words: fn() -> Vec<&'static str>) -> Completed<P> {
    Completed { parser, words }
}

impl<P: clap::builder::TypedValueParser> clap::builder::TypedValueParser for Completed<P> {
    type Value = P::Value;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<Self::Value, clap::Error> {
        self.parser.parse_ref(cmd, arg, value)
    }

    fn possible_values(
        &self,
    ) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        let words = (self.words)().into_iter();
        Some(Box::new(words.map(clap::builder::PossibleValue::new)))
    }
}
