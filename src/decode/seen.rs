//! "A code is there but cannot be read": finder patterns found in a frame no decoder could
//! read, held for a moment, becomes a hint to the visitor (a dim phone screen is the usual
//! cause). Cheap enough to run on failed frames: rqrr's finder search on a half-size frame.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

use image::GrayImage;

/// Whether `frame` shows a QR code's finder patterns (read or not). A panic in rqrr counts as
/// nothing seen.
pub fn code_seen(frame: &GrayImage) -> bool {
    let half = super::shrink(frame, 2);
    let (w, h) = (half.width() as usize, half.height() as usize);
    catch_unwind(AssertUnwindSafe(|| {
        let mut prepared = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| half.as_raw()[y * w + x]);
        !prepared.detect_grids().is_empty()
    }))
    .unwrap_or(false)
}

/// A code seen but not read for this long shows the hint: a visitor still bringing the phone
/// into focus should not be told off.
pub const HINT_AFTER: Duration = Duration::from_millis(1500);
/// The hint goes once no code has been seen for this long (the visitor left, or it was read).
pub const HINT_CLEARS_AFTER: Duration = Duration::from_secs(2);

/// Decides, frame by frame, when the "turn up the brightness" hint starts and stops.
#[derive(Debug, Default, Clone)]
pub struct UnreadableCode {
    seen_since: Option<Instant>,
    last_seen: Option<Instant>,
    showing: bool,
}

impl UnreadableCode {
    /// One frame: a code was `read`, or else its finder patterns were `seen` (`None`: not
    /// looked for on this frame). Returns `Some(show)` when the hint should change.
    pub fn frame(&mut self, read: bool, seen: Option<bool>, now: Instant) -> Option<bool> {
        if read {
            self.seen_since = None;
            self.last_seen = None;
            return self.set(false);
        }
        match seen {
            Some(true) => {
                let since = *self.seen_since.get_or_insert(now);
                self.last_seen = Some(now);
                if now.duration_since(since) >= HINT_AFTER {
                    return self.set(true);
                }
            }
            Some(false) | None => {
                if self
                    .last_seen
                    .is_none_or(|t| now.duration_since(t) >= HINT_CLEARS_AFTER)
                {
                    self.seen_since = None;
                    self.last_seen = None;
                    return self.set(false);
                }
            }
        }
        None
    }

    fn set(&mut self, show: bool) -> Option<bool> {
        (self.showing != show).then(|| {
            self.showing = show;
            show
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A code on a grey 1280×720 scene whose data modules are smeared (what a dim, glaring
    /// phone screen gives): the finder patterns stay, the data cannot be read.
    fn smeared_code() -> GrayImage {
        let code = crate::render::qr_image(&"VP1:".repeat(40), 6).unwrap();
        let mut scene = GrayImage::from_pixel(1280, 720, image::Luma([128]));
        let (ox, oy) = (400, 100);
        let quiet = 4 * 6;
        let finder = 8 * 6; // seven modules and the separator
        let inner = code.width() - 2 * quiet;
        for (x, y, p) in code.enumerate_pixels() {
            let (cx, cy) = (x.saturating_sub(quiet), y.saturating_sub(quiet));
            let in_finder = (cx < finder || cx >= inner - finder) && cy < finder || cx < finder && cy >= inner - finder;
            let in_code = x >= quiet && y >= quiet && cx < inner && cy < inner;
            let v = if in_code && !in_finder {
                150 + (p.0[0] / 16)
            } else {
                p.0[0]
            };
            scene.put_pixel(ox + x, oy + y, image::Luma([v]));
        }
        scene
    }

    #[test]
    fn finder_patterns_are_seen_where_no_decoder_reads_the_code() {
        let smeared = smeared_code();
        let live = crate::decode::Pipeline::live().decode(&smeared);
        assert!(
            live.texts.is_empty(),
            "the smeared code must not read: {:?}",
            live.texts
        );
        let thorough = crate::decode::Pipeline::thorough().decode(&smeared);
        assert!(thorough.texts.is_empty(), "{:?}", thorough.texts);
        assert!(code_seen(&smeared), "its finder patterns are in view");
        assert!(!code_seen(&GrayImage::from_pixel(1280, 720, image::Luma([128]))));
        let mut rng = crate::framegen::Rng::new(7);
        let noise = GrayImage::from_fn(1280, 720, |_, _| image::Luma([rng.range(60.0, 200.0) as u8]));
        assert!(!code_seen(&noise), "noise is not a code");
        let readable = crate::render::qr_image("VP1:hello", 8).unwrap();
        assert!(code_seen(&readable));
    }

    #[test]
    fn the_hint_starts_after_a_code_is_seen_unread_for_a_while_and_stops_when_read_or_gone() {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let mut u = UnreadableCode::default();
        assert_eq!(u.frame(false, Some(true), at(0)), None);
        assert_eq!(
            u.frame(false, None, at(700)),
            None,
            "a frame not looked at changes nothing"
        );
        assert_eq!(u.frame(false, Some(true), at(1400)), None, "not yet");
        assert_eq!(u.frame(false, Some(true), at(1500)), Some(true));
        assert_eq!(u.frame(false, Some(true), at(1600)), None, "said once");
        assert_eq!(
            u.frame(false, Some(false), at(2500)),
            None,
            "a missed frame is not leaving"
        );
        assert_eq!(
            u.frame(true, None, at(2600)),
            Some(false),
            "read: the hint goes at once"
        );
        // Seen again from scratch: the wait starts over.
        assert_eq!(u.frame(false, Some(true), at(3000)), None);
        assert_eq!(u.frame(false, Some(true), at(4000)), None);
        assert_eq!(u.frame(false, Some(true), at(4500)), Some(true));
        assert_eq!(u.frame(false, Some(false), at(6400)), None);
        assert_eq!(u.frame(false, Some(false), at(6500)), Some(false), "gone for 2 s");
    }
}
