//! The picture a chart is drawn into: an 8-bit RGB buffer that plotters' bitmap backend
//! draws on, encoded as PNG with the `png` crate and written atomically.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::{BitMapBackend, DrawingArea};

use wgtrain::Result;

/// An 8-bit RGB picture, row-major from the top-left corner.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Image {
    width: u32,
    height: u32,
    /// `width * height * 3` bytes, R G B per pixel: the layout plotters' `BitMapBackend`
    /// draws into.
    data: Vec<u8>,
}

/// A drawing area covering a whole [`Image`], in pixels from its top-left corner.
pub(crate) type Canvas<'a> = DrawingArea<BitMapBackend<'a>, Shift>;

impl Image {
    /// A `width`×`height` picture filled with `background` (a zero side becomes 1, so an
    /// image is never empty and always encodes).
    pub fn new(width: u32, height: u32, background: [u8; 3]) -> Image {
        let (width, height) = (width.max(1), height.max(1));
        Image {
            width,
            height,
            data: background.repeat(width as usize * height as usize),
        }
    }

    /// A plotters drawing area over the whole picture; what is drawn on it lands in the
    /// picture when the area is dropped.
    pub(crate) fn canvas(&mut self) -> Canvas<'_> {
        let size = (self.width, self.height);
        // The buffer is exactly width × height × 3 bytes, which is what the backend checks.
        DrawingArea::from(BitMapBackend::with_buffer(&mut self.data, size))
    }

    /// The picture as a PNG file's bytes: 8-bit RGB, no alpha, which every viewer opens.
    pub fn to_png_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let mut encoder = png::Encoder::new(&mut out, self.width, self.height);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        // Encoding into memory can only fail on a size mismatch, which `Image` rules out.
        let mut writer = encoder.write_header().expect("PNG header of a non-empty RGB image");
        writer
            .write_image_data(&self.data)
            .expect("PNG data of a width × height × 3 buffer");
        writer.finish().expect("PNG trailer written to memory");
        out
    }

    /// Writes the picture to `path` as a PNG, atomically (see [`wgtrain::io::write_atomic`]):
    /// a crash leaves the old file or the new one, never half of one.
    ///
    /// # Errors
    /// [`wgtrain::Error::Io`] naming `path` when the directory is missing or not writable or
    /// `path` names no file; no temporary file is left behind then.
    pub fn write_png(&self, path: &Path) -> Result<()> {
        wgtrain::io::write_atomic(path, &self.to_png_bytes())
    }
}

/// What the tests read a picture back with.
#[cfg(test)]
impl Image {
    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// The colour at column `x`, row `y` (row 0 is the top).
    ///
    /// # Panics
    /// When (`x`, `y`) is outside the image: asking for a pixel that does not exist is a bug.
    pub fn pixel(&self, x: u32, y: u32) -> [u8; 3] {
        assert!(
            x < self.width && y < self.height,
            "pixel ({x}, {y}) is outside a {}×{} image",
            self.width,
            self.height
        );
        let i = (y as usize * self.width as usize + x as usize) * 3;
        [self.data[i], self.data[i + 1], self.data[i + 2]]
    }
}
