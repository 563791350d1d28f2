//! One module per subcommand.

pub mod analyze;
pub mod approx;
pub mod bench;
pub mod card;
pub mod eval;
pub mod he;
pub mod he_bootstrap;
pub mod recalibrate;
pub mod reference;
pub mod train;
