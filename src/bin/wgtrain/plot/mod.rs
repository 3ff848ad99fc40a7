//! Pictures of training curves and benchmark bars, written as PNG files.
//!
//! The charts are drawn with `plotters` on its bitmap backend, in a font bundled with the
//! crate (DejaVu Sans, cut down: see `assets/fonts/`), so no system font is looked up and a
//! chart looks the same everywhere. Two chart builders: [`line_chart()`] (a panel per metric,
//! train and validation curves against the epoch) and [`bar_chart()`] (grouped bars with value
//! labels, on a linear or log axis). [`Image::write_png`] writes the result atomically.
//!
//! The builders take whatever a training run produced (a NaN loss, an empty history, one
//! epoch, a flat metric) and always return a valid picture: what cannot be drawn is left
//! out, never a panic.
//!
//! Layout: `image` (the RGB picture, PNG encoding, atomic writes), `layout` (font, colours,
//! title, legend, text fitting shared by the charts), `number` (short value labels),
//! `line_chart`, `bar_chart`; `tests` decodes the PNGs and checks what they show.

mod bar_chart;
mod image;
mod layout;
mod line_chart;
mod number;
#[cfg(test)]
mod tests;

pub use bar_chart::{YScale, bar_chart};
pub use image::Image;
pub use line_chart::{Series, line_chart};

/// The colours given to series and bars, in order: ten distinct hues that read on white.
/// The first two, blue and orange (train and validation), stay apart under the common
/// forms of colour blindness.
pub const PALETTE: [[u8; 3]; 10] = [
    [31, 119, 180],
    [255, 127, 14],
    [44, 160, 44],
    [214, 39, 40],
    [148, 103, 189],
    [140, 86, 75],
    [227, 119, 194],
    [127, 127, 127],
    [188, 189, 34],
    [23, 190, 207],
];

/// The colour of the `i`-th series of a panel or the `i`-th bar name of a bar chart,
/// cycling through [`PALETTE`].
pub fn series_color(i: usize) -> [u8; 3] {
    PALETTE[i % PALETTE.len()]
}
