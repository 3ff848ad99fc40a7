//! Training curves: one panel per metric (loss, accuracy …), each with its series (train,
//! validation …) drawn against the epoch number, laid out two panels to a row.

use super::axis::Axis;
use super::canvas::Image;
use super::font::cap_height;
use super::frame::{
    BACKGROUND, CHART_WIDTH, INK, LABEL_SCALE, Rect, TITLE_BAND, centered_text, draw_axes, draw_legend, draw_no_data,
    draw_title, draw_x_grid, draw_y_grid, x_tick_room, y_tick_room,
};
use super::series_color;

/// Pen width of a curve.
const LINE_WIDTH: f32 = 2.5;
/// Radius of the dot on each point when there are few enough to see them.
const DOT_RADIUS: f32 = 3.5;
/// Curves with at most this many points get a dot per point.
const MAX_DOTTED_POINTS: usize = 30;

/// One named curve: a value per epoch, epoch 1 first.
///
/// NaN and infinite values (a loss that diverged) are left out of the picture: the curve
/// breaks around them and the axis range ignores them.
///
/// ```
/// use wgtrain::plot::Series;
///
/// let train = Series::new("train", vec![0.69, 0.52, 0.41]);
/// assert_eq!(train.name, "train");
/// assert_eq!(train.values.len(), 3);
/// ```
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
///
/// ```
/// use wgtrain::plot::{Series, line_chart};
///
/// let loss = vec![Series::new("train", vec![0.7, 0.5, 0.4]), Series::new("val", vec![0.72, 0.55, 0.5])];
/// let acc = vec![Series::new("train", vec![0.6, 0.7, 0.8]), Series::new("val", vec![0.58, 0.66, 0.7])];
/// let img = line_chart("fit history", "epoch", &[("loss".into(), loss), ("accuracy".into(), acc)]);
/// assert_eq!((img.width(), img.height()), (900, 600));
/// ```
pub fn line_chart(title: &str, x_label: &str, panels: &[(String, Vec<Series>)]) -> Image {
    let cols = if panels.len() <= 1 { 1 } else { 2 };
    let rows = panels.len().div_ceil(cols).max(1) as i32;
    let panel_h = if rows == 1 { 540 } else { 400 };
    let height = TITLE_BAND + rows * panel_h + 10;
    let mut img = Image::new(CHART_WIDTH as u32, height as u32, BACKGROUND);
    draw_title(&mut img, title);
    if panels.is_empty() {
        draw_no_data(
            &mut img,
            Rect {
                x: 0,
                y: TITLE_BAND,
                w: CHART_WIDTH,
                h: height - TITLE_BAND,
            },
        );
        return img;
    }
    let panel_w = CHART_WIDTH / cols as i32;
    for (i, (name, series)) in panels.iter().enumerate() {
        let (c, r) = ((i % cols) as i32, (i / cols) as i32);
        let area = Rect {
            x: c * panel_w,
            y: TITLE_BAND + r * panel_h,
            w: panel_w,
            h: panel_h,
        };
        draw_panel(&mut img, area, name, x_label, series);
    }
    img
}

/// Draws one metric's panel inside `area`.
fn draw_panel(img: &mut Image, area: Rect, name: &str, x_label: &str, series: &[Series]) {
    let s = LABEL_SCALE;
    centered_text(img, area.center_x(), area.y + 6, name, area.w - 20, s, INK);
    let entries: Vec<(String, [u8; 3])> = series
        .iter()
        .enumerate()
        .map(|(i, ser)| (ser.name.clone(), series_color(i)))
        .collect();
    let legend_bottom = draw_legend(
        img,
        &entries,
        area.center_x(),
        area.y + 6 + cap_height(s) + 14,
        area.w - 40,
    );

    let finite = series
        .iter()
        .flat_map(|ser| ser.values.iter())
        .filter(|v| v.is_finite())
        .map(|&v| v as f64);
    let (lo, hi) = finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let has_data = lo <= hi;
    let y_axis = if has_data {
        Axis::linear(lo, hi)
    } else {
        Axis::linear(0.0, 1.0)
    };
    let epochs = series.iter().map(|ser| ser.values.len()).max().unwrap_or(0);
    let x_axis = Axis::epochs(epochs);

    let left = area.x + 14 + y_tick_room(&y_axis);
    let top = legend_bottom.max(area.y + 40) + 10;
    let bottom = area.bottom() - 14 - cap_height(s) - 10 - x_tick_room();
    let plot = Rect {
        x: left,
        y: top,
        w: area.right() - 24 - left,
        h: bottom - top,
    };
    if plot.w < 20 || plot.h < 20 {
        return;
    }
    draw_y_grid(img, plot, &y_axis);
    draw_x_grid(img, plot, &x_axis);
    draw_axes(img, plot);
    centered_text(
        img,
        plot.center_x(),
        area.bottom() - 14 - cap_height(s),
        x_label,
        plot.w,
        s,
        INK,
    );
    if !has_data {
        draw_no_data(img, plot);
        return;
    }
    for (i, ser) in series.iter().enumerate() {
        draw_series(img, plot, &x_axis, &y_axis, &ser.values, series_color(i));
    }
}

/// Draws one curve: a polyline per run of finite values, and dots on the points when they
/// are few or stand alone between gaps (a lone point has no line to show it).
fn draw_series(img: &mut Image, plot: Rect, x_axis: &Axis, y_axis: &Axis, values: &[f32], color: [u8; 3]) {
    let point = |i: usize, v: f32| (plot.x_of(x_axis, (i + 1) as f64), plot.y_of(y_axis, v as f64));
    let dotted = values.len() <= MAX_DOTTED_POINTS;
    let mut run: Vec<(f32, f32)> = Vec::new();
    let flush = |run: &mut Vec<(f32, f32)>, img: &mut Image| {
        img.stroke_polyline(run, LINE_WIDTH, color);
        if run.len() == 1 || dotted {
            for &(x, y) in run.iter() {
                img.fill_circle(x, y, DOT_RADIUS, color);
            }
        }
        run.clear();
    };
    for (i, &v) in values.iter().enumerate() {
        if v.is_finite() {
            run.push(point(i, v));
        } else {
            flush(&mut run, img);
        }
    }
    flush(&mut run, img);
}
