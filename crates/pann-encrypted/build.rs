//! Gives this crate's tests the rpath to libtorch that pann-nn found (see crates/pann-nn/build.rs): the crate
//! links libtorch through pann-nn and pann-eval, and its tests run pann-nn's smallcnn.
fn main() {
    if let Ok(dir) = std::env::var("DEP_PANN_NN_LIBTORCH_LIB") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
    }
}
