//! Benchmark bars: groups (workloads) of bars (backends), each bar labelled with its value,
//! on a linear or a log axis, since GPU and CPU figures can be 100× apart.

use std::collections::HashMap;

use super::axis::{Axis, format_value};
use super::canvas::Image;
use super::font::{cap_height, fit_text, text_width};
use super::frame::{
    AXIS, BACKGROUND, CHART_WIDTH, INK, LABEL_SCALE, MUTED, Rect, TITLE_BAND, centered_text, draw_axes, draw_legend,
    draw_no_data, draw_title, draw_y_grid, y_tick_room,
};
use super::series_color;

/// Height of a bar chart.
const CHART_HEIGHT: i32 = 600;
/// Widest a bar gets, however few there are.
const MAX_BAR_WIDTH: i32 = 90;
/// Share of a group's slot its bars take; the rest separates the groups.
const GROUP_FILL: f64 = 0.8;

/// How a bar chart's value axis is scaled.
///
/// ```
/// use wgtrain::plot::{YScale, bar_chart_scaled};
///
/// let groups = [("mlp".to_string(), vec![("cpu".to_string(), 120.0), ("gpu".to_string(), 45_000.0)])];
/// let img = bar_chart_scaled("throughput", "samples/s", &groups, YScale::Auto);
/// assert_eq!(img.width(), 900);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum YScale {
    /// Linear from zero (or from the most negative value).
    #[default]
    Linear,
    /// Base-10 logarithmic over whole decades. Bars that are zero or negative cannot be
    /// drawn there: they keep their value label and lose their bar.
    Log,
    /// Log when every value is positive and the largest is at least 100 times the smallest,
    /// linear otherwise.
    Auto,
}

/// Draws grouped bars on a linear axis; see [`bar_chart_scaled`].
///
/// ```
/// use wgtrain::plot::bar_chart;
///
/// let groups = [
///     ("xor".to_string(), vec![("cpu".to_string(), 900.0), ("gpu".to_string(), 1500.0)]),
///     ("mnist".to_string(), vec![("cpu".to_string(), 300.0), ("gpu".to_string(), 2500.0)]),
/// ];
/// let img = bar_chart("training throughput", "samples/s", &groups);
/// assert_eq!((img.width(), img.height()), (900, 600));
/// ```
pub fn bar_chart(title: &str, y_label: &str, groups: &[(String, Vec<(String, f32)>)]) -> Image {
    bar_chart_scaled(title, y_label, groups, YScale::Linear)
}

/// Draws grouped bars: one group per `(group name, bars)` entry of `groups`, named under it,
/// each bar a `(bar name, value)` labelled with its value above it. A bar's colour is
/// [`series_color`]`(k)` where `k` is the order in which its name first appears, so the same
/// backend has the same colour in every group, and the legend lists the names.
///
/// Never fails: no groups, empty groups, NaN and infinite values (labelled `n/a`, no bar) are
/// drawn as well as they can be. The picture is 900×600 pixels.
pub fn bar_chart_scaled(title: &str, y_label: &str, groups: &[(String, Vec<(String, f32)>)], scale: YScale) -> Image {
    let mut img = Image::new(CHART_WIDTH as u32, CHART_HEIGHT as u32, BACKGROUND);
    draw_title(&mut img, title);

    let mut names: Vec<&str> = Vec::new();
    let mut color_of: HashMap<&str, [u8; 3]> = HashMap::new();
    for (_, bars) in groups {
        for (name, _) in bars {
            if !color_of.contains_key(name.as_str()) {
                color_of.insert(name, series_color(names.len()));
                names.push(name);
            }
        }
    }
    let entries: Vec<(String, [u8; 3])> = names.iter().map(|n| (n.to_string(), color_of[n])).collect();
    let legend_bottom = draw_legend(&mut img, &entries, CHART_WIDTH / 2, TITLE_BAND + 4, CHART_WIDTH - 60);

    let values: Vec<f64> = groups
        .iter()
        .flat_map(|(_, bars)| bars.iter())
        .map(|&(_, v)| v as f64)
        .filter(|v| v.is_finite())
        .collect();
    if values.is_empty() {
        draw_no_data(
            &mut img,
            Rect {
                x: 0,
                y: legend_bottom,
                w: CHART_WIDTH,
                h: CHART_HEIGHT - legend_bottom,
            },
        );
        return img;
    }
    let y_axis = value_axis(&values, scale);

    let s = LABEL_SCALE;
    let left = 14 + cap_height(s) + 12 + y_tick_room(&y_axis);
    let top = legend_bottom + 14 + cap_height(s);
    let bottom = CHART_HEIGHT - 20 - cap_height(s) - 10;
    let plot = Rect {
        x: left,
        y: top,
        w: CHART_WIDTH - 24 - left,
        h: bottom - top,
    };

    draw_y_grid(&mut img, plot, &y_axis);
    let label = if y_axis.log {
        format!("{y_label} (log scale)")
    } else {
        y_label.to_string()
    };
    let (label, label_scale) = fit_text(&label, plot.h, s);
    let label_y = plot.y + (plot.h + text_width(&label, label_scale) as i32) / 2;
    img.draw_text_up(14, label_y, &label, label_scale, INK);

    let slot = plot.w as f64 / groups.len() as f64;
    let most_bars = groups.iter().map(|(_, bars)| bars.len()).max().unwrap_or(0).max(1);
    let bar_w = ((slot * GROUP_FILL / most_bars as f64) as i32).clamp(1, MAX_BAR_WIDTH);

    let mut value_labels = groups
        .iter()
        .flat_map(|(_, bars)| bars.iter())
        .map(|&(_, v)| format_value(v as f64));
    let value_scale = if value_labels.all(|l| text_width(&l, s) as i32 <= bar_w + 6) {
        s
    } else {
        1
    };
    // Bars grow from zero on a linear axis and from the bottom on a log one.
    let base = if y_axis.log {
        plot.bottom() as f32
    } else {
        plot.y_of(&y_axis, 0.0)
    };
    let layout = BarLayout {
        plot,
        axis: &y_axis,
        base,
        width: bar_w,
        value_scale,
    };
    for (gi, (group, bars)) in groups.iter().enumerate() {
        let center = plot.x as f64 + slot * (gi as f64 + 0.5);
        centered_text(
            &mut img,
            center as i32,
            plot.bottom() + 12,
            group,
            slot as i32 - 6,
            s,
            INK,
        );
        let x0 = center - bar_w as f64 * bars.len() as f64 / 2.0;
        for (bi, (name, v)) in bars.iter().enumerate() {
            let x = (x0 + (bi as i32 * bar_w) as f64).round() as i32;
            layout.draw_bar(&mut img, x, *v as f64, color_of[name.as_str()]);
        }
    }
    draw_axes(&mut img, plot);
    if !y_axis.log && y_axis.lo < 0.0 {
        img.fill_rect(plot.x, base.round() as i32, plot.w, 1, AXIS);
    }
    img
}

/// Where and how big the bars of one chart are drawn.
struct BarLayout<'a> {
    plot: Rect,
    axis: &'a Axis,
    /// The y the bars grow from.
    base: f32,
    width: i32,
    value_scale: u32,
}

impl BarLayout<'_> {
    /// Draws the bar for `v` with its left edge at `x`, and its value label beyond its end;
    /// a value the axis cannot show (NaN, or not positive on a log axis) gets only a muted
    /// label at the base.
    fn draw_bar(&self, img: &mut Image, x: i32, v: f64, color: [u8; 3]) {
        let drawable = v.is_finite() && (!self.axis.log || v > 0.0);
        let label_height = cap_height(self.value_scale);
        let label_y = if drawable {
            let y = self.plot.y_of(self.axis, v);
            let (y_top, y_bot) = (y.min(self.base).round() as i32, y.max(self.base).round() as i32);
            // A one-pixel white seam keeps neighbouring bars apart.
            let seam = if self.width > 4 { 1 } else { 0 };
            img.fill_rect(x + seam, y_top, self.width - 2 * seam, (y_bot - y_top).max(1), color);
            if v < 0.0 { y_bot + 4 } else { y_top - 4 - label_height }
        } else {
            self.base as i32 - 4 - label_height
        };
        let ink = if drawable { INK } else { MUTED };
        let label = format_value(v);
        centered_text(
            img,
            x + self.width / 2,
            label_y,
            &label,
            self.width + 6,
            self.value_scale,
            ink,
        );
    }
}

/// The value axis for the finite `values` (not empty) under `scale`.
fn value_axis(values: &[f64], scale: YScale) -> Axis {
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let min_pos = values
        .iter()
        .copied()
        .filter(|&v| v > 0.0)
        .fold(f64::INFINITY, f64::min);
    let log = match scale {
        YScale::Linear => false,
        YScale::Log => min_pos.is_finite(),
        YScale::Auto => lo > 0.0 && hi / lo >= 100.0,
    };
    if log {
        Axis::log(min_pos, hi)
    } else {
        Axis::linear(lo.min(0.0), hi.max(0.0))
    }
}
