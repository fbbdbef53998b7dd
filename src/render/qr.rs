//! QR codes of enrollment links, as PNG (drawn with our own [`Raster`], so the heavy `image`
//! crate stays out) and as SVG (the `qrcode` crate's renderer, for print at any size).
//!
//! Error correction is level M (15 % of the code may be lost): a printed invite survives a
//! crease or a smudge, while a link of ~70 characters still fits a small, easily scanned code.

use qrcode::render::svg;
use qrcode::types::QrError;
use qrcode::{Color, EcLevel, QrCode};

use super::png::Raster;

/// Light modules the standard asks around a code, on every side, so scanners find its edge.
pub const QUIET_ZONE: u32 = 4;
/// The most pixels a module may take in a PNG: 32 px gives ~1.5k px for an invite link, enough
/// for a poster; more only costs memory.
pub const MAX_MODULE_PX: u32 = 32;

const DARK: [u8; 3] = [0, 0, 0];
const LIGHT: [u8; 3] = [255, 255, 255];

/// The code of `text` at error-correction level M, the smallest version that holds it.
/// Fails only when `text` is longer than the largest QR code holds (~2.3 kB at level M).
pub fn qr_code(text: &str) -> Result<QrCode, QrError> {
    QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M)
}

/// A PNG of `text`'s QR code, black on white, `module_px` pixels a module (clamped to
/// 1..=[`MAX_MODULE_PX`]) with a quiet zone of [`QUIET_ZONE`] modules: `(modules + 8) ×
/// module_px` pixels square. CPU work: call it on the blocking pool.
pub fn qr_png(text: &str, module_px: u32) -> Result<Vec<u8>, QrError> {
    let code = qr_code(text)?;
    let px = module_px.clamp(1, MAX_MODULE_PX);
    // The width of a QR code is at most 177 modules, so this cannot overflow.
    let modules = u32::try_from(code.width()).map_err(|_| QrError::DataTooLong)?;
    let side = (modules + 2 * QUIET_ZONE) * px;
    let mut raster = Raster::filled(side, side, LIGHT);
    for (i, color) in code.to_colors().into_iter().enumerate() {
        if color != Color::Dark {
            continue;
        }
        let (mx, my) = (i as u32 % modules, i as u32 / modules);
        let (left, top) = ((mx + QUIET_ZONE) * px, (my + QUIET_ZONE) * px);
        for y in top..top + px {
            for x in left..left + px {
                raster.blend(x, y, DARK, 1.0);
            }
        }
    }
    Ok(raster.encode())
}

/// An SVG document of `text`'s QR code, black on white with the quiet zone; it scales without
/// loss, for printing.
pub fn qr_svg(text: &str) -> Result<String, QrError> {
    Ok(qr_code(text)?
        .render::<svg::Color<'_>>()
        .quiet_zone(true)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .build())
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINK: &str = "https://cards.example/join/3q2-_AbCdEfGhIjKlMnOpQrStUvW";

    /// Decodes a PNG into (width, height, RGB pixels).
    fn decode(png_bytes: &[u8]) -> (u32, u32, Vec<u8>) {
        let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
        let mut reader = decoder.read_info().expect("a PNG");
        let mut buf = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buf).expect("a frame");
        assert_eq!(info.color_type, png::ColorType::Rgb);
        (info.width, info.height, buf)
    }

    #[test]
    fn the_png_is_the_code_with_a_quiet_zone_of_four_modules() {
        let modules = qr_code(LINK).expect("fits").width() as u32;
        let px = 5;
        let (w, h, pixels) = decode(&qr_png(LINK, px).expect("fits"));
        assert_eq!((w, h), ((modules + 8) * px, (modules + 8) * px));
        let at = |mx: u32, my: u32| {
            // The centre pixel of module (mx, my), counted from the image's corner.
            let (x, y) = (mx * px + px / 2, my * px + px / 2);
            let i = ((y * w + x) * 3) as usize;
            [pixels[i], pixels[i + 1], pixels[i + 2]]
        };
        // The quiet zone is white all round.
        for m in 0..modules + 8 {
            for edge in [0, 3, modules + 4, modules + 7] {
                assert_eq!(at(m, edge), LIGHT, "row {edge}, module {m}");
                assert_eq!(at(edge, m), LIGHT, "column {edge}, module {m}");
            }
        }
        // The three finder patterns: a dark 7×7 ring, a light ring inside it, a dark 3×3 core.
        let last = modules + 4 - 7;
        for (cx, cy) in [(4, 4), (last, 4), (4, last)] {
            assert_eq!(at(cx, cy), DARK, "finder corner at {cx},{cy}");
            assert_eq!(at(cx + 6, cy + 6), DARK);
            assert_eq!(at(cx + 1, cy + 1), LIGHT);
            assert_eq!(at(cx + 3, cy + 3), DARK, "finder core");
        }
        // The separators: the light module row just inside the quiet zone beside each finder.
        assert_eq!(at(4 + 7, 4), LIGHT);
        assert_eq!(at(last - 1, 4), LIGHT);
        assert_eq!(at(4, last - 1), LIGHT);
    }

    #[test]
    fn module_sizes_are_clamped_to_sane_bounds() {
        let modules = qr_code(LINK).expect("fits").width() as u32;
        let (w, _, _) = decode(&qr_png(LINK, 0).expect("fits"));
        assert_eq!(w, modules + 8);
        let (w, _, _) = decode(&qr_png(LINK, 10_000).expect("fits"));
        assert_eq!(w, (modules + 8) * MAX_MODULE_PX);
    }

    #[test]
    fn codes_use_error_correction_level_m() {
        let code = qr_code(LINK).expect("fits");
        assert_eq!(code.error_correction_level(), EcLevel::M);
        // A link of this length fits a small code (version 4 is 33 modules across).
        assert!(code.width() <= 37, "width {}", code.width());
    }

    #[test]
    fn the_svg_is_one_well_formed_document_with_the_quiet_zone() {
        let modules = qr_code(LINK).expect("fits").width();
        let svg = qr_svg(LINK).expect("fits");
        assert!(svg.starts_with("<?xml"), "{svg}");
        assert!(svg.contains("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("<svg").count(), 1);
        // Eight pixels a module by default, quiet zone included.
        let side = (modules + 8) * 8;
        assert!(
            svg.contains(&format!("viewBox=\"0 0 {side} {side}\"")),
            "{svg}"
        );
        assert!(svg.contains("fill=\"#000000\"") && svg.contains("fill=\"#ffffff\""));
    }

    #[test]
    fn text_too_long_for_any_code_is_an_error_not_a_panic() {
        let long = "x".repeat(5_000);
        assert!(qr_png(&long, 4).is_err());
        assert!(qr_svg(&long).is_err());
    }
}
