//! The two pure-Rust QR backends, each adapted to the [`Decoder`] seam.

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
