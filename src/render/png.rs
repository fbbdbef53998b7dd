//! Encoding an RGB raster as PNG.

/// An RGB image, row by row, 3 bytes a pixel.
pub struct Raster {
    pub width: u32,
    pub height: u32,
    pub pixels: Vec<u8>,
}

impl Raster {
    /// A `width` × `height` image filled with `rgb`.
    pub fn filled(width: u32, height: u32, rgb: [u8; 3]) -> Self {
        let n = width as usize * height as usize;
        let mut pixels = Vec::with_capacity(n * 3);
        for _ in 0..n {
            pixels.extend_from_slice(&rgb);
        }
        Raster {
            width,
            height,
            pixels,
        }
    }

    /// Mixes `rgb` into pixel (x, y) with `coverage` in 0..=1.
    pub fn blend(&mut self, x: u32, y: u32, rgb: [u8; 3], coverage: f32) {
        if x >= self.width || y >= self.height || coverage <= 0.0 {
            return;
        }
        let at = (y as usize * self.width as usize + x as usize) * 3;
        let a = coverage.min(1.0);
        for (dst, src) in self.pixels[at..at + 3].iter_mut().zip(rgb) {
            let mixed = f32::from(*dst) * (1.0 - a) + f32::from(src) * a;
            *dst = mixed.round().clamp(0.0, 255.0) as u8;
        }
    }

    /// The image as a PNG file.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let mut encoder = png::Encoder::new(&mut out, self.width, self.height);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        encoder.set_compression(png::Compression::Fast);
        // Writing to a Vec fails only on a size mismatch, which `Raster` rules out.
        let written = encoder
            .write_header()
            .and_then(|mut writer| writer.write_image_data(&self.pixels));
        debug_assert!(written.is_ok(), "{written:?}");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_encoded_raster_decodes_to_the_same_pixels() {
        let mut raster = Raster::filled(4, 3, [10, 20, 30]);
        raster.blend(1, 2, [250, 250, 250], 1.0);
        raster.blend(2, 2, [250, 250, 250], 0.5);
        let png = raster.encode();
        let decoder = png::Decoder::new(std::io::Cursor::new(png));
        let mut reader = decoder.read_info().expect("a PNG");
        let mut buf = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buf).expect("a frame");
        assert_eq!((info.width, info.height), (4, 3));
        let px = |x: usize, y: usize| &buf[(y * 4 + x) * 3..(y * 4 + x) * 3 + 3];
        assert_eq!(px(0, 0), [10, 20, 30]);
        assert_eq!(px(1, 2), [250, 250, 250]);
        assert_eq!(px(2, 2), [130, 135, 140]);
    }
}
