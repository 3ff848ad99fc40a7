//! What every chart shares: the palette, the title, the legend, and a plot area with its
//! grid, axes and tick labels.

use super::axis::Axis;
use super::canvas::Image;
use super::font::{cap_height, fit_text, text_width};

/// Paper.
pub(crate) const BACKGROUND: [u8; 3] = [255, 255, 255];
/// Titles and labels.
pub(crate) const INK: [u8; 3] = [25, 25, 25];
/// Axis lines and tick marks.
pub(crate) const AXIS: [u8; 3] = [80, 80, 80];
/// Grid lines, faint enough to sit behind the data.
pub(crate) const GRID: [u8; 3] = [225, 225, 225];
/// Notes such as "no data".
pub(crate) const MUTED: [u8; 3] = [120, 120, 120];

/// Width of every chart, in pixels.
pub(crate) const CHART_WIDTH: i32 = 900;
/// Height of the band the chart title sits in.
pub(crate) const TITLE_BAND: i32 = 50;
/// Scale of labels, tick labels and legends (14-pixel capitals).
pub(crate) const LABEL_SCALE: u32 = 2;
/// Tick mark length.
const TICK: i32 = 5;

/// An axis-aligned rectangle in pixels.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Rect {
    pub x: i32,
    pub y: i32,
    pub w: i32,
    pub h: i32,
}

impl Rect {
    pub fn right(&self) -> i32 {
        self.x + self.w
    }

    pub fn bottom(&self) -> i32 {
        self.y + self.h
    }

    pub fn center_x(&self) -> i32 {
        self.x + self.w / 2
    }

    /// Pixel x of `v` on `axis` laid along this rectangle's width.
    pub fn x_of(&self, axis: &Axis, v: f64) -> f32 {
        (self.x as f64 + axis.frac(v) * self.w as f64) as f32
    }

    /// Pixel y of `v` on `axis` laid up this rectangle's height.
    pub fn y_of(&self, axis: &Axis, v: f64) -> f32 {
        (self.bottom() as f64 - axis.frac(v) * self.h as f64) as f32
    }
}

/// Draws `text` centred on `cx`, shrunk (then shortened) to fit `max_width`.
pub(crate) fn centered_text(img: &mut Image, cx: i32, y: i32, text: &str, max_width: i32, scale: u32, color: [u8; 3]) {
    let (text, scale) = fit_text(text, max_width, scale);
    img.draw_text(cx - text_width(&text, scale) as i32 / 2, y, &text, scale, color);
}

/// Draws the chart title centred in the title band at the top.
pub(crate) fn draw_title(img: &mut Image, title: &str) {
    centered_text(img, img.width() as i32 / 2, 16, title, img.width() as i32 - 20, 3, INK);
}

/// Writes "no data" centred in `area`.
pub(crate) fn draw_no_data(img: &mut Image, area: Rect) {
    let y = area.y + (area.h - cap_height(LABEL_SCALE)) / 2;
    centered_text(img, area.center_x(), y, "no data", area.w, LABEL_SCALE, MUTED);
}

/// Draws a legend, a colour swatch then the name per entry, in centred rows that wrap at
/// `max_width`, starting at `top`. Returns the y just below it (`top` when empty).
pub(crate) fn draw_legend(img: &mut Image, entries: &[(String, [u8; 3])], cx: i32, top: i32, max_width: i32) -> i32 {
    let s = LABEL_SCALE;
    let swatch = cap_height(s);
    let gap = 20;
    let items: Vec<(String, [u8; 3], i32)> = entries
        .iter()
        .map(|(name, color)| {
            let (name, _) = fit_text(name, max_width - swatch - 6, s);
            let w = swatch + 6 + text_width(&name, s) as i32;
            (name, *color, w)
        })
        .collect();
    let mut rows: Vec<Vec<&(String, [u8; 3], i32)>> = Vec::new();
    let mut row_width = 0;
    for item in &items {
        match rows.last_mut() {
            Some(row) if row_width + gap + item.2 <= max_width => {
                row.push(item);
                row_width += gap + item.2;
            }
            _ => {
                rows.push(vec![item]);
                row_width = item.2;
            }
        }
    }
    let line = cap_height(s) + 10;
    for (r, row) in rows.iter().enumerate() {
        let total: i32 = row.iter().map(|i| i.2).sum::<i32>() + gap * (row.len() as i32 - 1);
        let mut x = cx - total / 2;
        let y = top + r as i32 * line;
        for (name, color, w) in row {
            img.fill_rect(x, y, swatch, swatch, *color);
            img.draw_text(x + swatch + 6, y, name, s, INK);
            x += w + gap;
        }
    }
    top + rows.len() as i32 * line
}

/// Width the tick labels of `axis` need left of the plot, tick mark included.
pub(crate) fn y_tick_room(axis: &Axis) -> i32 {
    axis.ticks
        .iter()
        .map(|(_, l)| text_width(l, LABEL_SCALE) as i32)
        .max()
        .unwrap_or(0)
        + TICK
        + 6
}

/// Draws horizontal grid lines for `y_axis`'s ticks across `plot`, with the tick labels to
/// the left.
pub(crate) fn draw_y_grid(img: &mut Image, plot: Rect, y_axis: &Axis) {
    for (v, label) in &y_axis.ticks {
        let y = plot.y_of(y_axis, *v).round() as i32;
        img.fill_rect(plot.x, y, plot.w, 1, GRID);
        img.fill_rect(plot.x - TICK, y, TICK, 1, AXIS);
        let w = text_width(label, LABEL_SCALE) as i32;
        img.draw_text(
            plot.x - TICK - 6 - w,
            y - cap_height(LABEL_SCALE) / 2,
            label,
            LABEL_SCALE,
            INK,
        );
    }
}

/// Draws vertical grid lines for `x_axis`'s ticks up `plot`, with the tick labels below.
pub(crate) fn draw_x_grid(img: &mut Image, plot: Rect, x_axis: &Axis) {
    for (v, label) in &x_axis.ticks {
        let x = plot.x_of(x_axis, *v).round() as i32;
        img.fill_rect(x, plot.y, 1, plot.h, GRID);
        img.fill_rect(x, plot.bottom(), 1, TICK, AXIS);
        let w = text_width(label, LABEL_SCALE) as i32;
        img.draw_text(x - w / 2, plot.bottom() + TICK + 5, label, LABEL_SCALE, INK);
    }
}

/// Draws the left and bottom axis lines of `plot`.
pub(crate) fn draw_axes(img: &mut Image, plot: Rect) {
    img.fill_rect(plot.x - 1, plot.y, 1, plot.h + 1, AXIS);
    img.fill_rect(plot.x - 1, plot.bottom(), plot.w + 1, 1, AXIS);
}

/// Height taken below the plot by x tick labels.
pub(crate) fn x_tick_room() -> i32 {
    TICK + 5 + cap_height(LABEL_SCALE)
}
