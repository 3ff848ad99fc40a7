//! The raster every chart is drawn on: 8-bit RGB, row-major, top-left origin, with the few
//! primitives the charts need. Lines and dots are anti-aliased by coverage: a pixel takes the
//! share of the colour that the shape covers of it, measured from the pixel's centre.

/// An 8-bit RGB picture, row-major from the top-left corner.
///
/// ```
/// use wgtrain::plot::Image;
///
/// let mut img = Image::new(40, 20, [255, 255, 255]);
/// img.fill_rect(0, 0, 10, 10, [200, 0, 0]);
/// assert_eq!((img.width(), img.height()), (40, 20));
/// assert_eq!(img.pixel(5, 5), [200, 0, 0]);
/// assert_eq!(img.pixel(15, 5), [255, 255, 255]);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Image {
    width: u32,
    height: u32,
    /// `width * height * 3` bytes, R G B per pixel.
    data: Vec<u8>,
}

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
        let i = self.index(x, y);
        [self.data[i], self.data[i + 1], self.data[i + 2]]
    }

    /// The raw RGB bytes, row-major.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.data
    }

    fn index(&self, x: u32, y: u32) -> usize {
        (y as usize * self.width as usize + x as usize) * 3
    }

    /// Mixes `color` into the pixel at (`x`, `y`) with weight `alpha` in 0..=1; outside the
    /// image nothing happens.
    pub(crate) fn blend(&mut self, x: i32, y: i32, color: [u8; 3], alpha: f32) {
        if x < 0 || y < 0 || x as u32 >= self.width || y as u32 >= self.height || alpha.is_nan() || alpha <= 0.0 {
            return;
        }
        let i = self.index(x as u32, y as u32);
        let a = alpha.min(1.0);
        for (k, &c) in color.iter().enumerate() {
            let old = self.data[i + k] as f32;
            self.data[i + k] = (old + (c as f32 - old) * a).round() as u8;
        }
    }

    /// Fills the `w`×`h` rectangle whose top-left corner is (`x`, `y`), clipped to the image.
    pub fn fill_rect(&mut self, x: i32, y: i32, w: i32, h: i32, color: [u8; 3]) {
        let x0 = x.max(0) as i64;
        let y0 = y.max(0) as i64;
        let x1 = (x as i64 + w as i64).min(self.width as i64);
        let y1 = (y as i64 + h as i64).min(self.height as i64);
        for row in y0..y1 {
            for col in x0..x1 {
                let i = self.index(col as u32, row as u32);
                self.data[i..i + 3].copy_from_slice(&color);
            }
        }
    }

    /// Strokes the polyline through `points` (pixel coordinates, centres at +0.5) with an
    /// anti-aliased pen `width` pixels wide and round joins; one point draws a dot.
    /// Non-finite points are skipped. Coverage is gathered into a mask first so that the
    /// overlap at a joint is not painted twice.
    pub(crate) fn stroke_polyline(&mut self, points: &[(f32, f32)], width: f32, color: [u8; 3]) {
        let pts: Vec<(f32, f32)> = points
            .iter()
            .copied()
            .filter(|(x, y)| x.is_finite() && y.is_finite())
            .collect();
        if pts.is_empty() {
            return;
        }
        let half = width.max(0.5) / 2.0;
        let reach = half + 1.0;
        let (img_w, img_h) = (self.width as f32, self.height as f32);
        let fold = |f: fn(f32, f32) -> f32, pick: fn(&(f32, f32)) -> f32| pts.iter().map(pick).reduce(f).unwrap_or(0.0);
        let bx0 = (fold(f32::min, |p| p.0) - reach).floor().clamp(0.0, img_w) as usize;
        let by0 = (fold(f32::min, |p| p.1) - reach).floor().clamp(0.0, img_h) as usize;
        let bx1 = (fold(f32::max, |p| p.0) + reach).ceil().clamp(0.0, img_w) as usize;
        let by1 = (fold(f32::max, |p| p.1) + reach).ceil().clamp(0.0, img_h) as usize;
        if bx1 <= bx0 || by1 <= by0 {
            return;
        }
        let bw = bx1 - bx0;
        let mut mask = vec![0f32; bw * (by1 - by0)];
        let segments: Vec<((f32, f32), (f32, f32))> = if pts.len() == 1 {
            vec![(pts[0], pts[0])]
        } else {
            pts.windows(2).map(|w| (w[0], w[1])).collect()
        };
        for (a, b) in segments {
            let sx0 = ((a.0.min(b.0) - reach).floor().max(bx0 as f32)) as usize;
            let sy0 = ((a.1.min(b.1) - reach).floor().max(by0 as f32)) as usize;
            let sx1 = ((a.0.max(b.0) + reach).ceil().min(bx1 as f32)) as usize;
            let sy1 = ((a.1.max(b.1) + reach).ceil().min(by1 as f32)) as usize;
            for y in sy0..sy1 {
                for x in sx0..sx1 {
                    let d = distance_to_segment((x as f32 + 0.5, y as f32 + 0.5), a, b);
                    let cover = (half + 0.5 - d).clamp(0.0, 1.0);
                    let m = &mut mask[(y - by0) * bw + (x - bx0)];
                    *m = m.max(cover);
                }
            }
        }
        for (i, &cover) in mask.iter().enumerate() {
            if cover > 0.0 {
                self.blend((bx0 + i % bw) as i32, (by0 + i / bw) as i32, color, cover);
            }
        }
    }

    /// Fills an anti-aliased disc of radius `r` centred on (`cx`, `cy`).
    pub(crate) fn fill_circle(&mut self, cx: f32, cy: f32, r: f32, color: [u8; 3]) {
        self.stroke_polyline(&[(cx, cy)], 2.0 * r, color);
    }
}

/// Euclidean distance from `p` to the segment `a`–`b` (a point when `a == b`).
fn distance_to_segment(p: (f32, f32), a: (f32, f32), b: (f32, f32)) -> f32 {
    let (abx, aby) = (b.0 - a.0, b.1 - a.1);
    let len2 = abx * abx + aby * aby;
    let t = if len2 > 0.0 {
        (((p.0 - a.0) * abx + (p.1 - a.1) * aby) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let (dx, dy) = (p.0 - (a.0 + t * abx), p.1 - (a.1 + t * aby));
    (dx * dx + dy * dy).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_has_a_solid_core_and_soft_edges() {
        let mut img = Image::new(20, 20, [255, 255, 255]);
        img.stroke_polyline(&[(2.0, 10.0), (18.0, 10.0)], 3.0, [0, 0, 0]);
        // Pixel row 9 has its centre at 9.5, half a pixel from the line: fully inside.
        assert_eq!(img.pixel(10, 9), [0, 0, 0]);
        assert_eq!(img.pixel(10, 10), [0, 0, 0]);
        // Row 11's centre is 1.5 away, at the pen's edge: partly covered.
        let edge = img.pixel(10, 11)[0];
        assert!(edge > 0 && edge < 255, "{edge}");
        assert_eq!(img.pixel(10, 14), [255, 255, 255]);
    }

    #[test]
    fn drawing_outside_is_clipped() {
        let mut img = Image::new(4, 4, [0, 0, 0]);
        img.fill_rect(-10, -10, 100, 11, [9, 9, 9]);
        img.stroke_polyline(&[(-50.0, -50.0), (50.0, 50.0), (f32::NAN, 1.0)], 2.0, [1, 2, 3]);
        img.fill_circle(1e9, -1e9, 3.0, [1, 1, 1]);
        assert_eq!(img.pixel(3, 0), [9, 9, 9]);
        assert_eq!(img.pixel(2, 2), [1, 2, 3]);
    }
}
