//! What both charts share: the bundled font, the colours, text that fits its room, the title,
//! the legend and the "no data" note, drawn with plotters on an [`Image`].

use std::sync::Once;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::image::{Canvas, Image};

/// DejaVu Sans cut down to Latin-1 and a little punctuation (see `assets/fonts/`): bundled so
/// a chart looks the same on every machine and no system font is looked up.
const FONT_BYTES: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/assets/fonts/DejaVuSans-subset.ttf"
));
/// The family the bundled font is registered under: plotters' default for axis labels, so
/// every text plotters draws on its own uses it too.
const FONT_FAMILY: &str = "sans-serif";

/// Paper.
pub(crate) const BACKGROUND: [u8; 3] = [255, 255, 255];
/// Titles and labels.
pub(crate) const INK: RGBColor = RGBColor(25, 25, 25);
/// Axis lines and tick marks.
pub(crate) const AXIS: RGBColor = RGBColor(80, 80, 80);
/// Grid lines, faint enough to sit behind the data.
pub(crate) const GRID: RGBColor = RGBColor(225, 225, 225);
/// Notes such as "no data".
pub(crate) const MUTED: RGBColor = RGBColor(120, 120, 120);

/// Width of every chart, in pixels.
pub(crate) const CHART_WIDTH: u32 = 900;
/// Height of the band the chart title sits in.
pub(crate) const TITLE_BAND: u32 = 50;
/// Pixel size of the title.
const TITLE_SIZE: f64 = 26.0;
/// Pixel size of panel names, legends, axis descriptions and tick labels.
pub(crate) const LABEL_SIZE: f64 = 17.0;
/// The smallest size text is shrunk to before it is shortened instead.
const MIN_TEXT_SIZE: f64 = 10.0;
/// Side of a legend's colour swatch.
const SWATCH: i32 = 12;

/// The error a drawing step can return.
pub(crate) type DrawError = DrawingAreaErrorKind<<BitMapBackend<'static> as DrawingBackend>::ErrorType>;
/// What a drawing step returns; see [`draw_on`] for why it never fails in practice.
pub(crate) type Drawn = Result<(), DrawError>;

/// The colour `rgb` as plotters takes it.
pub(crate) fn color([r, g, b]: [u8; 3]) -> RGBColor {
    RGBColor(r, g, b)
}

/// Runs `paint` on a drawing area over the whole of `img`.
///
/// # Panics
/// Only on a defect of the build: drawing into memory fails when the font is missing, and
/// the bundled font is registered here and drawn by the tests, glyph by glyph.
pub(crate) fn draw_on(img: &mut Image, paint: impl FnOnce(&Canvas) -> Drawn) {
    static REGISTER: Once = Once::new();
    REGISTER.call_once(|| {
        let registered = plotters::style::register_font(FONT_FAMILY, FontStyle::Normal, FONT_BYTES);
        assert!(registered.is_ok(), "the bundled font is a valid TrueType file");
    });
    let canvas = img.canvas();
    let drawn = paint(&canvas).and_then(|()| canvas.present());
    if let Err(e) = drawn {
        panic!("drawing a chart in memory with the bundled font failed: {e}");
    }
}

/// The bundled font at `size` pixels in `ink`.
pub(crate) fn text_style(size: f64, ink: RGBColor) -> TextStyle<'static> {
    (FONT_FAMILY, size).into_font().color(&ink)
}

/// `text` at the largest size from `size` down to [`MIN_TEXT_SIZE`] that fits `max_width`
/// pixels, shortened (see [`shorten_text`]) when even the smallest size does not fit.
pub(crate) fn fit_text(area: &Canvas, text: &str, size: f64, max_width: i32) -> Result<(String, f64), DrawError> {
    let mut s = size;
    while s > MIN_TEXT_SIZE && text_width(area, text, s)? > max_width {
        s = (s - 1.0).max(MIN_TEXT_SIZE);
    }
    Ok((shorten_text(area, text, s, max_width)?, s))
}

/// `text` cut short with an ellipsis so that at `size` it fits `max_width` pixels (all of
/// it when it fits).
pub(crate) fn shorten_text(area: &Canvas, text: &str, size: f64, max_width: i32) -> Result<String, DrawError> {
    let mut kept: Vec<char> = text.chars().collect();
    let mut fitted = text.to_string();
    while !kept.is_empty() && text_width(area, &fitted, size)? > max_width {
        kept.pop();
        fitted = kept.iter().collect::<String>() + "…";
    }
    Ok(fitted)
}

/// Width in pixels of `text` drawn at `size`.
pub(crate) fn text_width(area: &Canvas, text: &str, size: f64) -> Result<i32, DrawError> {
    Ok(area.estimate_text_size(text, &text_style(size, INK))?.0 as i32)
}

/// Draws `text` centred on `cx` with its top at `top`, fitted to `max_width` (see
/// [`fit_text`]).
pub(crate) fn centered_text(
    area: &Canvas,
    text: &str,
    (cx, top): (i32, i32),
    size: f64,
    max_width: i32,
    ink: RGBColor,
) -> Drawn {
    if text.is_empty() {
        return Ok(());
    }
    let (text, size) = fit_text(area, text, size, max_width)?;
    let style = text_style(size, ink).pos(Pos::new(HPos::Center, VPos::Top));
    area.draw_text(&text, &style, (cx, top))
}

/// Draws the chart title centred in the title band at the top of `canvas`.
pub(crate) fn draw_title(canvas: &Canvas, title: &str) -> Drawn {
    let width = canvas.dim_in_pixel().0 as i32;
    centered_text(canvas, title, (width / 2, 14), TITLE_SIZE, width - 20, INK)
}

/// Writes "no data" in the middle of `area`.
pub(crate) fn draw_no_data(area: &Canvas) -> Drawn {
    let (w, h) = area.dim_in_pixel();
    let top = (h as i32 - LABEL_SIZE as i32) / 2;
    centered_text(area, "no data", (w as i32 / 2, top), LABEL_SIZE, w as i32, MUTED)
}

/// One legend entry as drawn: its fitted name and size, its colour, its width in pixels.
struct LegendItem {
    name: String,
    size: f64,
    rgb: [u8; 3],
    width: i32,
}

/// Draws a legend, a colour swatch then the name per entry, in centred rows that wrap at
/// `max_width`, starting at `top`. Returns the y just below it (`top` when empty).
pub(crate) fn draw_legend(
    area: &Canvas,
    entries: &[(&str, [u8; 3])],
    cx: i32,
    top: i32,
    max_width: i32,
) -> Result<i32, DrawError> {
    const GAP: i32 = 22;
    let mut items = Vec::with_capacity(entries.len());
    for &(name, rgb) in entries {
        let (name, size) = fit_text(area, name, LABEL_SIZE, max_width - SWATCH - 6)?;
        let width = SWATCH + 6 + text_width(area, &name, size)?;
        items.push(LegendItem { name, size, rgb, width });
    }
    let mut rows: Vec<Vec<&LegendItem>> = Vec::new();
    let mut row_width = 0;
    for item in &items {
        match rows.last_mut() {
            Some(row) if row_width + GAP + item.width <= max_width => {
                row.push(item);
                row_width += GAP + item.width;
            }
            _ => {
                rows.push(vec![item]);
                row_width = item.width;
            }
        }
    }
    let line = LABEL_SIZE as i32 + 8;
    for (r, row) in rows.iter().enumerate() {
        let total: i32 = row.iter().map(|i| i.width).sum::<i32>() + GAP * (row.len() as i32 - 1);
        let mut x = cx - total / 2;
        let y = top + r as i32 * line;
        for item in row {
            let swatch = Rectangle::new([(x, y), (x + SWATCH, y + SWATCH)], color(item.rgb).filled());
            area.draw(&swatch)?;
            area.draw_text(&item.name, &text_style(item.size, INK), (x + SWATCH + 6, y))?;
            x += item.width + GAP;
        }
    }
    Ok(top + rows.len() as i32 * line)
}
