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

use crate::check::{check_text, pick_text};
use crate::clock::Clock;
use crate::decode::Pipeline;
use crate::frames::FrameSource;
use crate::policy::Verdict;
use crate::store::writer::StoreHandle;
use crate::store::{DaySummary, Passage, Recorded, ScanInput};

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
}

/// Everything the background threads tell the screen.
#[derive(Debug)]
pub enum UiEvent {
    /// A downscaled greyscale preview of the latest frame.
    Preview(GrayImage),
    /// `Some(message)` while the camera is unavailable; `None` once frames flow again.
    Camera(Option<String>),
    Scanned(Box<ScanOutcome>),
    Day(Result<(Vec<Passage>, DaySummary), String>),
    PinChecked(bool),
    Sync(crate::sync::SyncStatus),
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
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new().name("camera".into()).spawn(move || {
        let mut source = make_source();
        let pipeline = Pipeline::live();
        let mut camera_ok = None::<bool>;
        let mut last_preview = Instant::now() - Duration::from_secs(1);
        let mut last_text: Option<(String, Instant)> = None;
        loop {
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
            // The preview is the only continuous repaint, capped at 10 per second.
            if last_preview.elapsed() >= Duration::from_millis(100) {
                last_preview = Instant::now();
                let preview = image::imageops::thumbnail(&frame, 480, 270);
                if events.send(UiEvent::Preview(preview)).is_err() {
                    return;
                }
                notify();
            }
            let outcome = pipeline.decode(&frame);
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

/// What the scan worker needs to judge and record a text.
pub struct ScanContext {
    /// Read at every scan, so a refreshed trust list applies at once.
    pub rules: crate::sync::SharedRules,
    pub clock: Arc<dyn Clock>,
    pub store: StoreHandle,
}

pub fn spawn_scan_worker(
    ctx: ScanContext,
    jobs: Receiver<(String, Origin)>,
    events: Sender<UiEvent>,
    notify: Notify,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new().name("scan".into()).spawn(move || {
        for (text, origin) in jobs {
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
        Ok(r) => check_text(text, &r.trust, &r.policy, now),
        Err(poisoned) => {
            let r = poisoned.into_inner();
            check_text(text, &r.trust, &r.policy, now)
        }
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
    }
}
