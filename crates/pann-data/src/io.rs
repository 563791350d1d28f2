//! File access shared by the readers, with every error tied to its path.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use crate::error::{Error, Result};

/// Size of the file at `path` in bytes.
pub(crate) fn file_len(path: &Path) -> Result<usize> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if !meta.is_file() {
        // A directory's "size" (4096 on ext4) would otherwise be checked as if it were data.
        return Err(Error::io(
            path,
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a regular file"),
        ));
    }
    Ok(meta.len() as usize)
}

/// The first `len` bytes of `path` (the caller has checked that the file holds them).
pub(crate) fn read_prefix(path: &Path, len: usize) -> Result<Vec<u8>> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut buf = Vec::with_capacity(len);
    file.take(len as u64)
        .read_to_end(&mut buf)
        .map_err(|e| Error::io(path, e))?;
    if buf.len() != len {
        return Err(Error::Io {
            path: path.to_path_buf(),
            cause: std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                format!("expected {len} bytes, read {}", buf.len()),
            ),
        });
    }
    Ok(buf)
}

/// The whole content of `path`, gunzipped when the name ends in `.gz`.
pub(crate) fn read_maybe_gz(path: &Path) -> Result<Vec<u8>> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut buf = Vec::new();
    let res = if path.extension().is_some_and(|e| e == "gz") {
        flate2::read::GzDecoder::new(file).read_to_end(&mut buf)
    } else {
        let mut file = file;
        file.read_to_end(&mut buf)
    };
    res.map_err(|e| Error::io(path, e))?;
    Ok(buf)
}
