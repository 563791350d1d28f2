//! Puts the libtorch library directory into the rpath of pann-nn's tests, examples and benches,
//! so they run without LD_LIBRARY_PATH.
//!
//! torch-sys (`links = "tch"`) tells its direct dependents where the libtorch it linked lives, as
//! `DEP_TCH_LIBTORCH_LIB`; that is why pann-nn depends on torch-sys directly. A
//! `cargo:rustc-link-arg` only reaches the link of this package's own targets, never of a crate
//! that depends on us, so the directory is passed on as metadata (`links = "pann_nn"` makes it
//! `DEP_PANN_NN_LIBTORCH_LIB`). A binary crate that depends on pann-nn adds this build.rs:
//!
//! ```text
//! fn main() {
//!     if let Ok(dir) = std::env::var("DEP_PANN_NN_LIBTORCH_LIB") {
//!         println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
//!     }
//! }
//! ```

fn main() {
    if let Ok(dir) = std::env::var("DEP_TCH_LIBTORCH_LIB") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
        println!("cargo:libtorch_lib={dir}");
    }
}
