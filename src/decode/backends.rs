//! The two pure-Rust QR backends, each adapted to the [`Decoder`] seam, and rxing's Aztec
//! reader (EU DCCs may be printed as Aztec codes).

use std::collections::HashSet;

use image::GrayImage;
use rxing::{BarcodeFormat, DecodeHints};

use super::Decoder;

/// rqrr: finds every grid in the frame; weak on blurred or tilted codes.
#[derive(Debug, Default, Clone, Copy)]
pub struct RqrrDecoder;

impl Decoder for RqrrDecoder {
    fn name(&self) -> &'static str {
        "rqrr"
    }

    fn decode(&self, frame: &GrayImage) -> Vec<String> {
        let (w, h) = (frame.width() as usize, frame.height() as usize);
        let mut prepared = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| frame.as_raw()[y * w + x]);
        prepared
            .detect_grids()
            .into_iter()
            .filter_map(|grid| grid.decode().ok().map(|(_, text)| text))
            .collect()
    }
}

/// rxing (a Rust port of ZXing), restricted to QR codes.
#[derive(Debug, Default, Clone, Copy)]
pub struct RxingDecoder {
    /// Also look for light-on-dark codes (phone screens in dark mode); costs a second pass.
    pub also_inverted: bool,
    /// TryHarder: rotate and search more thoroughly; slower, finds more.
    pub try_harder: bool,
    /// rxing's filtered reader: retries at several scales and binarisations; slowest.
    pub filtered: bool,
}

impl Decoder for RxingDecoder {
    fn name(&self) -> &'static str {
        match (self.filtered, self.try_harder) {
            (true, _) => "rxing-filtered",
            (false, true) => "rxing-tryharder",
            (false, false) => "rxing",
        }
    }

    fn decode(&self, frame: &GrayImage) -> Vec<String> {
        if frame.width() == 0 || frame.height() == 0 {
            return Vec::new();
        }
        let mut hints = DecodeHints {
            PossibleFormats: Some(HashSet::from([BarcodeFormat::QR_CODE])),
            TryHarder: Some(self.try_harder),
            AlsoInverted: Some(self.also_inverted),
            ..DecodeHints::default()
        };
        let (w, h) = (frame.width(), frame.height());
        let result = if self.filtered {
            rxing::helpers::detect_in_luma_filtered_with_hints(frame.as_raw().clone(), w, h, None, &mut hints)
        } else {
            rxing::helpers::detect_in_luma_slice_with_hints(frame.as_raw(), w, h, None, &mut hints)
        };
        result
            .map(|result| vec![result.getText().to_string()])
            .unwrap_or_default()
    }
}

/// rxing's Aztec reader. The EU DCC specification allows Aztec beside QR, so a still image
/// (`kiosk decode`, `kiosk scan`, the conformance pictures) is tried for one when it holds
/// no QR code. Not on the live path: it would cost every empty camera frame a second detector.
#[derive(Debug, Default, Clone, Copy)]
pub struct AztecDecoder;

impl Decoder for AztecDecoder {
    fn name(&self) -> &'static str {
        "rxing-aztec"
    }

    fn decode(&self, frame: &GrayImage) -> Vec<String> {
        if frame.width() == 0 || frame.height() == 0 {
            return Vec::new();
        }
        let mut hints = DecodeHints {
            PossibleFormats: Some(HashSet::from([BarcodeFormat::AZTEC])),
            TryHarder: Some(true),
            ..DecodeHints::default()
        };
        rxing::helpers::detect_in_luma_slice_with_hints(frame.as_raw(), frame.width(), frame.height(), None, &mut hints)
            .map(|result| vec![result.getText().to_string()])
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use rxing::Writer;

    use super::*;

    #[test]
    fn an_hc1_text_printed_as_aztec_is_read_live_and_on_stills() {
        let text = "HC1:NCFOXN%TS3DH3ZSUZK+.V0ETD%65NL-AH-R6IOO6+IDOEZ/18WAV$E3+3AT4V22F/8X*G3M9JUPY0BZW4:3AC*";
        let matrix = rxing::aztec::AztecWriter
            .encode(text, &BarcodeFormat::AZTEC, 0, 0)
            .unwrap();
        let (scale, quiet) = (6u32, 24u32);
        let size = |n: u32| n * scale + 2 * quiet;
        let image = GrayImage::from_fn(size(matrix.getWidth()), size(matrix.getHeight()), |x, y| {
            let inside = |v: u32, n: u32| v >= quiet && v < quiet + n * scale;
            let dark = inside(x, matrix.getWidth())
                && inside(y, matrix.getHeight())
                && matrix.get((x - quiet) / scale, (y - quiet) / scale);
            image::Luma([if dark { 0 } else { 255 }])
        });
        assert_eq!(
            super::super::Pipeline::thorough().decode(&image).texts,
            vec![text.to_string()]
        );
        // zxing-cpp reads Aztec in the same pass as QR: the camera reads a printed DCC too.
        assert_eq!(
            super::super::Pipeline::live().decode(&image).texts,
            vec![text.to_string()]
        );
        assert_eq!(
            super::super::ZxingDecoder::FAST.decode(&image),
            vec![text.to_string()],
            "by zxing-cpp, not by a slower stage"
        );
    }
}
