//! The stamp grid: a stamp card's hero image, one circle per stamp the reward needs, filled
//! for the stamps on the card. Drawn at Google Wallet's hero size (1032 × 336) in the
//! program's colours; everything it shows is in its file name, so the name is its content.

use super::contrasting;
use super::png::Raster;
use crate::domain::model::Color;

/// Google's recommended hero image size.
pub const WIDTH: u32 = 1032;
pub const HEIGHT: u32 = 336;
/// Most stamps a program may require (the rules allow 2..=50).
pub const MAX_STAMPS: u32 = 50;
/// Bumped whenever the drawing changes, so cached images under old names are not reused.
const DRAWING: &str = "v1";

/// What one stamp grid shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grid {
    pub on_card: u32,
    pub required: u32,
    pub background: Color,
    pub foreground: Color,
}

impl Grid {
    /// A grid in the program's colours (defaults: dark blue with white stamps).
    pub fn new(
        on_card: u32,
        required: u32,
        background: Option<Color>,
        foreground: Option<Color>,
    ) -> Self {
        let background = background.unwrap_or(Color(0x16, 0x34, 0x5c));
        let required = required.clamp(1, MAX_STAMPS);
        Grid {
            on_card: on_card.min(required),
            required,
            background,
            foreground: foreground.unwrap_or_else(|| contrasting(background)),
        }
    }

    /// `stamps-v1-7-10-16345c-ffffff.png`: stamps on the card, stamps required, background
    /// and stamp colour.
    pub fn file_name(&self) -> String {
        let hex = |c: Color| format!("{:02x}{:02x}{:02x}", c.0, c.1, c.2);
        format!(
            "stamps-{DRAWING}-{}-{}-{}-{}.png",
            self.on_card,
            self.required,
            hex(self.background),
            hex(self.foreground)
        )
    }

    /// The grid a file name names, or `None` when it names none (or one out of range).
    pub fn parse(file_name: &str) -> Option<Self> {
        let rest = file_name
            .strip_prefix("stamps-")?
            .strip_prefix(DRAWING)?
            .strip_prefix('-')?
            .strip_suffix(".png")?;
        let parts: Vec<&str> = rest.split('-').collect();
        let [on, required, bg, fg] = parts[..] else {
            return None;
        };
        let number = |s: &str| {
            (s.len() <= 2 && s.bytes().all(|b| b.is_ascii_digit()))
                .then(|| s.parse::<u32>().ok())
                .flatten()
        };
        let color = |s: &str| {
            (s.len() == 6 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
                .then(|| Color::parse(&format!("#{s}")))
                .flatten()
        };
        let (on_card, required) = (number(on)?, number(required)?);
        if required == 0 || required > MAX_STAMPS || on_card > required {
            return None;
        }
        let grid = Grid {
            on_card,
            required,
            background: color(bg)?,
            foreground: color(fg)?,
        };
        // One name per drawing: no second spelling of the same grid.
        (grid.file_name() == file_name).then_some(grid)
    }

    /// The grid as a PNG.
    pub fn draw(&self) -> Vec<u8> {
        let Color(r, g, b) = self.background;
        let mut raster = Raster::filled(WIDTH, HEIGHT, [r, g, b]);
        let fg = [self.foreground.0, self.foreground.1, self.foreground.2];
        let (columns, rows) = layout(self.required);
        let cell = (f64::from(WIDTH) / f64::from(columns)).min(f64::from(HEIGHT) / f64::from(rows));
        let radius = cell * 0.38;
        let ring = (radius * 0.14).max(2.0);
        let left = (f64::from(WIDTH) - cell * f64::from(columns)) / 2.0;
        let top = (f64::from(HEIGHT) - cell * f64::from(rows)) / 2.0;
        for i in 0..self.required {
            let (column, row) = (i % columns, i / columns);
            let cx = left + cell * (f64::from(column) + 0.5);
            let cy = top + cell * (f64::from(row) + 0.5);
            let filled = i < self.on_card;
            let x0 = (cx - radius - 1.0).floor().max(0.0) as u32;
            let y0 = (cy - radius - 1.0).floor().max(0.0) as u32;
            let x1 = (cx + radius + 1.0).ceil() as u32;
            let y1 = (cy + radius + 1.0).ceil() as u32;
            for y in y0..=y1 {
                for x in x0..=x1 {
                    let d = ((f64::from(x) + 0.5 - cx).powi(2) + (f64::from(y) + 0.5 - cy).powi(2))
                        .sqrt();
                    // Coverage by a one-pixel ramp at each edge (anti-aliasing).
                    let outside = (d - radius + 0.5).clamp(0.0, 1.0);
                    let inside_ring = (radius - ring - d + 0.5).clamp(0.0, 1.0);
                    let coverage = if filled {
                        1.0 - outside
                    } else {
                        (1.0 - outside - inside_ring).max(0.0)
                    };
                    raster.blend(x, y, fg, coverage as f32);
                }
            }
        }
        raster.encode()
    }
}

/// Columns and rows for `n` stamps: one row up to 10, then rows of up to 10 (at most 5 rows).
fn layout(n: u32) -> (u32, u32) {
    let rows = n.div_ceil(10).max(1);
    (n.div_ceil(rows), rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(png: &[u8]) -> (u32, u32, Vec<u8>) {
        let decoder = png::Decoder::new(std::io::Cursor::new(png));
        let mut reader = decoder.read_info().expect("a PNG");
        let mut buf = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buf).expect("a frame");
        (info.width, info.height, buf)
    }

    #[test]
    fn a_grid_round_trips_through_its_file_name() {
        let grid = Grid::new(7, 10, Color::parse("#16345c"), None);
        assert_eq!(grid.file_name(), "stamps-v1-7-10-16345c-ffffff.png");
        assert_eq!(Grid::parse(&grid.file_name()), Some(grid));
        for bad in [
            "stamps-v1-11-10-16345c-ffffff.png",
            "stamps-v1-1-51-16345c-ffffff.png",
            "stamps-v1-1-0-16345c-ffffff.png",
            "stamps-v1-07-10-16345c-ffffff.png",
            "stamps-v1-7-10-16345C-ffffff.png",
            "stamps-v0-7-10-16345c-ffffff.png",
            "stamps-v1-7-10-16345c.png",
            "stamps-v1-7-10-16345c-ffffff.gif",
            "logo.png",
        ] {
            assert_eq!(Grid::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn collected_stamps_are_filled_and_the_rest_are_rings() {
        let grid = Grid::new(1, 2, Color::parse("#000000"), Color::parse("#ffffff"));
        let (w, h, px) = decode(&grid.draw());
        assert_eq!((w, h), (WIDTH, HEIGHT));
        let at = |x: u32, y: u32| px[((y * w + x) * 3) as usize];
        let (columns, rows) = layout(2);
        assert_eq!((columns, rows), (2, 1));
        // Two cells of 336 px centred: the first stamp's centre is white (filled), the
        // second's black (a ring), and both rings' edges white.
        let cell = 336;
        let left = (WIDTH - 2 * cell) / 2;
        let (c1, c2, cy) = (left + cell / 2, left + cell + cell / 2, HEIGHT / 2);
        assert_eq!(at(c1, cy), 255, "collected stamp filled");
        assert_eq!(at(c2, cy), 0, "missing stamp hollow");
        let r = (f64::from(cell) * 0.38) as u32;
        assert_eq!(at(c2 + r - 4, cy), 255, "ring drawn");
        assert_eq!(at(5, 5), 0, "background");
    }

    #[test]
    fn many_stamps_wrap_into_rows() {
        assert_eq!(layout(10), (10, 1));
        assert_eq!(layout(12), (6, 2));
        assert_eq!(layout(50), (10, 5));
    }
}
