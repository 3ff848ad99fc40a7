//! The integrity check of model files: a CRC-32 (`crc32fast`) of everything the file says,
//! stored as `__metadata__["checksum"] = "crc32:xxxxxxxx"`. It covers every other metadata
//! entry (key and value, in key order) and every tensor (name, dtype, shape and data, in name
//! order), so it does not depend on how safetensors lays the file out, and any single-bit flip
//! of what is read is found. A file without the entry (written by an earlier wgtrain or by
//! another program) loads with [`Integrity::NoChecksum`], which the command reports.

use std::collections::HashMap;

/// The metadata key of the checksum.
pub(crate) const CHECKSUM_KEY: &str = "checksum";

/// Whether a loaded model file's contents were verified.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Integrity {
    /// The stored checksum matched (or the file was made in memory, from a model).
    Verified,
    /// The file holds no checksum (an earlier wgtrain or another program wrote it), so damage
    /// to it cannot be detected; saving it again adds one.
    NoChecksum,
}

/// One tensor as the checksum sees it.
pub(crate) struct TensorBytes<'a> {
    pub name: &'a str,
    pub dtype: String,
    pub shape: &'a [usize],
    pub data: &'a [u8],
}

/// `crc32:xxxxxxxx` of the metadata (without the checksum entry) and the tensors.
pub(crate) fn checksum(meta: &HashMap<String, String>, mut tensors: Vec<TensorBytes>) -> String {
    let mut h = crc32fast::Hasher::new();
    let mut keys: Vec<&String> = meta.keys().filter(|k| *k != CHECKSUM_KEY).collect();
    keys.sort();
    for k in keys {
        for part in [k.as_bytes(), &[0], meta[k].as_bytes(), &[0]] {
            h.update(part);
        }
    }
    tensors.sort_by(|a, b| a.name.cmp(b.name));
    for t in tensors {
        h.update(t.name.as_bytes());
        h.update(&[0]);
        h.update(t.dtype.as_bytes());
        h.update(&[0]);
        h.update(&(t.shape.len() as u64).to_le_bytes());
        for &d in t.shape {
            h.update(&(d as u64).to_le_bytes());
        }
        h.update(&(t.data.len() as u64).to_le_bytes());
        h.update(t.data);
    }
    format!("crc32:{:08x}", h.finalize())
}
