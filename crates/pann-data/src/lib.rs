//! Dataset files into plain structs, for the PANN toolkit.
//!
//! Readers for CIFAR-10 and CIFAR-100 binary batches and for (Fashion-)MNIST IDX files (plain or
//! gzipped); [`DatasetKind`] names them and [`load`] reads any of them in the layout the networks
//! take. They return a [`Dataset`] of raw bytes and never depend on a tensor library;
//! [`Normalization`] turns a range of images into normalised `f32` values, CHW per image.
//! Bad input never panics: every error names the file and the problem ([`Error`]).
//!
//! ```no_run
//! use pann_data::{load_cifar10, Normalization, Split};
//! # fn main() -> pann_data::Result<()> {
//! let test = load_cifar10("../shared/data/cifar-10-batches-bin".as_ref(), Split::Test, None)?;
//! assert_eq!((test.n, test.channels, test.height, test.width), (10_000, 3, 32, 32));
//! let batch: Vec<f32> = "imagenet".parse::<Normalization>()?.normalize(&test, 0..128)?;
//! assert_eq!(batch.len(), 128 * 3 * 32 * 32);
//! # Ok(())
//! # }
//! ```
#![warn(missing_docs)]

pub mod cifar;
pub mod dataset;
pub mod error;
pub mod idx;
mod io;
pub mod kind;
pub mod norm;
#[cfg(feature = "test-utils")]
pub mod test_utils;

pub use cifar::{load_cifar10, load_cifar100, read_cifar100_file, read_cifar10_batch, Cifar100Label};
pub use dataset::{Dataset, Split};
pub use error::{Error, Result};
pub use idx::{load_mnist_like, read_idx_images, read_idx_labels, IdxImages};
pub use kind::{grey_to_rgb32, load, shared_dir, DatasetKind, SHARED_ENV};
pub use norm::Normalization;
