//! Reading a model file's bytes with bounds: the 8-byte header length and the safetensors
//! header come first, and every size they declare is checked against the file's size before
//! the tensor data is read, so `/dev/zero`, `/dev/urandom`, a truncated file or a header that
//! claims terabytes is an error after reading a few bytes, not after filling memory.

use std::collections::HashMap;
use std::fs::File;
use std::io::Read;
use std::path::Path;

use crate::{Error, Result};

/// The largest header safetensors itself accepts (100 MB).
pub(crate) const MAX_HEADER_BYTES: u64 = 100_000_000;

fn bad(path: &str, detail: impl Into<String>) -> Error {
    Error::ModelFile {
        path: path.to_string(),
        detail: detail.into(),
    }
}

/// The bytes of the safetensors file at `path`, read header first (see the module header).
///
/// # Errors
/// [`Error::Io`] when the file cannot be read; [`Error::ModelFile`] when the header length or
/// a declared size does not fit the file; [`Error::HostMemoryLimit`] when a stream (a pipe,
/// a device) declares more data than the process may hold.
pub(crate) fn read_model_bytes(path: &Path) -> Result<Vec<u8>> {
    let name = path.display().to_string();
    let io = |source: std::io::Error| Error::Io {
        path: name.clone(),
        source,
    };
    let mut f = File::open(path).map_err(io)?;
    // The size of a regular file; a pipe or a device has none.
    let size = f.metadata().ok().filter(|m| m.is_file()).map(|m| m.len());
    let mut len = [0u8; 8];
    read_full(&mut f, &mut len).map_err(io)?.then_some(()).ok_or_else(|| {
        bad(
            &name,
            "shorter than the 8 bytes that start a safetensors file: truncated, or not a model file",
        )
    })?;
    let n = u64::from_le_bytes(len);
    if !(2..=MAX_HEADER_BYTES).contains(&n) {
        return Err(bad(
            &name,
            format!(
                "its first 8 bytes declare a header of {n} bytes, not between 2 and {MAX_HEADER_BYTES}: not a safetensors file"
            ),
        ));
    }
    if let Some(size) = size
        && n > size - 8
    {
        return Err(bad(
            &name,
            format!(
                "it declares a header of {n} bytes but holds only {} after the length: truncated",
                size - 8
            ),
        ));
    }
    let mut header = vec![0u8; n as usize];
    if !read_full(&mut f, &mut header).map_err(io)? {
        return Err(bad(&name, "the file ends inside its header: truncated"));
    }
    let data = declared_data_bytes(&header)
        .ok_or_else(|| bad(&name, "its header is not the JSON a safetensors file starts with"))?;
    let total = 8 + n + data;
    match size {
        Some(size) if size < total => {
            return Err(bad(
                &name,
                format!(
                    "its header declares {data} bytes of tensor data but the file holds {} after the header: truncated",
                    size - 8 - n
                ),
            ));
        }
        Some(_) => {}
        None => crate::memory::check(&format!("the model read from {name}"), total)?,
    }
    let mut bytes = Vec::new();
    bytes
        .try_reserve_exact(size.unwrap_or(total) as usize)
        .map_err(|_| Error::HostOutOfMemory {
            what: format!("the model file {name}"),
            requested: total,
        })?;
    bytes.extend_from_slice(&len);
    bytes.extend_from_slice(&header);
    // A regular file is read to its end (safetensors checks that nothing trails the data); a
    // stream stops at the declared end.
    let limit = size.map_or(data, |s| s - 8 - n);
    f.take(limit).read_to_end(&mut bytes).map_err(io)?;
    if (bytes.len() as u64) < total {
        return Err(bad(&name, "the stream ended inside the tensor data: truncated"));
    }
    Ok(bytes)
}

/// Fills `buf`; `false` when the source ends first.
fn read_full(f: &mut impl Read, buf: &mut [u8]) -> std::io::Result<bool> {
    let mut got = 0;
    while got < buf.len() {
        match f.read(&mut buf[got..]) {
            Ok(0) => return Ok(false),
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

/// The end of the tensor data the header declares (the largest `data_offsets` end); `None`
/// when the header is not a JSON object of that form.
fn declared_data_bytes(header: &[u8]) -> Option<u64> {
    #[derive(serde::Deserialize)]
    struct Entry {
        data_offsets: [u64; 2],
    }
    let entries: HashMap<String, serde_json::Value> = serde_json::from_slice(header).ok()?;
    let mut end = 0;
    for (key, value) in entries {
        if key == "__metadata__" {
            continue;
        }
        let entry: Entry = serde_json::from_value(value).ok()?;
        end = end.max(entry.data_offsets[1]);
    }
    Some(end)
}
