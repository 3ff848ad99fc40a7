//! wgtrain's own bitmap font: 5 columns by 9 rows per glyph, drawn for this crate as text
//! art so it can be read and edited in place, and drawn at any integer scale.
//!
//! Rows 0–6 hold capitals and digits (the baseline sits under row 6), rows 7–8 the
//! descenders of `g j p q y , _`; lowercase letters are 5 rows high (rows 2–6). The font is
//! proportional: a glyph is as wide as its inked columns, plus one column of spacing, so
//! `i`, `1` and `.` do not leave holes in a label. Characters without a glyph draw as `?`.

use super::canvas::Image;

/// Rows above the baseline: the height of a capital or a digit.
const CAP_ROWS: i32 = 7;
/// Width of a space, in font pixels.
const SPACE_COLUMNS: i32 = 3;

/// The glyphs: `#` is ink, `.` is paper. Rows not listed (the descender rows of most
/// glyphs) are paper.
#[rustfmt::skip]
static GLYPHS: &[(char, &[&str])] = &[
    ('0', &[".###.", "#...#", "#..##", "#.#.#", "##..#", "#...#", ".###."]),
    ('1', &["..#..", ".##..", "..#..", "..#..", "..#..", "..#..", ".###."]),
    ('2', &[".###.", "#...#", "....#", "...#.", "..#..", ".#...", "#####"]),
    ('3', &["#####", "...#.", "..#..", "...#.", "....#", "#...#", ".###."]),
    ('4', &["...#.", "..##.", ".#.#.", "#..#.", "#####", "...#.", "...#."]),
    ('5', &["#####", "#....", "####.", "....#", "....#", "#...#", ".###."]),
    ('6', &["..##.", ".#...", "#....", "####.", "#...#", "#...#", ".###."]),
    ('7', &["#####", "....#", "...#.", "..#..", ".#...", ".#...", ".#..."]),
    ('8', &[".###.", "#...#", "#...#", ".###.", "#...#", "#...#", ".###."]),
    ('9', &[".###.", "#...#", "#...#", ".####", "....#", "...#.", ".##.."]),
    ('A', &[".###.", "#...#", "#...#", "#####", "#...#", "#...#", "#...#"]),
    ('B', &["####.", "#...#", "#...#", "####.", "#...#", "#...#", "####."]),
    ('C', &[".###.", "#...#", "#....", "#....", "#....", "#...#", ".###."]),
    ('D', &["####.", "#...#", "#...#", "#...#", "#...#", "#...#", "####."]),
    ('E', &["#####", "#....", "#....", "####.", "#....", "#....", "#####"]),
    ('F', &["#####", "#....", "#....", "####.", "#....", "#....", "#...."]),
    ('G', &[".###.", "#...#", "#....", "#.###", "#...#", "#...#", ".####"]),
    ('H', &["#...#", "#...#", "#...#", "#####", "#...#", "#...#", "#...#"]),
    ('I', &[".###.", "..#..", "..#..", "..#..", "..#..", "..#..", ".###."]),
    ('J', &["..###", "...#.", "...#.", "...#.", "...#.", "#..#.", ".##.."]),
    ('K', &["#...#", "#..#.", "#.#..", "##...", "#.#..", "#..#.", "#...#"]),
    ('L', &["#....", "#....", "#....", "#....", "#....", "#....", "#####"]),
    ('M', &["#...#", "##.##", "#.#.#", "#.#.#", "#...#", "#...#", "#...#"]),
    ('N', &["#...#", "#...#", "##..#", "#.#.#", "#..##", "#...#", "#...#"]),
    ('O', &[".###.", "#...#", "#...#", "#...#", "#...#", "#...#", ".###."]),
    ('P', &["####.", "#...#", "#...#", "####.", "#....", "#....", "#...."]),
    ('Q', &[".###.", "#...#", "#...#", "#...#", "#.#.#", "#..#.", ".##.#"]),
    ('R', &["####.", "#...#", "#...#", "####.", "#.#..", "#..#.", "#...#"]),
    ('S', &[".####", "#....", "#....", ".###.", "....#", "....#", "####."]),
    ('T', &["#####", "..#..", "..#..", "..#..", "..#..", "..#..", "..#.."]),
    ('U', &["#...#", "#...#", "#...#", "#...#", "#...#", "#...#", ".###."]),
    ('V', &["#...#", "#...#", "#...#", "#...#", "#...#", ".#.#.", "..#.."]),
    ('W', &["#...#", "#...#", "#...#", "#.#.#", "#.#.#", "#.#.#", ".#.#."]),
    ('X', &["#...#", "#...#", ".#.#.", "..#..", ".#.#.", "#...#", "#...#"]),
    ('Y', &["#...#", "#...#", ".#.#.", "..#..", "..#..", "..#..", "..#.."]),
    ('Z', &["#####", "....#", "...#.", "..#..", ".#...", "#....", "#####"]),
    ('a', &[".....", ".....", ".###.", "....#", ".####", "#...#", ".####"]),
    ('b', &["#....", "#....", "####.", "#...#", "#...#", "#...#", "####."]),
    ('c', &[".....", ".....", ".###.", "#....", "#....", "#...#", ".###."]),
    ('d', &["....#", "....#", ".####", "#...#", "#...#", "#...#", ".####"]),
    ('e', &[".....", ".....", ".###.", "#...#", "#####", "#....", ".###."]),
    ('f', &["..##.", ".#..#", ".#...", "###..", ".#...", ".#...", ".#..."]),
    ('g', &[".....", ".....", ".####", "#...#", "#...#", "#...#", ".####", "....#", ".###."]),
    ('h', &["#....", "#....", "####.", "#...#", "#...#", "#...#", "#...#"]),
    ('i', &["..#..", ".....", ".##..", "..#..", "..#..", "..#..", ".###."]),
    ('j', &["...#.", ".....", "..##.", "...#.", "...#.", "...#.", "...#.", "#..#.", ".##.."]),
    ('k', &["#....", "#....", "#..#.", "#.#..", "##...", "#.#..", "#..#."]),
    ('l', &[".##..", "..#..", "..#..", "..#..", "..#..", "..#..", ".###."]),
    ('m', &[".....", ".....", "##.#.", "#.#.#", "#.#.#", "#.#.#", "#.#.#"]),
    ('n', &[".....", ".....", "#.##.", "##..#", "#...#", "#...#", "#...#"]),
    ('o', &[".....", ".....", ".###.", "#...#", "#...#", "#...#", ".###."]),
    ('p', &[".....", ".....", "####.", "#...#", "#...#", "#...#", "####.", "#....", "#...."]),
    ('q', &[".....", ".....", ".####", "#...#", "#...#", "#...#", ".####", "....#", "....#"]),
    ('r', &[".....", ".....", "#.##.", "##..#", "#....", "#....", "#...."]),
    ('s', &[".....", ".....", ".####", "#....", ".###.", "....#", "####."]),
    ('t', &[".#...", ".#...", "####.", ".#...", ".#...", ".#..#", "..##."]),
    ('u', &[".....", ".....", "#...#", "#...#", "#...#", "#..##", ".##.#"]),
    ('v', &[".....", ".....", "#...#", "#...#", "#...#", ".#.#.", "..#.."]),
    ('w', &[".....", ".....", "#...#", "#...#", "#.#.#", "#.#.#", ".#.#."]),
    ('x', &[".....", ".....", "#...#", ".#.#.", "..#..", ".#.#.", "#...#"]),
    ('y', &[".....", ".....", "#...#", "#...#", "#...#", "#...#", ".####", "....#", ".###."]),
    ('z', &[".....", ".....", "#####", "...#.", "..#..", ".#...", "#####"]),
    ('.', &[".....", ".....", ".....", ".....", ".....", "##...", "##..."]),
    (',', &[".....", ".....", ".....", ".....", ".....", ".##..", ".##..", "..#..", ".#..."]),
    ('-', &[".....", ".....", ".....", "####.", ".....", ".....", "....."]),
    ('+', &[".....", "..#..", "..#..", "#####", "..#..", "..#..", "....."]),
    (':', &[".....", "##...", "##...", ".....", ".....", "##...", "##..."]),
    ('/', &["....#", "....#", "...#.", "..#..", ".#...", "#....", "#...."]),
    ('%', &["##..#", "##..#", "...#.", "..#..", ".#...", "#..##", "#..##"]),
    ('(', &["..#..", ".#...", "#....", "#....", "#....", ".#...", "..#.."]),
    (')', &["#....", ".#...", "..#..", "..#..", "..#..", ".#...", "#...."]),
    ('_', &[".....", ".....", ".....", ".....", ".....", ".....", ".....", "#####", "....."]),
    ('=', &[".....", ".....", "#####", ".....", "#####", ".....", "....."]),
    ('?', &[".###.", "#...#", "....#", "...#.", "..#..", ".....", "..#.."]),
    ('!', &["#....", "#....", "#....", "#....", "#....", ".....", "#...."]),
    ('\'', &["#....", "#....", "#....", ".....", ".....", ".....", "....."]),
    ('*', &[".....", "#.#.#", ".###.", "#####", ".###.", "#.#.#", "....."]),
    ('[', &["###..", "#....", "#....", "#....", "#....", "#....", "###.."]),
    (']', &["###..", "..#..", "..#..", "..#..", "..#..", "..#..", "###.."]),
    ('<', &["...#.", "..#..", ".#...", "#....", ".#...", "..#..", "...#."]),
    ('>', &["#....", ".#...", "..#..", "...#.", "..#..", ".#...", "#...."]),
    ('#', &[".#.#.", ".#.#.", "#####", ".#.#.", "#####", ".#.#.", ".#.#."]),
];

/// One glyph with its inked column span.
struct Glyph {
    rows: &'static [&'static str],
    /// First inked column.
    left: i32,
    /// Inked columns (the advance is one more).
    width: i32,
}

fn glyph(c: char) -> Glyph {
    let rows = GLYPHS
        .iter()
        .find(|(g, _)| *g == c)
        .or_else(|| GLYPHS.iter().find(|(g, _)| *g == '?'))
        .map_or(&[][..], |(_, rows)| *rows);
    if c == ' ' {
        return Glyph {
            rows: &[],
            left: 0,
            width: SPACE_COLUMNS,
        };
    }
    let inked = |col: usize| rows.iter().any(|r| r.as_bytes().get(col) == Some(&b'#'));
    let cols = rows.iter().map(|r| r.len()).max().unwrap_or(0);
    let left = (0..cols).find(|&c| inked(c)).unwrap_or(0);
    let right = (0..cols).rev().find(|&c| inked(c)).unwrap_or(0);
    Glyph {
        rows,
        left: left as i32,
        width: (right + 1 - left) as i32,
    }
}

/// Width in pixels of `text` drawn at `scale` (no spacing after the last glyph).
pub fn text_width(text: &str, scale: u32) -> u32 {
    let columns: i32 = text.chars().map(|c| glyph(c).width + 1).sum();
    ((columns - 1).max(0) as u32) * scale.max(1)
}

/// Height of a capital at `scale`: what text is centred on.
pub(crate) fn cap_height(scale: u32) -> i32 {
    CAP_ROWS * scale.max(1) as i32
}

/// The largest scale from `preferred` down to 1 at which `text` fits in `max_width` pixels,
/// and the text itself, shortened with `..` when even scale 1 is too wide.
pub(crate) fn fit_text(text: &str, max_width: i32, preferred: u32) -> (String, u32) {
    for scale in (1..=preferred.max(1)).rev() {
        if text_width(text, scale) as i32 <= max_width {
            return (text.to_string(), scale);
        }
    }
    let mut chars: Vec<char> = text.chars().collect();
    while !chars.is_empty() {
        chars.pop();
        let shorter: String = chars.iter().collect::<String>() + "..";
        if text_width(&shorter, 1) as i32 <= max_width {
            return (shorter, 1);
        }
    }
    (String::new(), 1)
}

impl Image {
    /// Draws `text` with wgtrain's built-in bitmap font, its top-left corner (the top of a
    /// capital) at (`x`, `y`), each font pixel a `scale`×`scale` square. Pixels outside the
    /// image are clipped; characters without a glyph draw as `?`.
    pub fn draw_text(&mut self, x: i32, y: i32, text: &str, scale: u32, color: [u8; 3]) {
        let s = scale.max(1) as i32;
        let mut pen = x;
        for c in text.chars() {
            let g = glyph(c);
            for (row, bits) in g.rows.iter().enumerate() {
                for (col, b) in bits.bytes().enumerate() {
                    if b == b'#' {
                        let gx = pen + (col as i32 - g.left) * s;
                        self.fill_rect(gx, y + row as i32 * s, s, s, color);
                    }
                }
            }
            pen += (g.width + 1) * s;
        }
    }

    /// Draws `text` turned a quarter turn anticlockwise (read bottom to top), as a y-axis
    /// label: (`x`, `y`) is where the top of the first capital starts, at the bottom left.
    pub(crate) fn draw_text_up(&mut self, x: i32, y: i32, text: &str, scale: u32, color: [u8; 3]) {
        let s = scale.max(1) as i32;
        let mut pen = 0;
        for c in text.chars() {
            let g = glyph(c);
            for (row, bits) in g.rows.iter().enumerate() {
                for (col, b) in bits.bytes().enumerate() {
                    if b == b'#' {
                        let along = pen + (col as i32 - g.left) * s;
                        self.fill_rect(x + row as i32 * s, y - along - s, s, s, color);
                    }
                }
            }
            pen += (g.width + 1) * s;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glyph_art_is_well_formed() {
        for (c, rows) in GLYPHS {
            // Capitals' rows only, or the two descender rows as well.
            assert!(rows.len() == CAP_ROWS as usize || rows.len() == 9, "{c:?}");
            for r in *rows {
                assert_eq!(r.len(), 5, "glyph {c:?} row {r:?}");
                assert!(r.bytes().all(|b| b == b'#' || b == b'.'), "glyph {c:?} row {r:?}");
            }
            assert!(rows.iter().any(|r| r.contains('#')), "glyph {c:?} is blank");
        }
    }

    #[test]
    fn covers_the_promised_characters() {
        let promised = ('0'..='9')
            .chain('A'..='Z')
            .chain('a'..='z')
            .chain(".,-+:/%()_= ".chars());
        for c in promised {
            assert!(c == ' ' || GLYPHS.iter().any(|(g, _)| *g == c), "no glyph for {c:?}");
        }
    }

    #[test]
    fn widths_are_proportional() {
        assert_eq!(text_width("", 2), 0);
        assert_eq!(text_width("M", 1), 5);
        assert_eq!(text_width(".", 1), 2);
        assert_eq!(text_width("MM", 2), 22);
        assert!(text_width("ill", 1) < text_width("MMM", 1));
    }

    #[test]
    fn fit_text_shrinks_then_shortens() {
        assert_eq!(fit_text("abc", 1000, 3).1, 3);
        assert_eq!(fit_text("abc", text_width("abc", 1) as i32, 3).1, 1);
        let (short, scale) = fit_text("a very long label indeed", 40, 2);
        assert_eq!(scale, 1);
        assert!(short.ends_with("..") && text_width(&short, 1) <= 40, "{short}");
    }
}
