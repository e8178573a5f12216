//! zxing-cpp 3.1 (C++, statically linked from the crate's bundled source) behind the
//! [`Decoder`] seam: the best open decoder, measured beside rxing and rqrr in
//! `benches/decoders.rs`. A C++ exception surfaces as an error (nothing read); a panic in the
//! wrapper is contained by [`super::guarded`] like any backend's. A crash inside the C++ code
//! itself is not: that would end the kiosk, which systemd's watchdog and Restart=always bring
//! back in seconds (packaging/kiosk/kiosk.service).

use image::GrayImage;
use zxingcpp::{BarcodeFormat, ImageFormat, ImageView};

use super::Decoder;

/// zxing-cpp restricted to QR codes (and Aztec: EU DCCs may be printed as either).
#[derive(Debug, Clone, Copy)]
pub struct ZxingDecoder {
    /// Its thorough search: more binarisations and finder-pattern passes.
    pub try_harder: bool,
    /// Also light-on-dark codes (a phone in dark mode).
    pub try_invert: bool,
    /// Also a downscaled copy of a large frame (finds big, blurred codes).
    pub try_downscale: bool,
    /// Also rotated by 90°: QR codes do not need it (their finder patterns are symmetric).
    pub try_rotate: bool,
}

impl Default for ZxingDecoder {
    /// What zxing-cpp does out of the box (its `ReaderOptions` defaults), QR and Aztec only.
    fn default() -> Self {
        ZxingDecoder {
            try_harder: true,
            try_invert: true,
            try_downscale: true,
            try_rotate: true,
        }
    }
}

impl ZxingDecoder {
    /// The quick configuration: one plain pass, for a live frame.
    pub const FAST: ZxingDecoder = ZxingDecoder {
        try_harder: false,
        try_invert: false,
        try_downscale: false,
        try_rotate: false,
    };

    fn reader(&self) -> zxingcpp::BarcodeReader {
        // A reader per call: its options object is a C++ pointer that is neither Send nor
        // Sync, and making one costs nothing next to a frame.
        zxingcpp::read()
            .formats([BarcodeFormat::QRCode, BarcodeFormat::Aztec])
            .try_harder(self.try_harder)
            .try_invert(self.try_invert)
            .try_downscale(self.try_downscale)
            .try_rotate(self.try_rotate)
    }

    /// Reads `frame`, and also says where it saw codes it could not read (zxing-cpp's
    /// `returnErrors`): the camera loop looks closer there on the next attempts.
    pub fn sight(&self, frame: &GrayImage) -> Sighting {
        let Ok(view) = ImageView::from_slice(frame.as_raw(), frame.width(), frame.height(), ImageFormat::Lum) else {
            return Sighting::default();
        };
        let mut sighting = Sighting::default();
        for code in self.reader().return_errors(true).from(&view).unwrap_or_default() {
            let p = code.position();
            let corners = [p.top_left, p.top_right, p.bottom_right, p.bottom_left].map(|c| (c.x, c.y));
            let text = code.text();
            if code.is_valid() && !text.is_empty() {
                sighting.texts.push(text);
                sighting.read.push(corners);
            } else {
                sighting.unread.push(corners);
            }
        }
        sighting
    }
}

/// Corners of a code in a frame, in pixels: top left, top right, bottom right, bottom left.
pub type Quad = [(i32, i32); 4];

/// What one pass of zxing-cpp saw.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Sighting {
    pub texts: Vec<String>,
    /// Where the codes in `texts` are.
    pub read: Vec<Quad>,
    /// Codes found but not read (blurred, cut off, damaged).
    pub unread: Vec<Quad>,
}

impl Decoder for ZxingDecoder {
    fn name(&self) -> &'static str {
        if self.try_harder { "zxing-cpp" } else { "zxing-cpp-fast" }
    }

    fn decode(&self, frame: &GrayImage) -> Vec<String> {
        let Ok(view) = ImageView::from_slice(frame.as_raw(), frame.width(), frame.height(), ImageFormat::Lum) else {
            return Vec::new();
        };
        self.reader()
            .from(&view)
            .map(|codes| codes.iter().map(|c| c.text()).filter(|t| !t.is_empty()).collect())
            .unwrap_or_default()
    }
}
