//! Charts as PNG files: each picture is decoded back with the `png` crate and checked for its
//! size and for the colours of its series and text where they belong.

use std::io::Cursor;
use std::path::PathBuf;

use super::{Image, Series, YScale, bar_chart, line_chart, series_color};

/// A PNG decoded back into RGB bytes.
struct Decoded {
    width: u32,
    height: u32,
    rgb: Vec<u8>,
}

impl Decoded {
    fn pixel(&self, x: u32, y: u32) -> [u8; 3] {
        let i = ((y * self.width + x) * 3) as usize;
        [self.rgb[i], self.rgb[i + 1], self.rgb[i + 2]]
    }

    /// Every (x, y) whose colour is exactly `color`.
    fn find(&self, color: [u8; 3]) -> Vec<(u32, u32)> {
        let mut hits = Vec::new();
        for y in 0..self.height {
            for x in 0..self.width {
                if self.pixel(x, y) == color {
                    hits.push((x, y));
                }
            }
        }
        hits
    }

    /// How many pixels in rows `y0..y1` are dark (text ink).
    fn dark_in_rows(&self, y0: u32, y1: u32) -> usize {
        (y0..y1)
            .flat_map(|y| (0..self.width).map(move |x| (x, y)))
            .filter(|&(x, y)| is_dark(self.pixel(x, y)))
            .count()
    }
}

fn is_dark(p: [u8; 3]) -> bool {
    p.iter().all(|&c| c < 100)
}

/// Encodes `img`, decodes it with the `png` crate, and checks it is 8-bit RGB matching `img`.
fn decode(img: &Image) -> Decoded {
    let bytes = img.to_png_bytes();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    let mut reader = png::Decoder::new(Cursor::new(&bytes[..]))
        .read_info()
        .expect("a PNG header");
    let mut rgb = vec![0; reader.output_buffer_size().expect("a sane size")];
    let info = reader.next_frame(&mut rgb).expect("PNG image data");
    assert_eq!(
        (info.color_type, info.bit_depth),
        (png::ColorType::Rgb, png::BitDepth::Eight)
    );
    rgb.truncate(info.buffer_size());
    let decoded = Decoded {
        width: info.width,
        height: info.height,
        rgb,
    };
    assert_eq!((decoded.width, decoded.height), (img.width(), img.height()));
    for (x, y) in [
        (0, 0),
        (img.width() / 2, img.height() / 3),
        (img.width() - 1, img.height() - 1),
    ] {
        assert_eq!(decoded.pixel(x, y), img.pixel(x, y));
    }
    decoded
}

fn mean_y(points: &[(u32, u32)]) -> f64 {
    points.iter().map(|&(_, y)| y as f64).sum::<f64>() / points.len() as f64
}

fn series(name: &str, values: &[f32]) -> Series {
    Series::new(name, values.to_vec())
}

fn history(epochs: usize) -> Vec<(String, Vec<Series>)> {
    let loss = |i: usize, off: f32| 0.7 * (-(i as f32) / 12.0).exp() + 0.05 + off;
    let acc = |i: usize, off: f32| 0.95 - 0.45 * (-(i as f32) / 9.0).exp() - off;
    vec![
        (
            "loss".into(),
            vec![
                Series::new("train", (0..epochs).map(|i| loss(i, 0.0)).collect()),
                Series::new("val", (0..epochs).map(|i| loss(i, 0.04 + i as f32 * 0.001)).collect()),
            ],
        ),
        (
            "accuracy".into(),
            vec![
                Series::new("train", (0..epochs).map(|i| acc(i, 0.0)).collect()),
                Series::new("val", (0..epochs).map(|i| acc(i, 0.03)).collect()),
            ],
        ),
    ]
}

fn samples_dir() -> PathBuf {
    let dir = std::env::temp_dir().join("wgtrain-plot-samples");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn rising_series_is_higher_on_the_right_and_falling_one_lower() {
    let values: Vec<f32> = (0..20).map(|i| i as f32 / 19.0).collect();
    let falling: Vec<f32> = values.iter().rev().copied().collect();
    let img = line_chart(
        "curves",
        "epoch",
        &[("metric".into(), vec![series("up", &values), series("down", &falling)])],
    );
    let d = decode(&img);
    assert_eq!((d.width, d.height), (900, 600));
    for (i, rising) in [(0, true), (1, false)] {
        let hits = d.find(series_color(i));
        // The legend swatch sits near the top centre: keep to the plot's outer thirds.
        let left: Vec<_> = hits.iter().copied().filter(|&(x, y)| x < 300 && y > 100).collect();
        let right: Vec<_> = hits.iter().copied().filter(|&(x, y)| x > 600 && y > 100).collect();
        assert!(
            left.len() > 50 && right.len() > 50,
            "series {i}: {} left, {} right",
            left.len(),
            right.len()
        );
        // Screen y grows downwards: higher on the screen is a smaller y.
        assert_eq!(mean_y(&right) < mean_y(&left) - 100.0, rising, "series {i}");
    }
}

#[test]
fn history_has_a_panel_per_metric_side_by_side() {
    let img = line_chart("fit history", "epoch", &history(40));
    let d = decode(&img);
    assert_eq!((d.width, d.height), (900, 600));
    for color in [series_color(0), series_color(1)] {
        let hits = d.find(color);
        assert!(
            hits.iter().filter(|p| p.0 < 450).count() > 100,
            "{color:?} missing from the left panel"
        );
        assert!(
            hits.iter().filter(|p| p.0 >= 450).count() > 100,
            "{color:?} missing from the right panel"
        );
    }
    img.write_png(&samples_dir().join("history.png")).unwrap();
}

#[test]
fn more_panels_make_a_taller_picture() {
    let mut panels = history(10);
    panels.extend(history(10));
    panels.push(("lr".into(), vec![series("lr", &[0.1, 0.05, 0.01])]));
    let img = line_chart("five", "epoch", &panels);
    img.write_png(&samples_dir().join("five-panels.png")).unwrap();
    let d = decode(&img);
    assert_eq!(d.width, 900);
    assert!(d.height > 1000, "{}", d.height);
    // The fifth panel, alone on the third row, still has its curve.
    assert!(d.find(series_color(0)).iter().any(|p| p.1 > 900));
}

#[test]
fn text_is_drawn_in_dark_pixels() {
    let titled = decode(&line_chart("Training: loss/accuracy (50%)", "epoch", &history(5)));
    let untitled = decode(&line_chart("", "epoch", &history(5)));
    assert!(
        titled.dark_in_rows(0, 45) > 200,
        "the title left {} dark pixels",
        titled.dark_in_rows(0, 45)
    );
    assert_eq!(untitled.dark_in_rows(0, 45), 0);

    // Every character of the bundled font's ASCII range has ink: each one alone as a title.
    for c in ('!'..='~').chain(['µ', '×', 'é', '…', '→', '≤']) {
        let ink = decode(&line_chart(&c.to_string(), "", &[])).dark_in_rows(0, 45);
        assert!(ink >= 4, "{c:?} drew {ink} dark pixels");
    }
    // A longer title draws more ink, and one too wide for the picture still fits in it.
    let short = decode(&line_chart("lo", "", &[])).dark_in_rows(0, 45);
    let long = decode(&line_chart("loss", "", &[])).dark_in_rows(0, 45);
    assert!(long > short, "{long} vs {short}");
    let wide = decode(&line_chart(&"wide title ".repeat(30), "", &[]));
    let inked: Vec<u32> = (0..900)
        .filter(|&x| (0..45).any(|y| is_dark(wide.pixel(x, y))))
        .collect();
    let (first, last) = (inked[0], inked[inked.len() - 1]);
    assert!(
        (10..100).contains(&first) && (801..890).contains(&last),
        "title ink spans {first}..{last}"
    );
    line_chart("Training: loss/accuracy (50%) µ×é…", "epoch", &history(5))
        .write_png(&samples_dir().join("font.png"))
        .unwrap();
}

#[test]
fn nan_and_infinite_values_are_skipped() {
    let values = [
        0.9,
        f32::NAN,
        0.7,
        0.6,
        f32::INFINITY,
        0.4,
        f32::NEG_INFINITY,
        0.2,
        f32::NAN,
    ];
    let all_nan = [f32::NAN; 6];
    let img = line_chart(
        "diverged",
        "epoch",
        &[("loss".into(), vec![series("train", &values), series("bad", &all_nan)])],
    );
    img.write_png(&samples_dir().join("nan.png")).unwrap();
    let d = decode(&img);
    assert!(d.find(series_color(0)).iter().filter(|p| p.1 > 100).count() > 50);
    let only_nan = line_chart("x", "epoch", &[("loss".into(), vec![series("bad", &all_nan)])]);
    decode(&only_nan);
    let bars = [(
        "w".to_string(),
        vec![("cpu".to_string(), f32::NAN), ("gpu".to_string(), f32::INFINITY)],
    )];
    decode(&bar_chart("nan bars", "samples/s", &bars, YScale::Linear));
    decode(&bar_chart("nan bars", "samples/s", &bars, YScale::Log));
}

#[test]
fn empty_inputs_give_valid_pictures() {
    for img in [
        line_chart("", "", &[]),
        line_chart("no panels", "epoch", &[]),
        line_chart("no series", "epoch", &[("loss".into(), vec![])]),
        line_chart("empty series", "epoch", &[("loss".into(), vec![series("train", &[])])]),
        bar_chart("", "", &[], YScale::Linear),
        bar_chart("empty group", "s", &[("w".into(), vec![])], YScale::Linear),
        bar_chart("all zero", "s", &[("w".into(), vec![("cpu".into(), 0.0)])], YScale::Log),
    ] {
        let d = decode(&img);
        assert!(d.width >= 300 && d.height >= 300);
    }
}

#[test]
fn one_epoch_and_flat_values_are_drawn() {
    let one = line_chart(
        "one epoch",
        "epoch",
        &[("loss".into(), vec![series("train", &[0.5]), series("val", &[])])],
    );
    one.write_png(&samples_dir().join("one-epoch.png")).unwrap();
    let one = decode(&one);
    let dot: Vec<_> = one.find(series_color(0)).into_iter().filter(|p| p.1 > 100).collect();
    assert!(dot.len() >= 9, "the single point drew {} pixels", dot.len());

    let flat = decode(&line_chart(
        "flat",
        "epoch",
        &[("accuracy".into(), vec![series("val", &[0.75; 12])])],
    ));
    let line: Vec<_> = flat.find(series_color(0)).into_iter().filter(|p| p.1 > 100).collect();
    let (x_min, x_max) = line.iter().fold((u32::MAX, 0), |(a, b), p| (a.min(p.0), b.max(p.0)));
    let (y_min, y_max) = line.iter().fold((u32::MAX, 0), |(a, b), p| (a.min(p.1), b.max(p.1)));
    assert!(x_max - x_min > 600, "a flat line spans the plot, got {x_min}..{x_max}");
    assert!(y_max - y_min <= 8, "a flat line stays flat, got {y_min}..{y_max}");
    // It sits mid-plot, not on the frame: the range was widened around the value.
    assert!(y_min > 200 && y_max < 450, "{y_min}..{y_max}");
}

#[test]
fn long_histories_are_drawn() {
    let values: Vec<f32> = (0..2000).map(|i| 1.0 / (1.0 + i as f32)).collect();
    let d = decode(&line_chart(
        "long",
        "epoch",
        &[("loss".into(), vec![series("train", &values)])],
    ));
    assert!(d.find(series_color(0)).len() > 500);
}

#[test]
fn bars_are_as_tall_as_their_values() {
    let groups = [
        (
            "mlp-small".to_string(),
            vec![("cpu".to_string(), 100.0), ("gpu".to_string(), 400.0)],
        ),
        (
            "mlp-large".to_string(),
            vec![("cpu".to_string(), 50.0), ("gpu".to_string(), 800.0)],
        ),
    ];
    let d = decode(&bar_chart("throughput", "samples/s", &groups, YScale::Linear));
    assert_eq!((d.width, d.height), (900, 600));
    let height_of = |color, left_half: bool| {
        let ys: Vec<u32> = d
            .find(color)
            .into_iter()
            .filter(|p| (p.0 < 450) == left_half && p.1 > 110)
            .map(|p| p.1)
            .collect();
        ys.iter().max().unwrap() - ys.iter().min().unwrap()
    };
    let (cpu, gpu) = (series_color(0), series_color(1));
    let (cpu_small, gpu_small) = (height_of(cpu, true) as f64, height_of(gpu, true) as f64);
    let (cpu_large, gpu_large) = (height_of(cpu, false) as f64, height_of(gpu, false) as f64);
    assert!((gpu_small / cpu_small - 4.0).abs() < 0.2, "{gpu_small} vs {cpu_small}");
    assert!((gpu_large / cpu_large - 16.0).abs() < 1.5, "{gpu_large} vs {cpu_large}");
    assert!(d.dark_in_rows(0, 45) > 100, "the title is missing");
    bar_chart("throughput", "samples/s", &groups, YScale::Linear)
        .write_png(&samples_dir().join("bars.png"))
        .unwrap();
}

#[test]
fn log_scale_shows_small_bars_next_to_large_ones() {
    let groups = [
        (
            "xor".to_string(),
            vec![("cpu".to_string(), 12.0), ("gpu".to_string(), 3000.0)],
        ),
        (
            "mnist".to_string(),
            vec![("cpu".to_string(), 150.0), ("gpu".to_string(), 42000.0)],
        ),
    ];
    let count = |img: &Image, color| decode(img).find(color).len();
    let linear = bar_chart("t", "samples/s", &groups, YScale::Linear);
    let log = bar_chart("t", "samples/s", &groups, YScale::Log);
    assert!(count(&log, series_color(0)) > 5 * count(&linear, series_color(0)));
    assert_eq!(bar_chart("t", "samples/s", &groups, YScale::Auto), log);
    let close = [(
        "w".to_string(),
        vec![("cpu".to_string(), 10.0), ("gpu".to_string(), 20.0)],
    )];
    assert_eq!(
        bar_chart("t", "s", &close, YScale::Auto),
        bar_chart("t", "s", &close, YScale::Linear)
    );
    log.write_png(&samples_dir().join("bars-log.png")).unwrap();
}

#[test]
fn negative_and_mixed_bars_do_not_panic() {
    let groups = [
        ("a".to_string(), vec![("x".to_string(), -5.0), ("y".to_string(), 3.0)]),
        ("b".to_string(), vec![("x".to_string(), 0.0)]),
        (
            "c with a long name that will not fit".to_string(),
            vec![("z".to_string(), 1e9)],
        ),
    ];
    let img = bar_chart("mixed", "delta", &groups, YScale::Linear);
    img.write_png(&samples_dir().join("bars-mixed.png")).unwrap();
    decode(&img);
    decode(&bar_chart("mixed", "delta", &groups, YScale::Log));
}

#[test]
fn write_png_is_atomic_and_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chart.png");
    let small = Image::new(10, 10, [1, 2, 3]);
    small.write_png(&path).unwrap();
    let big = line_chart("again", "epoch", &history(3));
    big.write_png(&path).unwrap();
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["chart.png"], "no temporary file is left behind");
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(bytes, big.to_png_bytes());

    let missing = dir.path().join("no-such-dir").join("chart.png");
    let err = big.write_png(&missing).unwrap_err();
    assert!(err.to_string().contains("no-such-dir"), "{err}");
    assert!(big.write_png(dir.path().join("..").as_path()).is_err());
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["chart.png"]);
}
