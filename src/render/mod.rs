//! Images the service draws itself and the public URLs they (and the designs' images) are
//! served at. Every URL names its content (a SHA-1, or the parameters that fully determine a
//! drawing), so a changed image gets a new URL: Google Wallet caches images by URL.

pub mod png;
pub mod qr;
pub mod stamps;

use crate::designs::Design;
use crate::domain::model::Color;

/// The public URL of the design image with SHA-1 `hash`.
pub fn image_url(public_url: &str, hash: &str) -> String {
    format!("{public_url}/images/{hash}.png")
}

/// The public URL of a design's largest logo (what a Google class shows: Google draws it as a
/// circle of 660 px), if the design has one.
pub fn logo_url(public_url: &str, design: &Design) -> Option<String> {
    ["logo@3x.png", "logo@2x.png", "logo.png"]
        .iter()
        .find_map(|path| design.image_hash(path))
        .map(|hash| image_url(public_url, hash))
}

/// The public URL of the stamp grid `grid` (see [`stamps::Grid::file_name`]).
pub fn stamp_grid_url(public_url: &str, grid: &stamps::Grid) -> String {
    format!("{public_url}/images/{}", grid.file_name())
}

/// White or near-black, whichever reads better on `background`.
pub fn contrasting(background: Color) -> Color {
    let Color(r, g, b) = background;
    let luma = 299 * u32::from(r) + 587 * u32::from(g) + 114 * u32::from(b);
    if luma > 150_000 {
        Color(0x1d, 0x1d, 0x1f)
    } else {
        Color(0xff, 0xff, 0xff)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_logo_url_names_the_largest_logo_by_its_content() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/pass_templates/default");
        let design = Design::load(std::path::Path::new(dir), "default".into()).expect("design");
        let hash = design.image_hash("logo@3x.png").expect("a logo@3x");
        assert_eq!(
            logo_url("https://cards.example", &design),
            Some(format!("https://cards.example/images/{hash}.png"))
        );
        let served = design.image(hash).expect("served by its hash");
        assert!(served.starts_with(b"\x89PNG"));
    }

    #[test]
    fn text_contrasts_with_its_background() {
        assert_eq!(contrasting(Color(0x16, 0x34, 0x5c)), Color(255, 255, 255));
        assert_eq!(
            contrasting(Color(0xf5, 0xf0, 0xe1)),
            Color(0x1d, 0x1d, 0x1f)
        );
    }
}
