//! Whether a model file can be written at all, known before training: safetensors refuses a
//! header over 100 MB, and the preprocessing of a table of more than about a million columns
//! (a name, a role, an offset and a scale per column, stored as JSON text) is larger. Found
//! after the last epoch, the trained model would be lost.

use super::file::metadata_of;
use super::file_read::MAX_HEADER_BYTES;
use super::model::Model;
use crate::data::Preprocessing;
use crate::memory::human_bytes;
use crate::{Error, Result};

/// Header bytes per tensor entry (name, dtype, shape, offsets), generously.
const TENSOR_ENTRY_BYTES: u64 = 160;

impl Model {
    /// Checks that [`Model::save`] with `preprocessing` will be able to write the file: its
    /// safetensors header (the metadata as escaped JSON strings, and one entry per tensor)
    /// must stay within safetensors' 100 MB. Call it before training.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] with the header's size and what takes it.
    pub fn check_saveable(&self, preprocessing: Option<&Preprocessing>) -> Result<()> {
        let meta = metadata_of(
            &self.architecture,
            self.loss,
            self.optimizer,
            (self.step, self.epochs_trained),
            &self.metrics,
            preprocessing,
        );
        // Each value is stored as a JSON string (quotes escaped); the checksum entry is short.
        let escaped = |text: &str| serde_json::to_string(text).map_or(text.len(), |s| s.len()) as u64;
        let meta_bytes: u64 = meta.iter().map(|(k, v)| escaped(k) + escaped(v) + 2).sum::<u64>() + 64;
        let tensors = 2 * (1 + self.optimizer.slots() as u64) * self.architecture.dense_layers().len() as u64 + 2;
        let header = meta_bytes + tensors * TENSOR_ENTRY_BYTES;
        if header <= MAX_HEADER_BYTES {
            return Ok(());
        }
        let columns = preprocessing.map_or(0, |p| p.columns().len());
        let prep = meta.get("preprocessing").map_or(0, |p| escaped(p));
        Err(Error::InvalidArgument {
            what: "model file",
            detail: format!(
                "its safetensors header would take {} ({} of it the preprocessing of {columns} columns), over the {} safetensors allows, so the model could not be saved; use fewer columns (ignore some, or reduce them before training)",
                human_bytes(header),
                human_bytes(prep),
                human_bytes(MAX_HEADER_BYTES)
            ),
        })
    }
}
