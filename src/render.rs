//! Turns QR text into an image: printed passes, demo playlists and test fixtures.

use image::{GrayImage, Luma};
use qrcode::{Color, EcLevel, QrCode};

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("the text does not fit in a QR code ({0}); shorten the pass (fewer travel entries)")]
    TooLong(String),
    #[error("could not write {path}: {source}; check that the folder exists and is writable")]
    Write { path: String, source: image::ImageError },
}

/// Renders `text` as a black-on-white QR code, `module_px` pixels per module, with the
/// standard four-module quiet zone. Error correction level M: survives smudges on paper and
/// glare on screens without making the code much denser.
pub fn qr_image(text: &str, module_px: u32) -> Result<GrayImage, RenderError> {
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M)
        .map_err(|e| RenderError::TooLong(e.to_string()))?;
    let modules = code.width() as u32;
    let colors = code.to_colors();
    let quiet = 4;
    let side = (modules + 2 * quiet) * module_px;
    let mut img = GrayImage::from_pixel(side, side, Luma([255]));
    for (i, color) in colors.iter().enumerate() {
        if *color == Color::Dark {
            let (mx, my) = (i as u32 % modules, i as u32 / modules);
            for dy in 0..module_px {
                for dx in 0..module_px {
                    img.put_pixel((mx + quiet) * module_px + dx, (my + quiet) * module_px + dy, Luma([0]));
                }
            }
        }
    }
    Ok(img)
}

/// Writes the QR code for `text` as a PNG file.
pub fn write_qr_png(text: &str, path: &std::path::Path) -> Result<(), RenderError> {
    qr_image(text, 8)?.save(path).map_err(|source| RenderError::Write {
        path: path.display().to_string(),
        source,
    })
}
