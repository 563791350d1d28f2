//! One module per subcommand.

pub mod approx;
pub mod bench;
pub mod eval;
