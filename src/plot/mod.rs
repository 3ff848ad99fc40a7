//! Pictures of training curves and benchmark bars, written as PNG files.
//!
//! Everything is drawn here, with no system library and no borrowed font: an RGB raster
//! ([`Image`]) with anti-aliased lines, a 5×9 bitmap font drawn for wgtrain, and two chart
//! builders: [`line_chart`] (a panel per metric, train and validation curves against the
//! epoch) and [`bar_chart`] / [`bar_chart_scaled`] (grouped bars with value labels, on a
//! linear or log axis). [`Image::write_png`] writes the result atomically.
//!
//! The builders take whatever a training run produced (a NaN loss, an empty history, one
//! epoch, a flat metric) and always return a valid picture: what cannot be drawn is left
//! out, never a panic.
//!
//! Layout: `canvas` (raster and primitives), `font` (glyphs and text), `axis` (ranges, nice
//! ticks, number formats), `frame` (title, legend, grid shared by the charts),
//! `line_chart`, `bar_chart`, `png_out` (encoding and atomic writes).

mod axis;
mod bar_chart;
mod canvas;
mod font;
mod frame;
mod line_chart;
mod png_out;

pub use bar_chart::{YScale, bar_chart, bar_chart_scaled};
pub use canvas::Image;
pub use font::text_width;
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
