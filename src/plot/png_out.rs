//! PNG encoding (8-bit RGB, through the `png` crate) and atomic file writing.

use std::io;
use std::path::Path;

use super::canvas::Image;

impl Image {
    /// The picture as a PNG file's bytes: 8-bit RGB, no alpha, which every viewer opens.
    pub fn to_png_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let mut encoder = png::Encoder::new(&mut out, self.width(), self.height());
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        // Encoding into memory can only fail on a size mismatch, which `Image` rules out.
        let mut writer = encoder.write_header().expect("PNG header of a non-empty RGB image");
        writer
            .write_image_data(self.as_bytes())
            .expect("PNG data of a width × height × 3 buffer");
        writer.finish().expect("PNG trailer written to memory");
        out
    }

    /// Writes the picture to `path` as a PNG, atomically: the bytes go to a temporary file
    /// in the same directory, are flushed to disk, then the file is renamed over `path`, so
    /// a crash leaves the old file or the new one, never half of one.
    ///
    /// # Errors
    /// The I/O error, with `path` in its message, when the directory is missing or not
    /// writable or `path` names no file; the temporary file is removed then.
    pub fn write_png(&self, path: &Path) -> io::Result<()> {
        let context = |e: io::Error| io::Error::new(e.kind(), format!("writing PNG `{}`: {e}", path.display()));
        crate::io::write_atomic_io(path, &self.to_png_bytes()).map_err(context)
    }
}
