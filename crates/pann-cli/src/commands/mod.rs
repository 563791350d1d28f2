//! One module per subcommand.

pub mod approx;
