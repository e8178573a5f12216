//! The decoding cascade: cheap attempts first, costly ones only when the cheap ones fail.

use image::GrayImage;

use super::{Decoder, DecoderPanic, RqrrDecoder, RxingDecoder, guarded};

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
}

const MIN_SIDE: u32 = 160;

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
            "{}{}{}{}",
            self.backend.name(),
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
    /// For live camera frames, where the next frame comes in 60 ms: only the attempts that pay
    /// for themselves. rxing on a half-size frame reads most codes held up to the camera in a
    /// few ms; full size reads small codes; the sharpened pass rescues defocused ones.
    pub fn live() -> Self {
        Pipeline {
            stages: vec![
                Stage::new(
                    RX,
                    Prep {
                        shrink: 2,
                        ..Prep::default()
                    },
                ),
                Stage::new(RX, Prep::default()),
                Stage::new(
                    RX_HARD,
                    Prep {
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
                        variants.push((prep, prepare(frame, prep)));
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

fn prepare(frame: &GrayImage, prep: Prep) -> GrayImage {
    let mut img = shrink_box(frame, prep.shrink);
    if prep.sharpen {
        img = image::imageops::unsharpen(&img, 2.0, 5);
    }
    if prep.invert {
        image::imageops::invert(&mut img);
    }
    img
}

/// Shrinks by a whole factor, averaging each factor×factor block (cheap, and the averaging
/// suppresses sensor noise rather than aliasing it).
pub fn shrink_box(frame: &GrayImage, factor: u32) -> GrayImage {
    if factor <= 1 {
        return frame.clone();
    }
    let (w, h) = (frame.width() / factor, frame.height() / factor);
    let src = frame.as_raw();
    let stride = frame.width() as usize;
    let f = factor as usize;
    let area = (f * f) as u32;
    let mut out = Vec::with_capacity((w * h) as usize);
    for y in 0..h as usize {
        for x in 0..w as usize {
            let mut sum = 0u32;
            for dy in 0..f {
                let row = (y * f + dy) * stride + x * f;
                sum += src[row..row + f].iter().map(|&p| p as u32).sum::<u32>();
            }
            out.push((sum / area) as u8);
        }
    }
    GrayImage::from_raw(w, h, out).unwrap_or_else(|| frame.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shrink_averages_blocks() {
        let img = GrayImage::from_raw(4, 2, vec![0, 100, 200, 200, 100, 200, 0, 0]).unwrap();
        let half = shrink_box(&img, 2);
        assert_eq!((half.width(), half.height()), (2, 1));
        assert_eq!(half.as_raw(), &vec![100, 100]);
    }

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
