//! QR decoding behind one seam: backends, the cascade the kiosk uses, and panic isolation.
//!
//! Measured on the zxing-cpp samples and on generated camera frames (see `benches/decoders.rs`),
//! neither rqrr nor rxing alone is good enough, so [`Pipeline`] cascades cheap attempts before
//! expensive ones. Every backend call goes through [`guarded`]: a decoder that panics on a
//! strange frame costs that frame, never the kiosk.

mod backends;
mod live;
mod pipeline;
mod prep;
mod seen;
mod zxing;

use std::panic::{AssertUnwindSafe, catch_unwind};

pub use backends::{AztecDecoder, RqrrDecoder, RxingDecoder};
pub use image::GrayImage;
pub use live::{LiveOutcome, LiveScanner, Look};
pub use pipeline::{Pipeline, Prep, Stage};
pub use prep::{Rect, busiest_window, sharpen, shrink_box as shrink, tiles_alike};
pub use seen::{HINT_AFTER, UnreadableCode, code_seen};
pub use zxing::{Quad, Sighting, ZxingDecoder};

/// Anything that finds QR codes in a greyscale frame and returns their texts.
pub trait Decoder: Send + Sync {
    fn name(&self) -> &'static str;
    /// Every code found, as text; empty when none could be read.
    fn decode(&self, frame: &GrayImage) -> Vec<String>;
}

/// A decoder panicked; the frame is dropped and the kiosk carries on.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error("the {backend} QR decoder crashed on this frame ({message}); the frame was skipped")]
pub struct DecoderPanic {
    pub backend: &'static str,
    pub message: String,
}

/// Runs one decoder on one frame, turning a panic into an error.
pub fn guarded(decoder: &dyn Decoder, frame: &GrayImage) -> Result<Vec<String>, DecoderPanic> {
    contain(decoder.name(), || decoder.decode(frame))
}

/// Runs `f`, turning a panic into an error naming `backend`.
pub(crate) fn contain<T>(backend: &'static str, f: impl FnOnce() -> T) -> Result<T, DecoderPanic> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|payload| {
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_string());
        DecoderPanic { backend, message }
    })
}

/// Loads an image file as a greyscale frame.
pub fn load_frame(path: &std::path::Path) -> Result<GrayImage, image::ImageError> {
    Ok(image::ImageReader::open(path)?
        .with_guessed_format()?
        .decode()?
        .to_luma8())
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Exploding;
    impl Decoder for Exploding {
        fn name(&self) -> &'static str {
            "exploding"
        }
        fn decode(&self, _: &GrayImage) -> Vec<String> {
            panic!("grid out of bounds")
        }
    }

    #[test]
    fn a_panicking_decoder_is_contained() {
        let err = guarded(&Exploding, &GrayImage::new(4, 4)).unwrap_err();
        assert_eq!(err.backend, "exploding");
        assert!(err.message.contains("grid out of bounds"));
    }
}
