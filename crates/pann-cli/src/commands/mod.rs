//! One module per subcommand.

pub mod approx;
pub mod eval;
