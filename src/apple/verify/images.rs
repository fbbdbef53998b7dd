//! Checklist rows I1–I2: pass images are real PNGs within Apple's size limits, and a store card
//! ships only the images its style displays.
//!
//! Dimensions come from the IHDR chunk, which the PNG format requires to come first, so no image
//! decoder (and none of its attack surface) is involved.

use super::Report;
use super::archive::Archive;

const PNG_SIGNATURE: &[u8; 8] = b"\x89PNG\r\n\x1a\n";

/// The images Wallet knows; `personalizationLogo` belongs to NFC personalization.
const KNOWN: [&str; 7] = [
    "icon",
    "logo",
    "strip",
    "thumbnail",
    "background",
    "footer",
    "personalizationLogo",
];
/// What a storeCard displays (plus the personalization logo, which only store cards use).
const STORE_CARD_IMAGES: [&str; 4] = ["icon", "logo", "strip", "personalizationLogo"];

/// A size rule in points, multiplied by the file's scale.
enum Limit {
    AtLeast(u32, u32),
    AtMost(u32, u32),
}

/// I1 then I2. Both W: Wallet scales or crops odd images and ignores unused ones.
pub(super) fn check(archive: &Archive, style: Option<&str>, report: &mut Report) {
    report.ran("I1");
    for entry in &archive.entries {
        let Some((base, scale)) = image_name(&entry.name) else {
            continue;
        };
        check_image(&entry.name, base, scale, &entry.data, style, report);
    }
    if style == Some("storeCard") {
        report.ran("I2");
        for name in archive.names() {
            let Some((base, _)) = image_name(name) else {
                continue;
            };
            if !STORE_CARD_IMAGES.contains(&base) {
                report.warn(
                    "I2",
                    format!(
                        "{name} is not displayed on a storeCard (only icon, logo and strip are)"
                    ),
                );
            }
        }
    }
}

/// Splits `de.lproj/strip@2x.png` into (`strip`, 2) for known image names at the root or in
/// one `.lproj` folder.
fn image_name(path: &str) -> Option<(&'static str, u32)> {
    let file = match path.split_once('/') {
        Some((dir, file)) if dir.ends_with(".lproj") && !file.contains('/') => file,
        Some(_) => return None,
        None => path,
    };
    let stem = file.strip_suffix(".png")?;
    let (base, scale) = match stem.rsplit_once('@') {
        Some((base, "2x")) => (base, 2),
        Some((base, "3x")) => (base, 3),
        Some(_) => return None,
        None => (stem, 1),
    };
    KNOWN.iter().find(|k| **k == base).map(|k| (*k, scale))
}

fn check_image(
    name: &str,
    base: &str,
    scale: u32,
    data: &[u8],
    style: Option<&str>,
    report: &mut Report,
) {
    let Some((width, height)) = png_size(data) else {
        return report.warn("I1", format!("{name} is not a PNG image"));
    };
    let problem = match limit_for(base, style) {
        Limit::AtLeast(w, h) if width < w * scale || height < h * scale => Some(format!(
            "smaller than the minimum {}x{} px",
            w * scale,
            h * scale
        )),
        Limit::AtMost(w, h) if width > w * scale || height > h * scale => Some(format!(
            "larger than the maximum {}x{} px",
            w * scale,
            h * scale
        )),
        _ => None,
    };
    if let Some(problem) = problem {
        report.warn(
            "I1",
            format!("{name} is {width}x{height} px, {problem} (@{scale}x)"),
        );
    }
}

/// Limits in points (help.passkit.com quoting Apple's archived guide). Strip height depends on
/// the style: 144 pt for store cards and coupons ("gift cards and coupons"), 98 pt for event
/// tickets, 123 pt otherwise; unknown style uses the most permissive 144.
fn limit_for(base: &str, style: Option<&str>) -> Limit {
    match base {
        "icon" => Limit::AtLeast(29, 29),
        "logo" => Limit::AtMost(160, 50),
        "strip" => Limit::AtMost(
            375,
            match style {
                Some("eventTicket") => 98,
                Some("boardingPass" | "generic") => 123,
                _ => 144,
            },
        ),
        "thumbnail" => Limit::AtMost(90, 90),
        "background" => Limit::AtMost(180, 220),
        "footer" => Limit::AtMost(286, 15),
        _ => Limit::AtMost(150, 40),
    }
}

/// Width and height from the IHDR chunk, or `None` if this is not a PNG.
fn png_size(data: &[u8]) -> Option<(u32, u32)> {
    if data.get(..8)? != PNG_SIGNATURE || data.get(12..16)? != b"IHDR" {
        return None;
    }
    let be32 = |at: usize| -> Option<u32> {
        Some(u32::from_be_bytes(data.get(at..at + 4)?.try_into().ok()?))
    };
    Some((be32(16)?, be32(20)?))
}
