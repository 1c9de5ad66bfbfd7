//! Values to store from standard input (`set KEY -`) or a file
//! (`set KEY --file PATH`), read whole before anything is sent.

use std::fs::File;
use std::io::{self, Read};

use crate::args::Payload;
use crate::client::MAX_ITEM_SIZE;
use crate::run::Failure;

/// The bytes of `payload`.
///
/// # Errors
///
/// [`Failure::Input`] if the value cannot be read or is over
/// [`MAX_ITEM_SIZE`] (memcached's own ceiling).
pub fn load(payload: &crate::args::Payload) -> Result<Vec<u8>, Failure> {
    match payload {
        Payload::Bytes(bytes) => Ok(bytes.clone()),
        Payload::Stdin => read_all(io::stdin().lock(), "standard input"),
        Payload::File(path) => {
            let what = path.display().to_string();
            let file =
                File::open(path).map_err(|e| Failure::Input(format!("cannot read {what}: {e}")))?;
            read_all(file, &what)
        }
    }
}

/// Reads `from` to its end, refusing more than [`MAX_ITEM_SIZE`] bytes.
fn read_all(from: impl Read, what: &str) -> Result<Vec<u8>, Failure> {
    let mut value = Vec::new();
    let limit = MAX_ITEM_SIZE as u64 + 1;
    from.take(limit)
        .read_to_end(&mut value)
        .map_err(|e| Failure::Input(format!("cannot read {what}: {e}")))?;
    if value.len() > MAX_ITEM_SIZE {
        return Err(Failure::Input(format!(
            "the value in {what} is over {MAX_ITEM_SIZE} bytes, memcached's largest item"
        )));
    }
    Ok(value)
}
