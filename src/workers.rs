//! The kiosk's background threads and the messages they send to the screen.
//!
//! camera thread: frames → preview + decoded texts → scan worker.
//! scan worker:  text (camera, keyboard-wedge scanner, staff entry) → verify → policy →
//!               store commit → `UiEvent::Scanned`. The screen hears "recorded" only after
//!               the commit returned.
//! Every send is followed by `notify` (the UI passes `ctx.request_repaint`).

use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender};
use std::time::{Duration, Instant};

use image::GrayImage;

use crate::check::pick_text;
use crate::clock::Clock;
use crate::decode::LiveScanner;
use crate::frames::FrameSource;
use crate::gate::WhenNotRecorded;
use crate::policy::{Verdict, VerdictKind};
use crate::store::writer::StoreHandle;
use crate::store::{Recorded, ScanInput};
use wire::{Direction, Reason};

/// How a text reached the kiosk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Camera,
    /// A USB HID 2D scanner that types the code's text and Enter.
    Wedge,
    /// Typed or scanned by staff on the operator screen.
    Staff,
}

/// One finished scan: the verdict, and whether (and how) it was committed.
#[derive(Debug, Clone)]
pub struct ScanOutcome {
    pub verdict: Verdict,
    pub origin: Origin,
    /// `Ok` only after the local commit returned; `Err` says why nothing was recorded.
    pub recorded: Result<Recorded, String>,
    /// What an admitted pass that could not be recorded is shown as.
    pub when_not_recorded: WhenNotRecorded,
}

/// The verdict as the visitor sees and hears it, computed once for the screen, the operator
/// panel and the sound. It is the committed one (the gate may have turned an admit into
/// `capacity_full`, or a refusal at an exit into `ok_exit`). When nothing could be recorded
/// the kiosk fails closed by default: an admit becomes a refusal with `not_recorded`, so
/// nobody walks in unlogged under a green panel (`[gate] when_not_recorded = "admit"` keeps
/// the admit; the panel still says it was not recorded).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shown {
    pub kind: VerdictKind,
    pub reason: Reason,
    /// A staff note on an admitted pass (`reason-<code>_warn`).
    pub warning: Option<Reason>,
    pub direction: Option<Direction>,
    pub recorded: bool,
}

impl ScanOutcome {
    pub fn shown(&self) -> Shown {
        let (kind, reason, direction) = match &self.recorded {
            Ok(r) => (r.verdict, r.reason, Some(r.direction)),
            Err(_) if self.verdict.kind == VerdictKind::Admit && self.when_not_recorded == WhenNotRecorded::Refuse => {
                (VerdictKind::Deny, Reason::NotRecorded, None)
            }
            Err(_) => (self.verdict.kind, self.verdict.reason, None),
        };
        Shown {
            kind,
            reason,
            warning: self.verdict.warning.filter(|_| kind == VerdictKind::Admit),
            direction,
            recorded: self.recorded.is_ok(),
        }
    }
}

/// Everything the background threads tell the screen.
#[derive(Debug)]
pub enum UiEvent {
    /// A downscaled greyscale preview of the latest frame.
    Preview(GrayImage),
    /// `Some(message)` while the camera is unavailable; `None` once frames flow again.
    Camera(Option<String>),
    /// A code is in view but cannot be read (true), or that is over (false).
    UnreadableCode(bool),
    Scanned(Box<ScanOutcome>),
    PinChecked(bool),
    Sync(Box<crate::sync::SyncStatus>),
    /// The passage log was damaged at start-up and moved aside: the operator must know.
    LogMovedAside(String),
    /// `Some(message)` while closing overdue visits or purging fails; `None` once it works.
    Housekeeping(Option<String>),
}

pub type Notify = Arc<dyn Fn() + Send + Sync>;

/// Sends texts to the scan worker.
#[derive(Clone)]
pub struct ScanJobs(pub Sender<(String, Origin)>);

/// Runs the camera loop until the UI goes away. Never panics on a frame: the decoder seam
/// contains backend panics, and source errors become a message and a retry.
pub fn spawn_camera(
    make_source: impl FnOnce() -> Box<dyn FrameSource> + Send + 'static,
    jobs: ScanJobs,
    events: Sender<UiEvent>,
    notify: Notify,
    beat: crate::watchdog::Beat,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new().name("camera".into()).spawn(move || {
        let mut source = make_source();
        let mut scanner = LiveScanner::new();
        let mut camera_ok = None::<bool>;
        let mut last_preview = Instant::now() - Duration::from_secs(1);
        let mut last_text: Option<(String, Instant)> = None;
        let mut unreadable = crate::decode::UnreadableCode::default();
        let mut shown_preview: Option<GrayImage> = None;
        let mut in_view = InView::default();
        loop {
            // A source stuck inside next_frame stops the beats: the watchdog restarts the kiosk.
            beat.beat();
            let frame = match source.next_frame() {
                Ok(f) => f,
                Err(e) => {
                    if camera_ok != Some(false) {
                        camera_ok = Some(false);
                        if events.send(UiEvent::Camera(Some(e.to_string()))).is_err() {
                            return;
                        }
                        notify();
                    }
                    std::thread::sleep(Duration::from_secs(3));
                    continue;
                }
            };
            if camera_ok != Some(true) {
                camera_ok = Some(true);
                let _ = events.send(UiEvent::Camera(None));
            }
            // The preview is the only continuous repaint, capped at 10 per second; a scene that
            // has not changed (nobody at the gate) is redrawn once a second only, which is most
            // of what an idle kiosk spends on drawing.
            if last_preview.elapsed() >= Duration::from_millis(100) {
                let preview = image::imageops::thumbnail(&frame, 480, 270);
                let still = shown_preview
                    .as_ref()
                    .is_some_and(|shown| scene_unchanged(shown, &preview));
                if !still || last_preview.elapsed() >= Duration::from_secs(1) {
                    last_preview = Instant::now();
                    shown_preview = Some(preview.clone());
                    if events.send(UiEvent::Preview(preview)).is_err() {
                        return;
                    }
                    notify();
                }
            }
            let outcome = scanner.decode(&frame);
            let read = !outcome.texts.is_empty();
            let seen = in_view.frame(&outcome, || crate::decode::code_seen(&frame));
            if let Some(show) = unreadable.frame(read, seen, Instant::now()) {
                if events.send(UiEvent::UnreadableCode(show)).is_err() {
                    return;
                }
                notify();
            }
            if let Some(text) = pick_text(&outcome.texts) {
                // The same code in consecutive frames is one scan; the store's repeat window
                // handles a visitor who shows it again later.
                let fresh = match &last_text {
                    Some((t, at)) => t != text || at.elapsed() > Duration::from_secs(3),
                    None => true,
                };
                if fresh && jobs.0.send((text.to_string(), Origin::Camera)).is_err() {
                    return;
                }
                last_text = Some((text.to_string(), Instant::now()));
            }
        }
    })
}

/// Whether a code is in view on a frame nothing read, for the "turn up the brightness" hint.
#[derive(Debug, Default)]
struct InView {
    /// Alternates: rqrr's finder search runs on every other searched frame.
    looked: bool,
    /// What the last searched frame said: an idle frame shows that same scene.
    scene: Option<bool>,
}

impl InView {
    /// zxing-cpp's corners of an unread code say "a code is there"; failing that, `finder`
    /// (rqrr's finder search) looks on every other searched frame. An unchanged scene the
    /// scanner did not search again keeps what its last search said: a phone lying still on a
    /// shelf in front of the camera, unreadable, still gets the hint.
    fn frame(&mut self, outcome: &crate::decode::LiveOutcome, finder: impl FnOnce() -> bool) -> Option<bool> {
        let seen = if !outcome.texts.is_empty() {
            None
        } else if outcome.code_seen {
            Some(true)
        } else if outcome.idle {
            return self.scene;
        } else {
            self.looked = !self.looked;
            self.looked.then(finder)
        };
        if outcome.texts.is_empty() {
            self.scene = seen.or(self.scene);
        } else {
            self.scene = None;
        }
        seen
    }
}

/// Whether two previews show the same scene: in every 32×32 tile the mean absolute difference
/// stays under 2 grey levels (sensor noise), sampled on every 4th pixel of every 4th row. Per
/// tile, so a phone moving in one corner of a still scene is a change.
pub fn scene_unchanged(a: &GrayImage, b: &GrayImage) -> bool {
    crate::decode::tiles_alike(a, b, 32, 4, 2)
}

/// What the scan worker needs to judge and record a text.
pub struct ScanContext {
    /// Read at every scan, so a refreshed trust list applies at once.
    pub rules: crate::check::SharedRules,
    pub clock: Arc<dyn Clock>,
    pub store: StoreHandle,
    pub when_not_recorded: WhenNotRecorded,
}

pub fn spawn_scan_worker(
    ctx: ScanContext,
    jobs: Receiver<(String, Origin)>,
    events: Sender<UiEvent>,
    notify: Notify,
    beat: crate::watchdog::Beat,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new().name("scan".into()).spawn(move || {
        loop {
            // Waiting for work is not hanging: beat at least every second while idle.
            beat.beat();
            let (text, origin) = match jobs.recv_timeout(Duration::from_secs(1)) {
                Ok(job) => job,
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => continue,
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return,
            };
            let outcome = scan_one(&ctx, &text, origin);
            if events.send(UiEvent::Scanned(Box::new(outcome))).is_err() {
                return;
            }
            notify();
        }
    })
}

/// Judges one text and waits for its commit (on this worker thread, never on the UI's).
pub fn scan_one(ctx: &ScanContext, text: &str, origin: Origin) -> ScanOutcome {
    let now = ctx.clock.now();
    let verdict = match ctx.rules.read() {
        Ok(r) => r.judge(text, now),
        Err(poisoned) => poisoned.into_inner().judge(text, now),
    };
    let reply = ctx.store.record(ScanInput {
        verdict: verdict.clone(),
        text: text.to_string(),
        at: now,
    });
    let recorded = match reply.recv_timeout(Duration::from_secs(10)) {
        Ok(Ok(r)) => Ok(r),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("the passage log did not answer in 10 s; the passage was NOT recorded".into()),
    };
    ScanOutcome {
        verdict,
        origin,
        recorded,
        when_not_recorded: ctx.when_not_recorded,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Recorded;

    #[test]
    fn an_unreadable_code_on_a_still_scene_stays_in_view() {
        use crate::decode::LiveOutcome;
        let searched = LiveOutcome::default();
        let idle = LiveOutcome {
            idle: true,
            ..LiveOutcome::default()
        };
        let mut v = InView::default();
        assert_eq!(v.frame(&searched, || true), Some(true), "rqrr sees the finder patterns");
        for _ in 0..20 {
            assert_eq!(v.frame(&idle, || panic!("no search on an idle frame")), Some(true));
        }
        assert_eq!(v.frame(&searched, || false), None, "every other searched frame only");
        assert_eq!(v.frame(&searched, || false), Some(false), "gone");
        assert_eq!(v.frame(&idle, || true), Some(false));
        let read = LiveOutcome {
            texts: vec!["VP1:x".into()],
            ..LiveOutcome::default()
        };
        assert_eq!(v.frame(&read, || true), None);
        assert_eq!(v.frame(&idle, || true), None, "nothing known after a read");
    }

    #[test]
    fn a_still_scene_is_unchanged_and_a_visitor_stepping_in_is_not() {
        let mut rng = crate::framegen::Rng::new(5);
        let wall = GrayImage::from_fn(480, 270, |x, y| image::Luma([(100 + (x + y) % 40) as u8]));
        let noisy = GrayImage::from_fn(480, 270, |x, y| {
            let v = wall.get_pixel(x, y).0[0] as f32 + rng.range(-2.0, 2.0);
            image::Luma([v.round() as u8])
        });
        assert!(scene_unchanged(&wall, &noisy), "sensor noise is not a change");
        let mut visitor = noisy.clone();
        for y in 60..220 {
            for x in 150..330 {
                visitor.put_pixel(x, y, image::Luma([20]));
            }
        }
        assert!(!scene_unchanged(&noisy, &visitor));
        // A phone (a small code) moving in one corner is a change too.
        let mut phone = noisy.clone();
        for y in 10..40 {
            for x in 10..40 {
                phone.put_pixel(x, y, image::Luma([if (x / 5 + y / 5) % 2 == 0 { 0 } else { 255 }]));
            }
        }
        assert!(!scene_unchanged(&noisy, &phone));
        assert!(!scene_unchanged(&wall, &GrayImage::new(240, 135)), "another size");
    }

    fn outcome(kind: VerdictKind, reason: Reason, recorded: Result<Recorded, String>) -> ScanOutcome {
        ScanOutcome {
            verdict: Verdict {
                kind,
                reason,
                warning: Some(Reason::TravelRisk),
                credential: None,
                detail: None,
            },
            origin: Origin::Camera,
            recorded,
            when_not_recorded: WhenNotRecorded::Refuse,
        }
    }

    fn recorded(verdict: VerdictKind, reason: Reason, direction: Direction) -> Recorded {
        Recorded {
            seq: Some(1),
            event_id: None,
            direction,
            verdict,
            reason,
            repeat: false,
            occupancy: 0,
            capacity: None,
        }
    }

    #[test]
    fn the_shown_verdict_is_the_committed_one_and_fails_closed() {
        // The gate turned an admit into capacity_full: the visitor sees the refusal, no warning.
        let full = outcome(
            VerdictKind::Admit,
            Reason::Ok,
            Ok(recorded(VerdictKind::Deny, Reason::CapacityFull, Direction::Entry)),
        )
        .shown();
        assert_eq!(
            (full.kind, full.reason, full.warning),
            (VerdictKind::Deny, Reason::CapacityFull, None)
        );
        // A red code at an exit lets its holder out.
        let out = outcome(
            VerdictKind::Deny,
            Reason::RedCode,
            Ok(recorded(VerdictKind::Admit, Reason::OkExit, Direction::Exit)),
        )
        .shown();
        assert_eq!(
            (out.kind, out.reason, out.direction),
            (VerdictKind::Admit, Reason::OkExit, Some(Direction::Exit))
        );
        // Nothing recorded: an admit is shown as a refusal, never as a green panel.
        let lost = outcome(VerdictKind::Admit, Reason::Ok, Err("disk full".into())).shown();
        assert_eq!(
            (lost.kind, lost.reason, lost.recorded),
            (VerdictKind::Deny, Reason::NotRecorded, false)
        );
        let refused = outcome(VerdictKind::Invalid, Reason::Expired, Err("disk full".into())).shown();
        assert_eq!((refused.kind, refused.reason), (VerdictKind::Invalid, Reason::Expired));
        // A venue that chose to fail open admits, and the panel still says "not recorded".
        let mut open = outcome(VerdictKind::Admit, Reason::Ok, Err("disk full".into()));
        open.when_not_recorded = WhenNotRecorded::Admit;
        let shown = open.shown();
        assert_eq!(
            (shown.kind, shown.reason, shown.recorded),
            (VerdictKind::Admit, Reason::Ok, false)
        );
    }
}
