//! Benchmark bars: groups (workloads) of bars (backends), each bar labelled with its value,
//! on a linear or a log axis, since GPU and CPU figures can be 100× apart.

use std::collections::HashMap;

use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::image::{Canvas, Image};
use super::layout::{
    AXIS, BACKGROUND, CHART_WIDTH, DrawError, Drawn, GRID, INK, LABEL_SIZE, MUTED, TITLE_BAND, color, draw_legend,
    draw_no_data, draw_on, draw_title, shorten_text, text_style, text_width,
};
use super::number::format_value;
use super::series_color;

/// Height of a bar chart.
const CHART_HEIGHT: u32 = 600;
/// Widest a bar gets, however few there are.
const MAX_BAR_WIDTH: i32 = 90;
/// Share of a group's slot its bars take; the rest separates the groups.
const GROUP_FILL: f64 = 0.8;
/// Size of the value labels when they fit their bars, and when they do not.
const VALUE_SIZES: [f64; 2] = [LABEL_SIZE - 2.0, 11.0];

/// How a bar chart's value axis is scaled.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum YScale {
    /// Linear from zero (or from the most negative value).
    #[default]
    Linear,
    /// Base-10 logarithmic over whole decades. Bars that are zero or negative cannot be
    /// drawn there: they keep their value label and lose their bar.
    #[cfg_attr(not(test), expect(dead_code, reason = "the command asks for Auto; tests force Log"))]
    Log,
    /// Log when every value is positive and the largest is at least 100 times the smallest,
    /// linear otherwise.
    Auto,
}

/// Draws grouped bars: one group per `(group name, bars)` entry of `groups`, named under it,
/// each bar a `(bar name, value)` labelled with its value above it. A bar's colour is
/// [`series_color`]`(k)` where `k` is the order in which its name first appears, so the same
/// backend has the same colour in every group, and the legend lists the names.
///
/// Never fails: no groups, empty groups, NaN and infinite values (labelled `n/a`, no bar) are
/// drawn as well as they can be. The picture is 900×600 pixels; `scale` sets the value axis.
pub fn bar_chart(title: &str, y_label: &str, groups: &[(String, Vec<(String, f32)>)], scale: YScale) -> Image {
    let mut img = Image::new(CHART_WIDTH, CHART_HEIGHT, BACKGROUND);
    draw_on(&mut img, |canvas| {
        draw_title(canvas, title)?;
        let mut names: Vec<&str> = Vec::new();
        for (_, bars) in groups {
            for (name, _) in bars {
                if !names.contains(&name.as_str()) {
                    names.push(name);
                }
            }
        }
        let entries: Vec<(&str, [u8; 3])> = names.iter().enumerate().map(|(k, n)| (*n, series_color(k))).collect();
        let width = CHART_WIDTH as i32;
        let legend_bottom = draw_legend(canvas, &entries, width / 2, TITLE_BAND as i32 + 4, width - 60)?;
        let (_, area) = canvas.split_vertically(legend_bottom);

        let values: Vec<f64> = groups
            .iter()
            .flat_map(|(_, bars)| bars.iter())
            .map(|&(_, v)| v as f64)
            .filter(|v| v.is_finite())
            .collect();
        if values.is_empty() {
            return draw_no_data(&area);
        }
        let bars = Bars {
            canvas,
            groups,
            color_of: entries.into_iter().collect(),
        };
        match value_axis(&values, scale) {
            ValueAxis::Linear { lo, hi } => bars.draw(&area, lo..hi, y_label, 0.0, false),
            ValueAxis::Log { decades } => {
                let (lo, hi) = (decades[0], decades[decades.len() - 1]);
                let y = (lo..hi).log_scale().with_key_points(decades);
                bars.draw(&area, y, &format!("{y_label} (log scale)"), lo, true)
            }
        }
    });
    img
}

/// The value axis of a bar chart.
#[derive(Debug, PartialEq)]
enum ValueAxis {
    /// Linear over `lo..hi`, zero included.
    Linear { lo: f64, hi: f64 },
    /// Logarithmic over whole decades, the first and last being the ends, each one ticked.
    Log { decades: Vec<f64> },
}

/// The value axis for the finite `values` (not empty) under `scale`.
fn value_axis(values: &[f64], scale: YScale) -> ValueAxis {
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
        return ValueAxis::Log {
            decades: decades(min_pos, hi),
        };
    }
    let (lo, hi) = (lo.min(0.0), hi.max(0.0));
    // Room beyond the longest bars for their value labels; a chart of zeros still has height.
    let pad = if hi > lo { 0.08 * (hi - lo) } else { 1.0 };
    ValueAxis::Linear {
        lo: if lo < 0.0 { lo - pad } else { lo },
        hi: hi + pad,
    }
}

/// The decades (powers of ten) of a log axis holding `min..=max` (both > 0): every decade
/// from the start to the end, or every few when there are more than eight. The smallest
/// value is kept well above the start, so its bar is never a stub.
fn decades(min: f64, max: f64) -> Vec<f64> {
    // A value in the bottom third of its decade would make a stub of a bar: start a decade
    // lower then.
    let mut e_lo = min.log10().floor() as i32;
    if min.log10() - (e_lo as f64) < 0.3 {
        e_lo -= 1;
    }
    let e_top = (max.log10().ceil() as i32).max(e_lo + 1);
    let every = ((e_top - e_lo + 7) / 8).max(1);
    // With a tick every few decades, the top is raised to a ticked one.
    let e_hi = e_lo + (e_top - e_lo + every - 1) / every * every;
    (e_lo..=e_hi).step_by(every as usize).map(|e| 10f64.powi(e)).collect()
}

/// One bar chart's groups, the colour of each bar name, and the picture they are drawn on.
struct Bars<'a, 'b> {
    canvas: &'a Canvas<'b>,
    groups: &'a [(String, Vec<(String, f32)>)],
    color_of: HashMap<&'a str, [u8; 3]>,
}

impl Bars<'_, '_> {
    /// Draws the plot in `area` on the value axis `y`, the bars growing from `base`; on a log
    /// axis (`log`) values that are not positive keep their label and lose their bar.
    fn draw<Y>(&self, area: &Canvas, y: Y, y_label: &str, base: f64, log: bool) -> Drawn
    where
        Y: AsRangedCoord<Value = f64>,
        Y::CoordDescType: Ranged<ValueType = f64> + ValueFormatter<f64>,
    {
        // x counts half slots, so group `i` is centred on the whole number 2i + 1 and gets a
        // tick labelled with its name there.
        let n = self.groups.len();
        let centers: Vec<i32> = (0..n as i32).map(|i| 2 * i + 1).collect();
        let mut chart = ChartBuilder::on(area)
            .margin_top(LABEL_SIZE as i32 + 8)
            .margin_left(8)
            .margin_right(24)
            .margin_bottom(8)
            .x_label_area_size(LABEL_SIZE as i32 + 16)
            .y_label_area_size(LABEL_SIZE as i32 + 70)
            .build_cartesian_2d((0..2 * n as i32).with_key_points(centers), y)?;
        let slot = chart.plotting_area().dim_in_pixel().0 as f64 / n as f64;
        let label_size = LABEL_SIZE - 1.0;
        let names = self
            .groups
            .iter()
            .map(|(g, _)| shorten_text(self.canvas, g, label_size, slot as i32 - 6))
            .collect::<Result<Vec<_>, _>>()?;
        let group_label = |x: &i32| names.get((x / 2) as usize).cloned().unwrap_or_default();
        chart
            .configure_mesh()
            .disable_x_mesh()
            .bold_line_style(GRID)
            .light_line_style(TRANSPARENT)
            .axis_style(AXIS)
            .label_style(text_style(label_size, INK))
            .axis_desc_style(text_style(LABEL_SIZE, INK))
            .y_desc(y_label)
            .y_labels(8)
            .x_label_formatter(&group_label)
            .y_label_formatter(&|v| format_value(*v))
            .draw()?;

        let most_bars = self.groups.iter().map(|(_, b)| b.len()).max().unwrap_or(0).max(1);
        let width = ((slot * GROUP_FILL / most_bars as f64) as i32).clamp(1, MAX_BAR_WIDTH);
        let size = self.value_label_size(width)?;
        let base_px = chart.backend_coord(&(0, base)).1;
        for (gi, (_, bars)) in self.groups.iter().enumerate() {
            let center = chart.backend_coord(&(2 * gi as i32 + 1, base)).0;
            let x0 = center - width * bars.len() as i32 / 2;
            for (bi, (name, v)) in bars.iter().enumerate() {
                let v = *v as f64;
                let drawable = v.is_finite() && (!log || v > 0.0);
                let top = drawable.then(|| chart.backend_coord(&(0, v)).1);
                let bar = Bar {
                    x: x0 + bi as i32 * width,
                    width,
                    base: base_px,
                    top,
                };
                bar.draw(self.canvas, v, self.color_of[name.as_str()], size)?;
            }
        }
        if !log && chart.y_range().start < 0.0 {
            let (x_range, _) = chart.plotting_area().get_pixel_range();
            self.canvas.draw(&PathElement::new(
                vec![(x_range.start, base_px), (x_range.end, base_px)],
                AXIS,
            ))?;
        }
        Ok(())
    }

    /// The value labels' size: the larger one when every label fits its bar.
    fn value_label_size(&self, bar_width: i32) -> Result<f64, DrawError> {
        for (_, bars) in self.groups {
            for &(_, v) in bars {
                if text_width(self.canvas, &format_value(v as f64), VALUE_SIZES[0])? > bar_width + 6 {
                    return Ok(VALUE_SIZES[1]);
                }
            }
        }
        Ok(VALUE_SIZES[0])
    }
}

/// One bar in pixels: left edge, width, the y it grows from, and the y it reaches (`None`
/// when its value cannot be drawn on the axis).
struct Bar {
    x: i32,
    width: i32,
    base: i32,
    top: Option<i32>,
}

impl Bar {
    /// Draws the bar in `rgb` with the label of `v` beyond its end, or only a muted label at
    /// the base when it has no end.
    fn draw(&self, canvas: &Canvas, v: f64, rgb: [u8; 3], size: f64) -> Drawn {
        let center = self.x + self.width / 2;
        let label = format_value(v);
        let Some(y) = self.top else {
            let style = text_style(size, MUTED).pos(Pos::new(HPos::Center, VPos::Bottom));
            return canvas.draw_text(&label, &style, (center, self.base - 4));
        };
        let (y0, y1) = (y.min(self.base), y.max(self.base).max(y.min(self.base) + 1));
        // A one-pixel white seam keeps neighbouring bars apart.
        let seam = if self.width > 4 { 1 } else { 0 };
        let (x0, x1) = (self.x + seam, self.x + self.width - seam);
        canvas.draw(&Rectangle::new([(x0, y0), (x1, y1)], color(rgb).filled()))?;
        let (anchor, at) = if y <= self.base {
            (VPos::Bottom, y0 - 4)
        } else {
            (VPos::Top, y1 + 4)
        };
        let style = text_style(size, INK).pos(Pos::new(HPos::Center, anchor));
        canvas.draw_text(&label, &style, (center, at))
    }
}

#[cfg(test)]
mod tests {
    use super::{ValueAxis, YScale, decades, value_axis};

    #[test]
    fn log_axes_span_whole_decades() {
        assert_eq!(decades(3.0, 45000.0), [1.0, 10.0, 100.0, 1e3, 1e4, 1e5]);
        assert_eq!(decades(0.005, 0.5), [1e-3, 1e-2, 1e-1, 1.0]);
        // 12 is in the bottom third of its decade: the axis starts a decade lower.
        assert_eq!(decades(12.0, 20.0), [1.0, 10.0, 100.0]);
        let d = decades(100.0, 100.0);
        assert!(d[0] < 100.0 && d[d.len() - 1] >= 100.0);
        // More than eight decades get a tick every few, the top raised to a ticked one.
        let d = decades(1e-6, 1e9);
        assert!(
            d.len() <= 9 && d[0] == 1e-7 && d[1] == 1e-5 && d[d.len() - 1] >= 1e9,
            "{d:?}"
        );
    }

    #[test]
    fn auto_picks_log_only_for_far_apart_positive_values() {
        assert!(matches!(
            value_axis(&[12.0, 3000.0], YScale::Auto),
            ValueAxis::Log { .. }
        ));
        assert!(matches!(
            value_axis(&[10.0, 20.0], YScale::Auto),
            ValueAxis::Linear { .. }
        ));
        assert!(matches!(
            value_axis(&[-1.0, 3000.0], YScale::Auto),
            ValueAxis::Linear { .. }
        ));
        // A log axis cannot show a chart of zeros and negatives: it stays linear.
        assert!(matches!(
            value_axis(&[0.0, -3.0], YScale::Log),
            ValueAxis::Linear { .. }
        ));
        let ValueAxis::Linear { lo, hi } = value_axis(&[-5.0, 3.0], YScale::Linear) else {
            panic!("linear asked")
        };
        assert!(lo < -5.0 && hi > 3.0);
    }
}
