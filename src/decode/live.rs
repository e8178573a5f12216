//! The camera's decoder: a temporal cascade over successive frames of the same scene.
//!
//! A still image must be read in one go; a camera shows the same code again 100 ms later. So
//! no frame gets every attempt zxing-cpp's thorough search would make (that costs 11-13 ms
//! at p95): each frame gets the quick pass (inverted too: a dark-mode phone), one other look,
//! and up to two more while it has taken under 5 ms. The other looks take turns across frames: half
//! size for a big blurred code, the close-up of where the code is upscaled for a distant
//! code, rxing on the sharpened close-up, zxing-cpp's harder search on the close-up. A look
//! that reads a visitor's code goes first on the next frames: a distant card stays distant
//! while the visitor stands there. Where the code is comes from zxing-cpp's corners of a code
//! it saw but could not read, else from the last read, else from the window with the most
//! edges. An empty scene that has not changed gets the quick pass only.

use std::time::{Duration, Instant};

use image::GrayImage;

use super::prep::{Rect, busiest_window, crop, sharpen, shrink_box, tiles_alike};
use super::zxing::{Quad, Sighting};
use super::{DecoderPanic, RxingDecoder, ZxingDecoder, contain, guarded};

/// Side of the edge-densest window looked at when nothing says where a code is (see
/// `Pipeline::live`, which measured it).
const WINDOW: u32 = 400;
/// A close-up larger than this is shrunk: a big code has big modules.
const MAX_LOOK: u32 = 400;
/// A code found (read or not), and the look that read it, are remembered for this many
/// frames (0.6 s at 10 frames a second): a hand moves a code a few pixels per frame.
const REMEMBER_FRAMES: u32 = 6;
/// An unchanged empty scene is still searched fully every this many frames.
const IDLE_RECHECK: u32 = 10;
/// Looks per frame at most, the quick pass included.
const LOOKS_PER_FRAME: usize = 4;
/// A look after the second starts only if the frame has taken less than this: the p95 per
/// frame stays near 6 ms on one core (`cargo bench --bench decoders`).
const MORE_LOOKS_BEFORE: Duration = Duration::from_micros(5000);

/// The attempts the cascade makes, one or two per frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Look {
    /// zxing-cpp's plain pass on the whole frame, inverted too when nothing is read (a
    /// dark-mode phone), also placing codes it cannot read.
    Quick,
    /// The frame at half size: a big code whose blur hides its modules at full size.
    Half,
    /// zxing-cpp's harder search on a close-up at full resolution: small codes.
    Harder,
    /// rxing on the sharpened close-up: reads some perspective and blur zxing-cpp gives up on.
    Rxing,
    /// The close-up upscaled twice: a distant code of two or three pixels per module.
    Upscaled,
}

impl Look {
    /// The looks that take turns after the quick pass, cheapest and most often useful first.
    /// zxing-cpp's harder search on the whole frame was one too: it read nothing the others
    /// missed and took the p95 over 10 ms (`cargo bench --bench decoders`).
    pub const TURNS: [Look; 4] = [Look::Half, Look::Upscaled, Look::Rxing, Look::Harder];

    pub fn name(self) -> &'static str {
        match self {
            Look::Quick => "quick",
            Look::Half => "half",
            Look::Harder => "harder",
            Look::Rxing => "rxing",
            Look::Upscaled => "upscaled",
        }
    }
}

/// What one frame gave.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct LiveOutcome {
    pub texts: Vec<String>,
    /// Which look read it.
    pub by: Option<Look>,
    /// A code's corners were seen on this frame (read or not): the "code in view" hint's cue.
    pub code_seen: bool,
    /// The frame was an unchanged empty scene and got the quick pass only.
    pub idle: bool,
    pub panics: Vec<DecoderPanic>,
}

/// One camera's decoding state. Plain data: feed frames in order with [`LiveScanner::decode`].
#[derive(Debug, Default, Clone)]
pub struct LiveScanner {
    /// Where a code was last seen, in frame pixels, and how many frames ago.
    region: Option<(Rect, u32)>,
    /// The look that last read a code, and how many frames ago.
    winner: Option<(Look, u32)>,
    /// Which of [`Look::TURNS`] comes next.
    turn: usize,
    /// A 1/8-size thumbnail of the last frame that had nothing in it, and how many frames
    /// since it was fully searched.
    empty: Option<(GrayImage, u32)>,
    /// Take every look whatever the time (tests: the same looks on a slow debug build).
    unbudgeted: bool,
}

/// A frame and the preparations its looks share, made when first needed.
struct Frame<'a> {
    full: &'a GrayImage,
    half: Option<GrayImage>,
    close_up: Option<GrayImage>,
    region: Option<Rect>,
}

impl Frame<'_> {
    fn half(&mut self) -> &GrayImage {
        self.half.get_or_insert_with(|| shrink_box(self.full, 2))
    }

    /// The region where the code probably is, at full resolution (shrunk if large).
    fn close_up(&mut self) -> &GrayImage {
        if self.close_up.is_none() {
            let region = match self.region {
                Some(r) => r,
                None => {
                    let size = self.full.dimensions();
                    busiest_window(self.half(), size, WINDOW)
                }
            };
            let patch = crop(self.full, region);
            self.close_up = Some(match region.w.max(region.h).div_ceil(MAX_LOOK) {
                0 | 1 => patch,
                f => shrink_box(&patch, f),
            });
        }
        self.close_up.get_or_insert_with(|| GrayImage::new(1, 1))
    }
}

impl LiveScanner {
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes every look a frame is due, however long they take: the looks then depend on
    /// the frames only, not on the machine's speed.
    pub fn without_time_budget() -> Self {
        LiveScanner {
            unbudgeted: true,
            ..Self::default()
        }
    }

    /// Decodes one camera frame, using what the previous frames showed.
    pub fn decode(&mut self, frame: &GrayImage) -> LiveOutcome {
        let started = Instant::now();
        let mut out = LiveOutcome::default();
        if frame.width() < 21 || frame.height() < 21 {
            return out;
        }
        if let Some((_, age)) = &mut self.region {
            *age += 1;
        }
        if let Some((_, age)) = &mut self.winner {
            *age += 1;
        }
        if self.region.is_some_and(|(_, age)| age > REMEMBER_FRAMES) {
            self.region = None;
        }
        if self.winner.is_some_and(|(_, age)| age > REMEMBER_FRAMES) {
            self.winner = None;
        }
        let mut plan: Vec<Look> = self.winner.map(|(w, _)| w).into_iter().collect();
        if !plan.contains(&Look::Quick) {
            plan.push(Look::Quick);
        }
        let mut f = Frame {
            full: frame,
            half: None,
            close_up: None,
            region: self.region.map(|(r, _)| r),
        };
        let mut i = 0;
        while i < plan.len().max(LOOKS_PER_FRAME) {
            if i >= 2 && !self.unbudgeted && started.elapsed() >= MORE_LOOKS_BEFORE {
                break;
            }
            let look = match plan.get(i) {
                Some(&look) => look,
                None => {
                    // Nothing in view and nothing new since the last full search: stop here.
                    // (Asked once per frame: the first turn comes right after the quick pass.)
                    if i == 1 && self.winner.is_none() && f.region.is_none() && self.scene_unchanged(&mut f) {
                        out.idle = true;
                        return out;
                    }
                    let look = Look::TURNS[self.turn % Look::TURNS.len()];
                    self.turn += 1;
                    if plan.contains(&look) {
                        continue;
                    }
                    plan.push(look);
                    look
                }
            };
            i += 1;
            match self.look(look, &mut f, &mut out) {
                Ok(texts) if !texts.is_empty() => {
                    out.texts = texts;
                    out.by = Some(look);
                    self.winner = Some((look, 0));
                    self.empty = None;
                    return out;
                }
                Ok(_) => {}
                Err(panic) => out.panics.push(panic),
            }
        }
        out
    }

    fn look(&mut self, look: Look, f: &mut Frame, out: &mut LiveOutcome) -> Result<Vec<String>, DecoderPanic> {
        let texts = match look {
            Look::Quick => {
                let quick = ZxingDecoder {
                    try_invert: true,
                    ..ZxingDecoder::FAST
                };
                let sighting = contain("zxing-cpp-fast", || quick.sight(f.full))?;
                self.place(&sighting, f, out);
                Ok(sighting.texts)
            }
            Look::Half => guarded(&ZxingDecoder::FAST, f.half()),
            Look::Harder => guarded(
                &ZxingDecoder {
                    try_harder: true,
                    ..ZxingDecoder::FAST
                },
                f.close_up(),
            ),
            Look::Rxing => guarded(&RxingDecoder::default(), &sharpen(f.close_up(), 2)),
            Look::Upscaled => guarded(&ZxingDecoder::FAST, &double(f.close_up())),
        }?;
        Ok(texts.into_iter().filter(|t| !t.is_empty()).collect())
    }

    /// Remembers where the quick pass saw a code, read or not.
    fn place(&mut self, sighting: &Sighting, f: &mut Frame, out: &mut LiveOutcome) {
        out.code_seen = !sighting.read.is_empty() || !sighting.unread.is_empty();
        if let Some(quad) = sighting.read.first().or(sighting.unread.first()) {
            let region = around(quad, 1, f.full.dimensions());
            self.region = Some((region, 0));
            f.region = Some(region);
            f.close_up = None;
        }
    }

    /// Whether this frame shows the empty scene last searched (and it is not time to search
    /// it again); otherwise it becomes the scene to compare with.
    fn scene_unchanged(&mut self, f: &mut Frame) -> bool {
        let thumb = shrink_box(f.half(), 4);
        if let Some((seen, since)) = &mut self.empty
            && *since + 1 < IDLE_RECHECK
            && same_scene(seen, &thumb)
        {
            *since += 1;
            return true;
        }
        self.empty = Some((thumb, 0));
        false
    }
}

/// Doubles an image's size, each new pixel the mean of its nearest originals: a distant
/// code's modules grow from two or three pixels to four or six, and this costs a fraction of
/// a general resampling filter.
fn double(img: &GrayImage) -> GrayImage {
    let (w, h) = (img.width() as usize, img.height() as usize);
    if w == 0 || h == 0 {
        return img.clone();
    }
    let src = img.as_raw();
    let at = |x: usize, y: usize| src[y.min(h - 1) * w + x.min(w - 1)] as u16;
    let mut out = vec![0u8; 4 * w * h];
    for y in 0..h {
        for x in 0..w {
            let (p, r, d, rd) = (at(x, y), at(x + 1, y), at(x, y + 1), at(x + 1, y + 1));
            let o = 2 * y * 2 * w + 2 * x;
            out[o] = p as u8;
            out[o + 1] = ((p + r) / 2) as u8;
            out[o + 2 * w] = ((p + d) / 2) as u8;
            out[o + 2 * w + 1] = ((p + r + d + rd) / 4) as u8;
        }
    }
    GrayImage::from_raw(2 * w as u32, 2 * h as u32, out).unwrap_or_else(|| img.clone())
}

/// The box around a quad found on a frame shrunk by `scale`, grown by a quarter on every side
/// (the code moves between frames, and its quiet zone matters), in full-frame pixels.
fn around(quad: &Quad, scale: i32, (fw, fh): (u32, u32)) -> Rect {
    let xs = quad.map(|c| c.0 * scale);
    let ys = quad.map(|c| c.1 * scale);
    let (x0, x1) = (
        xs.iter().min().copied().unwrap_or(0),
        xs.iter().max().copied().unwrap_or(0),
    );
    let (y0, y1) = (
        ys.iter().min().copied().unwrap_or(0),
        ys.iter().max().copied().unwrap_or(0),
    );
    let grow = ((x1 - x0).max(y1 - y0) / 4).max(24);
    let clamp_x = |v: i32| v.clamp(0, fw as i32) as u32;
    let clamp_y = |v: i32| v.clamp(0, fh as i32) as u32;
    let (left, top) = (clamp_x(x0 - grow), clamp_y(y0 - grow));
    let (right, bottom) = (clamp_x(x1 + grow), clamp_y(y1 + grow));
    Rect {
        x: left,
        y: top,
        w: (right - left).max(1),
        h: (bottom - top).max(1),
    }
}

/// Whether two 1/8-size thumbnails show the same scene: every 16×16 tile's mean absolute
/// difference under 3 grey levels. At 1/8 size sensor noise averages out; a visitor stepping
/// in changes whole tiles.
fn same_scene(a: &GrayImage, b: &GrayImage) -> bool {
    tiles_alike(a, b, 16, 1, 3)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framegen::{Presentation, Rng, Scenario};

    #[test]
    fn an_unchanged_empty_scene_gets_the_quick_pass_only() {
        let mut scanner = LiveScanner::without_time_budget();
        let p = Presentation::new("VP1:hello", Scenario::Paper, &mut Rng::new(1)).unwrap();
        let mut rng = Rng::new(2);
        let first = scanner.decode(&p.empty_frame(&mut rng));
        assert!(!first.idle, "a new scene is searched");
        let second = scanner.decode(&p.empty_frame(&mut rng));
        assert!(second.idle, "the same scene with fresh noise is not searched again");
        assert!(second.texts.is_empty());
        let rechecks = (0..IDLE_RECHECK * 2)
            .filter(|_| !scanner.decode(&p.empty_frame(&mut rng)).idle)
            .count();
        assert_eq!(rechecks, 2, "searched fully every {IDLE_RECHECK} frames");
    }

    #[test]
    fn a_code_held_up_is_read_within_a_few_frames() {
        let mut scanner = LiveScanner::without_time_budget();
        let mut rng = Rng::new(9);
        let mut p = Presentation::new("VP1:held-up", Scenario::Paper, &mut rng).unwrap();
        scanner.decode(&p.empty_frame(&mut rng));
        let read = (0..4).any(|_| scanner.decode(&p.next_frame(&mut rng)).texts == vec!["VP1:held-up".to_string()]);
        assert!(read);
    }

    #[test]
    fn looks_take_turns_on_a_code_that_will_not_read() {
        // Finder patterns without readable data (zxing-cpp cannot even place it), moving a
        // little: every frame tries the quick pass and the next three looks.
        let (m, quiet) = (6u32, 24u32);
        let code = crate::render::qr_image(&"VP1:".repeat(40), m).unwrap();
        let inner = code.width() - 2 * quiet;
        let finder = 8 * m;
        let frame_at = |left: u32| {
            let mut frame = GrayImage::from_pixel(1280, 720, image::Luma([128]));
            for (x, y, p) in code.enumerate_pixels() {
                let (cx, cy) = (x.saturating_sub(quiet), y.saturating_sub(quiet));
                let in_finder =
                    (cx < finder || cx >= inner - finder) && cy < finder || cx < finder && cy >= inner - finder;
                let in_code = x >= quiet && y >= quiet && cx < inner && cy < inner;
                let v = if in_code && !in_finder {
                    150 + p.0[0] / 16
                } else {
                    p.0[0]
                };
                frame.put_pixel(left + x, 60 + y, image::Luma([v]));
            }
            frame
        };
        let mut scanner = LiveScanner::without_time_budget();
        let mut turns = Vec::new();
        for step in 0..3 {
            let out = scanner.decode(&frame_at(300 + 40 * step));
            assert!(out.texts.is_empty() && !out.idle, "{out:?}");
            turns.push(scanner.turn);
        }
        assert_eq!(turns, [3, 6, 9], "the next looks each frame, not the same again");
        let still = scanner.decode(&frame_at(380));
        assert!(still.idle, "the same scene again: the quick pass only");
    }

    #[test]
    fn doubling_keeps_pixels_and_interpolates_between() {
        let img = GrayImage::from_raw(2, 1, vec![0, 100]).unwrap();
        let big = double(&img);
        assert_eq!(big.dimensions(), (4, 2));
        assert_eq!(big.as_raw(), &vec![0, 50, 100, 100, 0, 50, 100, 100]);
    }

    #[test]
    fn regions_stay_in_the_frame() {
        let r = around(&[(-5, -5), (700, 0), (700, 400), (0, 400)], 2, (1280, 720));
        assert!(r.x + r.w <= 1280 && r.y + r.h <= 720, "{r:?}");
        assert_eq!((r.x, r.y), (0, 0));
    }
}
