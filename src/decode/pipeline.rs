//! The decoding cascade: cheap attempts first, costly ones only when the cheap ones fail.

use image::GrayImage;

use super::prep::{busiest_window, crop, sharpen, shrink_box};
use super::{AztecDecoder, Decoder, DecoderPanic, RqrrDecoder, RxingDecoder, ZxingDecoder, guarded};

/// How a frame is prepared before a stage's backend sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Prep {
    /// Shrink by this whole factor (box filter); 0 or 1 keeps the size. A stage whose shrunk
    /// frame would be under [`MIN_SIDE`] pixels is skipped: its code would be too small.
    pub shrink: u32,
    /// Invert: light-on-dark codes (a phone in dark mode).
    pub invert: bool,
    /// Unsharp mask: rescues codes blurred by a slightly defocused webcam.
    pub sharpen: bool,
    /// Look only at the `window`×`window` square with the most edges (0: the whole frame).
    /// Small codes need full resolution, and full resolution of a whole frame costs too much.
    pub window: u32,
}

const MIN_SIDE: u32 = 160;

/// Side of the full-resolution window the live cascade searches: holds a code small enough to
/// need full resolution (up to ~350 px) with room for a slightly misplaced window. Measured:
/// 320 missed codes, 480 cost more without reading more.
const LIVE_WINDOW: u32 = 400;

/// One attempt of the cascade: a backend run on a prepared frame.
pub struct Stage {
    pub backend: Box<dyn Decoder>,
    pub prep: Prep,
}

impl Stage {
    fn new(backend: impl Decoder + 'static, prep: Prep) -> Self {
        Stage {
            backend: Box::new(backend),
            prep,
        }
    }

    pub fn label(&self) -> String {
        let p = self.prep;
        format!(
            "{}{}{}{}{}",
            self.backend.name(),
            if p.window > 0 {
                format!("@{}", p.window)
            } else {
                String::new()
            },
            if p.shrink > 1 {
                format!("/{}", p.shrink)
            } else {
                String::new()
            },
            if p.invert { "+inv" } else { "" },
            if p.sharpen { "+sharp" } else { "" }
        )
    }
}

/// What one call of the cascade found, and what went wrong on the way.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub texts: Vec<String>,
    /// Index of the stage that produced `texts`.
    pub stage: Option<usize>,
    /// Backends that panicked on this frame (contained; reported for the log).
    pub panics: Vec<DecoderPanic>,
}

/// An ordered list of stages; the first stage that reads anything wins.
pub struct Pipeline {
    pub stages: Vec<Stage>,
}

impl Default for Pipeline {
    fn default() -> Self {
        Self::thorough()
    }
}

const RX: RxingDecoder = RxingDecoder {
    also_inverted: false,
    try_harder: false,
    filtered: false,
};
const RX_HARD: RxingDecoder = RxingDecoder {
    also_inverted: false,
    try_harder: true,
    filtered: false,
};
const RX_FILTERED: RxingDecoder = RxingDecoder {
    also_inverted: true,
    try_harder: true,
    filtered: true,
};

impl Pipeline {
    /// One frame at a time, no memory between frames: what the camera used before
    /// [`super::LiveScanner`] (the benchmark still measures it as "kiosk live, per frame"),
    /// and the first stages of [`Self::thorough`]. Every frame must be done in well under 10 ms
    /// on one core, so
    /// only the attempts that pay for themselves (`cargo bench --bench decoders -- --cascades`
    /// prints the candidates). zxing-cpp's plain pass on a half-size frame reads most codes
    /// held up to the camera in about 2 ms; on the busiest 400×400 window at full resolution,
    /// sharpened, it reads the small and the defocused ones; rxing on that same window reads
    /// some that zxing-cpp misses. Measured on 200 generated frames: 73.5 % at p95 6.5 ms,
    /// against 70.5 % / 6.7 ms for the rxing-only cascade and 67.5 % / 24 ms for zxing-cpp's
    /// own defaults on the whole frame; stills as before (87.6 %).
    pub fn live() -> Self {
        Pipeline {
            stages: vec![
                Stage::new(
                    ZxingDecoder::FAST,
                    Prep {
                        shrink: 2,
                        ..Prep::default()
                    },
                ),
                Stage::new(
                    ZxingDecoder::FAST,
                    Prep {
                        window: LIVE_WINDOW,
                        sharpen: true,
                        ..Prep::default()
                    },
                ),
                Stage::new(
                    RX,
                    Prep {
                        window: LIVE_WINDOW,
                        sharpen: true,
                        ..Prep::default()
                    },
                ),
            ],
        }
    }

    /// For still images (`kiosk decode`, `kiosk scan`, a replayed folder): every attempt that
    /// the sample measurements showed to add reads, cheapest first.
    pub fn thorough() -> Self {
        let mut stages = Self::live().stages;
        stages.extend([
            // zxing-cpp as it comes (its thorough search) reads most stills in under 2 ms.
            Stage::new(ZxingDecoder::default(), Prep::default()),
            Stage::new(RX, Prep::default()),
            Stage::new(
                RX_HARD,
                Prep {
                    sharpen: true,
                    ..Prep::default()
                },
            ),
            Stage::new(RqrrDecoder, Prep::default()),
            Stage::new(RX_FILTERED, Prep::default()),
            Stage::new(
                RX_HARD,
                Prep {
                    shrink: 3,
                    ..Prep::default()
                },
            ),
            Stage::new(
                RX_HARD,
                Prep {
                    invert: true,
                    ..Prep::default()
                },
            ),
            Stage::new(
                RqrrDecoder,
                Prep {
                    shrink: 3,
                    ..Prep::default()
                },
            ),
            Stage::new(
                RqrrDecoder,
                Prep {
                    invert: true,
                    ..Prep::default()
                },
            ),
            // Last: only an image with no QR code at all pays for it.
            Stage::new(AztecDecoder, Prep::default()),
        ]);
        Pipeline { stages }
    }

    /// One backend at full size: the baseline the benchmark compares against.
    pub fn single(backend: Box<dyn Decoder>) -> Self {
        Pipeline {
            stages: vec![Stage {
                backend,
                prep: Prep::default(),
            }],
        }
    }

    pub fn decode(&self, frame: &GrayImage) -> Outcome {
        let mut outcome = Outcome::default();
        // The smallest QR code is 21 modules: nothing smaller can hold one.
        if frame.width() < 21 || frame.height() < 21 {
            return outcome;
        }
        // Prepared variants are made once per frame and shared by the stages that need them.
        let mut variants: Vec<(Prep, GrayImage)> = Vec::new();
        let mut half = None;
        for (i, stage) in self.stages.iter().enumerate() {
            let prep = stage.prep;
            let shrink = prep.shrink.max(1);
            if shrink > 1 && frame.width().min(frame.height()) / shrink < MIN_SIDE {
                continue;
            }
            let input = if prep == Prep::default() {
                frame
            } else {
                let pos = match variants.iter().position(|(p, _)| *p == prep) {
                    Some(pos) => pos,
                    None => {
                        let prepared = prepare(frame, prep, &mut half);
                        variants.push((prep, prepared));
                        variants.len() - 1
                    }
                };
                &variants[pos].1
            };
            match guarded(stage.backend.as_ref(), input) {
                Ok(texts) if !texts.is_empty() => {
                    outcome.texts = texts;
                    outcome.stage = Some(i);
                    return outcome;
                }
                Ok(_) => {}
                Err(panic) => outcome.panics.push(panic),
            }
        }
        outcome
    }
}

/// `half` caches the half-size frame: the first stage reads it, the window search counts edges
/// on it.
fn prepare(frame: &GrayImage, prep: Prep, half: &mut Option<GrayImage>) -> GrayImage {
    let half = half.get_or_insert_with(|| shrink_box(frame, 2));
    let mut img = if prep.window > 0 {
        let cropped = crop(frame, busiest_window(half, frame.dimensions(), prep.window));
        shrink_box(&cropped, prep.shrink)
    } else if prep.shrink == 2 {
        half.clone()
    } else {
        shrink_box(frame, prep.shrink)
    };
    if prep.sharpen {
        img = sharpen(&img, 2);
    }
    if prep.invert {
        image::imageops::invert(&mut img);
    }
    img
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_frames_read_nothing_and_do_not_panic() {
        for pipeline in [Pipeline::live(), Pipeline::thorough()] {
            let out = pipeline.decode(&GrayImage::new(1280, 720));
            assert!(out.texts.is_empty());
            assert!(out.panics.is_empty());
            assert!(pipeline.decode(&GrayImage::new(0, 0)).texts.is_empty());
        }
    }
}
