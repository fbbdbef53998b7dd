//! Images uploaded from the designer: checked (PNG, JPEG or WebP; size, dimensions, aspect),
//! then resized on the server to every size a wallet wants and encoded as PNG. Apple's
//! store-card sizes in points are @1x; @2x and @3x are two and three times as many pixels
//! (`apple-pkpass.md` §2.6): icon 29×29, logo at most 160×50, strip 375×144. Google's class
//! logo is a 660×660 square drawn in a circle (15 % margin kept clear), its hero 1032×336
//! (`google-wallet.md` §1.2).
//!
//! CPU work: callers run it on the blocking pool.

use std::io::Cursor;

use image::imageops::FilterType;
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits, RgbaImage};
use sha2::{Digest, Sha256};

/// Largest upload accepted.
pub const MAX_UPLOAD_BYTES: usize = 5 * 1024 * 1024;
/// Largest side of an upload in pixels: beyond it decoding would take too much memory.
const MAX_SIDE: u32 = 6000;

/// Where an image goes on the cards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    Logo,
    Icon,
    Strip,
    Hero,
}

/// What an upload for a slot must be: at least `min` pixels, width / height within `aspect`.
struct Rule {
    min: (u32, u32),
    aspect: (f64, f64),
}

/// The size of one image a slot makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Size {
    /// Cropped to fill exactly this many pixels.
    Exact(u32, u32),
    /// Scaled to fit within, keeping its proportions.
    Within(u32, u32),
    /// A square of this side with the image fitted in its middle 70 %.
    Square(u32),
}

impl Slot {
    pub const ALL: [Slot; 4] = [Slot::Logo, Slot::Icon, Slot::Strip, Slot::Hero];

    pub fn parse(s: &str) -> Option<Slot> {
        Slot::ALL.into_iter().find(|slot| slot.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Slot::Logo => "logo",
            Slot::Icon => "icon",
            Slot::Strip => "strip",
            Slot::Hero => "hero",
        }
    }

    fn rule(self) -> Rule {
        match self {
            Slot::Logo => Rule {
                min: (100, 50),
                aspect: (0.5, 10.0),
            },
            Slot::Icon => Rule {
                min: (87, 87),
                aspect: (0.5, 2.0),
            },
            Slot::Strip => Rule {
                min: (375, 100),
                aspect: (1.5, 6.0),
            },
            Slot::Hero => Rule {
                min: (516, 168),
                aspect: (1.5, 6.0),
            },
        }
    }

    /// Each image the slot makes: its path (in a pass, or `google/…`) and size.
    pub fn outputs(self) -> Vec<(String, Size)> {
        let apple = |name: &str, w: u32, h: u32, exact: bool| {
            [("", 1), ("@2x", 2), ("@3x", 3)].map(|(suffix, k)| {
                let size = match exact {
                    true => Size::Exact(w * k, h * k),
                    false => Size::Within(w * k, h * k),
                };
                (format!("{name}{suffix}.png"), size)
            })
        };
        match self {
            Slot::Logo => {
                let mut out = apple("logo", 160, 50, false).to_vec();
                out.push(("google/logo.png".into(), Size::Square(660)));
                out
            }
            Slot::Icon => apple("icon", 29, 29, true).to_vec(),
            Slot::Strip => apple("strip", 375, 144, true).to_vec(),
            Slot::Hero => vec![("google/hero.png".into(), Size::Exact(1032, 336))],
        }
    }
}

/// The size the image at `path` must have, if `path` is one a slot makes.
pub fn size_of_path(path: &str) -> Option<(Slot, Size)> {
    Slot::ALL.into_iter().find_map(|slot| {
        slot.outputs()
            .into_iter()
            .find(|(p, _)| p == path)
            .map(|(_, size)| (slot, size))
    })
}

impl Size {
    /// Whether an image of `w`×`h` pixels is of this size.
    pub fn fits(self, w: u32, h: u32) -> bool {
        match self {
            Size::Exact(ew, eh) => (w, h) == (ew, eh),
            Size::Within(mw, mh) => w <= mw && h <= mh && w > 0 && h > 0,
            Size::Square(side) => (w, h) == (side, side),
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum UploadError {
    #[error("the image is larger than {} MB", MAX_UPLOAD_BYTES / (1024 * 1024))]
    TooLarge,
    #[error("the file is not a PNG, JPEG or WebP image")]
    NotAnImage,
    #[error("the image is {0}×{1} px; at most {MAX_SIDE}×{MAX_SIDE} px are accepted")]
    TooManyPixels(u32, u32),
    #[error("a {slot} must be at least {min_w}×{min_h} px; this one is {w}×{h} px")]
    TooSmall {
        slot: &'static str,
        min_w: u32,
        min_h: u32,
        w: u32,
        h: u32,
    },
    #[error("a {slot} must be between {lo}:1 and {hi}:1 (width:height); this one is {w}×{h} px")]
    Aspect {
        slot: &'static str,
        lo: f64,
        hi: f64,
        w: u32,
        h: u32,
    },
}

impl UploadError {
    /// The error's code in the API's envelope.
    pub fn code(&self) -> &'static str {
        match self {
            UploadError::TooLarge => "image_too_large",
            UploadError::NotAnImage => "not_an_image",
            UploadError::TooManyPixels(..) => "image_too_large",
            UploadError::TooSmall { .. } => "image_too_small",
            UploadError::Aspect { .. } => "image_aspect",
        }
    }
}

/// One image made from an upload.
#[derive(Debug, Clone)]
pub struct Made {
    pub path: String,
    pub sha256: String,
    pub png: Vec<u8>,
    pub width: u32,
    pub height: u32,
}

/// Checks `bytes` as an upload for `slot` and makes every image of the slot from it.
pub fn process(slot: Slot, bytes: &[u8]) -> Result<Vec<Made>, UploadError> {
    if bytes.len() > MAX_UPLOAD_BYTES {
        return Err(UploadError::TooLarge);
    }
    let mut decoder = reader(bytes)?
        .into_decoder()
        .map_err(|_| UploadError::NotAnImage)?;
    // A phone's photo is stored as the camera held it; its EXIF orientation says how it is seen.
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let (w, h) = decoder.dimensions();
    let turned = matches!(
        orientation,
        Orientation::Rotate90
            | Orientation::Rotate270
            | Orientation::Rotate90FlipH
            | Orientation::Rotate270FlipH
    );
    let (w, h) = if turned { (h, w) } else { (w, h) };
    check(slot, w, h)?;
    let mut image = DynamicImage::from_decoder(decoder).map_err(|_| UploadError::NotAnImage)?;
    image.apply_orientation(orientation);
    Ok(slot
        .outputs()
        .into_iter()
        .map(|(path, size)| made(path, resized(&image, size)))
        .collect())
}

fn reader(bytes: &[u8]) -> Result<ImageReader<Cursor<&[u8]>>, UploadError> {
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|_| UploadError::NotAnImage)?;
    if !matches!(
        reader.format(),
        Some(ImageFormat::Png | ImageFormat::Jpeg | ImageFormat::WebP)
    ) {
        return Err(UploadError::NotAnImage);
    }
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(u64::from(MAX_SIDE) * u64::from(MAX_SIDE) * 4 + (16 << 20));
    reader.limits(limits);
    Ok(reader)
}

fn check(slot: Slot, w: u32, h: u32) -> Result<(), UploadError> {
    if w > MAX_SIDE || h > MAX_SIDE {
        return Err(UploadError::TooManyPixels(w, h));
    }
    let rule = slot.rule();
    if w < rule.min.0 || h < rule.min.1 {
        let (min_w, min_h) = rule.min;
        let slot = slot.as_str();
        return Err(UploadError::TooSmall {
            slot,
            min_w,
            min_h,
            w,
            h,
        });
    }
    let aspect = f64::from(w) / f64::from(h);
    if aspect < rule.aspect.0 || aspect > rule.aspect.1 {
        let (lo, hi) = rule.aspect;
        let slot = slot.as_str();
        return Err(UploadError::Aspect { slot, lo, hi, w, h });
    }
    Ok(())
}

fn resized(image: &DynamicImage, size: Size) -> RgbaImage {
    match size {
        Size::Exact(w, h) => image.resize_to_fill(w, h, FilterType::Lanczos3).to_rgba8(),
        Size::Within(w, h) => image.resize(w, h, FilterType::Lanczos3).to_rgba8(),
        Size::Square(side) => {
            let inner = side * 7 / 10;
            let fitted = image.resize(inner, inner, FilterType::Lanczos3).to_rgba8();
            let mut canvas = RgbaImage::new(side, side);
            let x = i64::from((side - fitted.width()) / 2);
            let y = i64::from((side - fitted.height()) / 2);
            image::imageops::overlay(&mut canvas, &fitted, x, y);
            canvas
        }
    }
}

fn made(path: String, image: RgbaImage) -> Made {
    let mut png = Vec::new();
    // Encoding an RGBA buffer as PNG into memory cannot fail.
    let _ = image.write_to(&mut Cursor::new(&mut png), ImageFormat::Png);
    Made {
        path,
        sha256: hex::encode(Sha256::digest(&png)),
        width: image.width(),
        height: image.height(),
        png,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(w: u32, h: u32) -> Vec<u8> {
        let image = RgbaImage::from_pixel(w, h, image::Rgba([200, 30, 30, 255]));
        let mut out = Vec::new();
        image
            .write_to(&mut Cursor::new(&mut out), ImageFormat::Png)
            .expect("png");
        out
    }

    #[test]
    fn a_logo_makes_three_apple_sizes_within_the_box_and_a_google_square() {
        let made = process(Slot::Logo, &png(600, 200)).expect("made");
        let sizes: Vec<(&str, u32, u32)> = made
            .iter()
            .map(|m| (m.path.as_str(), m.width, m.height))
            .collect();
        assert_eq!(
            sizes,
            [
                ("logo.png", 150, 50),
                ("logo@2x.png", 300, 100),
                ("logo@3x.png", 450, 150),
                ("google/logo.png", 660, 660),
            ]
        );
        for m in &made {
            let (_, size) = size_of_path(&m.path).expect("a known path");
            assert!(size.fits(m.width, m.height), "{}", m.path);
        }
    }

    #[test]
    fn icons_and_strips_are_cropped_to_their_exact_sizes() {
        let icons = process(Slot::Icon, &png(120, 100)).expect("icon");
        assert_eq!((icons[2].width, icons[2].height), (87, 87));
        let strips = process(Slot::Strip, &png(1200, 400)).expect("strip");
        assert_eq!((strips[0].width, strips[0].height), (375, 144));
        let hero = process(Slot::Hero, &png(2064, 672)).expect("hero");
        assert_eq!(
            (hero[0].path.as_str(), hero[0].width),
            ("google/hero.png", 1032)
        );
    }

    #[test]
    fn jpeg_and_webp_uploads_are_made_into_pngs() {
        let image = DynamicImage::ImageRgb8(image::RgbImage::from_pixel(
            300,
            100,
            image::Rgb([10, 120, 200]),
        ));
        for format in [ImageFormat::Jpeg, ImageFormat::WebP] {
            let mut bytes = Vec::new();
            image
                .write_to(&mut Cursor::new(&mut bytes), format)
                .expect("encodes");
            let made = process(Slot::Logo, &bytes).expect("made");
            assert!(made[0].png.starts_with(b"\x89PNG"), "{format:?}");
            assert_eq!((made[0].width, made[0].height), (150, 50), "{format:?}");
        }
    }

    #[test]
    fn bad_uploads_are_refused_with_the_reason() {
        assert_eq!(
            process(Slot::Logo, b"GIF89a not really").unwrap_err(),
            UploadError::NotAnImage
        );
        assert_eq!(
            process(Slot::Icon, &png(10, 10)).unwrap_err().code(),
            "image_too_small"
        );
        assert_eq!(
            process(Slot::Strip, &png(3000, 400)).unwrap_err().code(),
            "image_aspect"
        );
        let huge = vec![0u8; MAX_UPLOAD_BYTES + 1];
        assert_eq!(
            process(Slot::Logo, &huge).unwrap_err(),
            UploadError::TooLarge
        );
    }
}
