//! Training curves: one panel per metric (loss, accuracy …), each with its series (train,
//! validation …) drawn against the epoch number, laid out two panels to a row.

use plotters::coord::types::{RangedCoordf64, RangedCoordi32};
use plotters::prelude::*;

use super::image::{Canvas, Image};
use super::layout::{
    AXIS, BACKGROUND, CHART_WIDTH, Drawn, GRID, INK, LABEL_SIZE, TITLE_BAND, centered_text, color, draw_legend,
    draw_no_data, draw_on, draw_title, text_style,
};
use super::series_color;

/// Pen width of a curve.
const LINE_WIDTH: u32 = 2;
/// Radius of the dot on each point when there are few enough to see them.
const DOT_RADIUS: i32 = 3;
/// Curves with at most this many points get a dot per point.
const MAX_DOTTED_POINTS: usize = 30;

/// One named curve: a value per epoch, epoch 1 first.
///
/// NaN and infinite values (a loss that diverged) are left out of the picture: the curve
/// breaks around them and the axis range ignores them.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// Shown in the legend.
    pub name: String,
    /// The value after each epoch.
    pub values: Vec<f32>,
}

impl Series {
    /// A series called `name` with `values`, one per epoch.
    pub fn new(name: impl Into<String>, values: Vec<f32>) -> Series {
        Series {
            name: name.into(),
            values,
        }
    }
}

/// Draws training curves: a panel per `(panel title, series)` entry of `panels`, two panels
/// to a row (one when there is a single panel), each with its own y axis, epoch numbers on
/// the x axis labelled `x_label`, and a legend. Series `i` of every panel has colour
/// [`series_color`]`(i)`, so "train" and "val" match across panels when listed in the same
/// order.
///
/// Never fails: empty panels, empty series, a single epoch, flat values and NaN are all
/// drawn as well as they can be. The picture is 900 pixels wide and 600 high for one row of
/// panels, growing by 400 per extra row.
pub fn line_chart(title: &str, x_label: &str, panels: &[(String, Vec<Series>)]) -> Image {
    let cols = if panels.len() <= 1 { 1 } else { 2 };
    let rows = panels.len().div_ceil(cols).max(1) as u32;
    let panel_h = if rows == 1 { 540 } else { 400 };
    let mut img = Image::new(CHART_WIDTH, TITLE_BAND + rows * panel_h + 10, BACKGROUND);
    draw_on(&mut img, |canvas| {
        draw_title(canvas, title)?;
        let (_, body) = canvas.split_vertically(TITLE_BAND);
        let (body, _) = body.split_vertically(rows * panel_h);
        if panels.is_empty() {
            return draw_no_data(&body);
        }
        let cells = body.split_evenly((rows as usize, cols));
        for ((name, series), cell) in panels.iter().zip(&cells) {
            draw_panel(cell, name, x_label, series)?;
        }
        Ok(())
    });
    img
}

/// Draws one metric's panel in `cell`: its name, the legend, then the plot.
fn draw_panel(cell: &Canvas, name: &str, x_label: &str, series: &[Series]) -> Drawn {
    let width = cell.dim_in_pixel().0 as i32;
    centered_text(cell, name, (width / 2, 8), LABEL_SIZE, width - 20, INK)?;
    let entries: Vec<(&str, [u8; 3])> = series
        .iter()
        .enumerate()
        .map(|(i, s)| (s.name.as_str(), series_color(i)))
        .collect();
    let legend_bottom = draw_legend(cell, &entries, width / 2, 8 + LABEL_SIZE as i32 + 10, width - 40)?;
    let (_, plot_area) = cell.split_vertically(legend_bottom.max(40) + 4);

    let finite = series.iter().flat_map(|s| s.values.iter()).filter(|v| v.is_finite());
    let (lo, hi) = finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
        (lo.min(v as f64), hi.max(v as f64))
    });
    let has_data = lo <= hi;
    let (y_lo, y_hi) = if has_data { value_range(lo, hi) } else { (0.0, 1.0) };
    let epochs = series.iter().map(|s| s.values.len()).max().unwrap_or(0) as i32;
    // A single epoch sits in the middle of a range two epochs wide.
    let x_range = if epochs <= 1 { 0..2 } else { 1..epochs };

    let mut chart = ChartBuilder::on(&plot_area)
        .margin_left(10)
        .margin_right(24)
        .margin_bottom(8)
        .x_label_area_size(2 * LABEL_SIZE as i32 + 12)
        .y_label_area_size(64)
        .build_cartesian_2d(x_range, y_lo..y_hi)?;
    let epoch_label = |x: &i32| {
        if (1..=epochs.max(1)).contains(x) {
            x.to_string()
        } else {
            String::new()
        }
    };
    chart
        .configure_mesh()
        .bold_line_style(GRID)
        .light_line_style(TRANSPARENT)
        .axis_style(AXIS)
        .label_style(text_style(LABEL_SIZE - 2.0, INK))
        .axis_desc_style(text_style(LABEL_SIZE, INK))
        .x_desc(x_label)
        .x_labels(8)
        .y_labels(6)
        .x_label_formatter(&epoch_label)
        .draw()?;
    if !has_data {
        return draw_no_data(&chart.plotting_area().strip_coord_spec());
    }
    for (i, s) in series.iter().enumerate() {
        draw_series(&mut chart, &s.values, color(series_color(i)))?;
    }
    Ok(())
}

/// The y range for finite values `lo..=hi`: 5% of room either side, and a flat series
/// (a range within float noise of its value) widened so it sits mid-plot on a real axis.
fn value_range(lo: f64, hi: f64) -> (f64, f64) {
    let span = hi - lo;
    if span <= 1e-6 * lo.abs().max(hi.abs()) || span < f64::MIN_POSITIVE {
        let pad = if lo != 0.0 { lo.abs() * 0.1 } else { 1.0 };
        (lo - pad, hi + pad)
    } else {
        (lo - 0.05 * span, hi + 0.05 * span)
    }
}

/// Draws one curve: a polyline per run of finite values, and dots on the points when they
/// are few or stand alone between gaps (a lone point has no line to show it).
fn draw_series<DB: DrawingBackend>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<RangedCoordi32, RangedCoordf64>>,
    values: &[f32],
    ink: RGBColor,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let dotted = values.len() <= MAX_DOTTED_POINTS;
    let points: Vec<(i32, f32)> = values.iter().enumerate().map(|(i, &v)| (i as i32 + 1, v)).collect();
    let runs = points.split(|(_, v)| !v.is_finite());
    for run in runs.filter(|r| !r.is_empty()) {
        let run: Vec<(i32, f64)> = run.iter().map(|&(x, v)| (x, v as f64)).collect();
        chart.draw_series(std::iter::once(PathElement::new(
            run.clone(),
            ink.stroke_width(LINE_WIDTH),
        )))?;
        if run.len() == 1 || dotted {
            chart.draw_series(run.iter().map(|&p| Circle::new(p, DOT_RADIUS, ink.filled())))?;
        }
    }
    Ok(())
}
