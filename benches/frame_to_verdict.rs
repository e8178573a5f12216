//! Frame to verdict through the real kiosk: a camera-like frame enters the `FrameSource`, the
//! camera thread decodes it, the scan worker verifies and judges it, the store thread commits
//! the passage (fsync), and the UI's state shows the verdict. Prints p50 / p95 of the whole
//! path and of each step timed alone on the same frames in the same process (decode, verify
//! and policy, commit), so the split and the queueing between threads are both visible.
//!
//! `cargo bench --bench frame_to_verdict -- [--frames N] [--dir DIR]`
//! DIR holds the passage log (default: the system temp folder, a real disk). The UI step ends
//! when `AppState` holds the verdict; a real window then draws it at its next frame (≤ 16.7 ms
//! at 60 Hz), which no headless measurement can include.

use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use kiosk::clock::{Clock, SystemClock};
use kiosk::decode::{GrayImage, LiveScanner};
use kiosk::framegen::{Rng, camera_frame};
use kiosk::frames::{FrameError, FrameSource};

/// A camera that shows the bench's frame when one is handed to it, and an empty grey scene
/// at 10 frames a second otherwise; it notes when each real frame went out.
struct Feed {
    frames: Receiver<GrayImage>,
    entered: Arc<Mutex<Option<Instant>>>,
    blank: GrayImage,
}

impl FrameSource for Feed {
    fn next_frame(&mut self) -> Result<GrayImage, FrameError> {
        match self.frames.recv_timeout(Duration::from_millis(100)) {
            Ok(frame) => {
                if let Ok(mut at) = self.entered.lock() {
                    *at = Some(Instant::now());
                }
                Ok(frame)
            }
            Err(_) => Ok(self.blank.clone()),
        }
    }

    fn describe(&self) -> String {
        "bench feed".into()
    }
}

fn percentile(values: &mut [f64], p: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    values
        .get(((values.len() as f64 - 1.0) * p).round() as usize)
        .copied()
        .unwrap_or(f64::NAN)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mut n = 100usize;
    let mut dir: Option<std::path::PathBuf> = None;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--frames" => n = args.next().and_then(|v| v.parse().ok()).unwrap_or(n),
            "--dir" => dir = args.next().map(Into::into),
            _ => {} // cargo bench passes --bench
        }
    }
    let tmp = match &dir {
        Some(d) => tempfile::tempdir_in(d),
        None => tempfile::tempdir(),
    }
    .expect("a temp folder for the passage log");

    // Real passes from the demo issuer, each a different visitor (no repeat suppression), as
    // camera-like 1280x720 frames a visitor holds up (the demo's mild blur, tilt and noise).
    let key = kiosk::demo::demo_key();
    let now = Utc::now();
    let mut rng = Rng::new(20261207);
    let difficulty = kiosk::demo::HELD_UP;
    let cases: Vec<(String, GrayImage)> = (0..n)
        .map(|i| {
            let claims = passes::vp1::Claims::health(
                kiosk::demo::DEMO_ISSUER,
                format!("bench-{i:05}"),
                "A*",
                passes::vp1::HealthColour::Green,
                now - chrono::Duration::minutes(1),
                now + chrono::Duration::hours(2),
            );
            let text = passes::vp1::issue(&key, &claims).expect("a pass");
            let frame = camera_frame(&text, &mut rng, &difficulty).expect("a frame");
            (text, frame)
        })
        .collect();

    let mut config = kiosk::config::Config::defaults().expect("defaults");
    config.trust.add(kiosk::demo::DEMO_ISSUER, key.public_key());
    config.db_path = tmp.path().join("bench.db");
    config.capacity = None;
    config.sound.volume = 0;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);

    // Each step alone, on the same frames and texts.
    let mut live = LiveScanner::new();
    let mut decode = Vec::new();
    for (_, frame) in &cases {
        let t = Instant::now();
        std::hint::black_box(live.decode(frame));
        decode.push(ms(t.elapsed()));
    }
    let rules = kiosk::check::Rules::vp1(config.trust.clone(), config.policy.clone());
    let mut judge = Vec::new();
    let mut verdicts = Vec::new();
    for (text, _) in &cases {
        let t = Instant::now();
        let v = rules.judge(text, clock.now());
        judge.push(ms(t.elapsed()));
        verdicts.push(v);
    }
    let mut store = kiosk::store::Store::open(
        &tmp.path().join("alone.db"),
        kiosk::store::StoreSettings::from_config(&config),
    )
    .expect("a store");
    let mut commit = Vec::new();
    for ((text, _), verdict) in cases.iter().zip(&verdicts) {
        let t = Instant::now();
        store
            .record_passage(&kiosk::store::ScanInput {
                verdict: verdict.clone(),
                text: text.clone(),
                at: clock.now(),
            })
            .expect("a commit");
        commit.push(ms(t.elapsed()));
    }

    // The whole path, through the kiosk's own threads.
    let (feed, frames): (Sender<GrayImage>, Receiver<GrayImage>) = channel();
    let entered = Arc::new(Mutex::new(None));
    let source = Feed {
        frames,
        entered: entered.clone(),
        blank: GrayImage::from_pixel(1280, 720, image::Luma([128])),
    };
    let make: kiosk::app::MakeSource = Box::new(move || Box::new(source) as Box<dyn FrameSource>);
    let mut app = kiosk::app::build(&config, clock, Some(make), Arc::new(|| {})).expect("the kiosk");
    let ctx = egui::Context::default();
    let mut whole = Vec::new();
    let mut missed = 0;
    for (i, (_, frame)) in cases.iter().enumerate() {
        // A visitor steps up after the previous one has gone: an empty scene first.
        std::thread::sleep(Duration::from_millis(250));
        let seen_before = app
            .state
            .panel
            .as_ref()
            .and_then(|p| p.outcome.recorded.as_ref().ok()?.seq);
        feed.send(frame.clone()).expect("the camera thread");
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            app.poll(&ctx);
            let seq = app
                .state
                .panel
                .as_ref()
                .and_then(|p| p.outcome.recorded.as_ref().ok()?.seq);
            if seq.is_some() && seq != seen_before {
                let done = Instant::now();
                if let Some(at) = entered.lock().ok().and_then(|mut e| e.take()) {
                    whole.push(ms(done - at));
                }
                break;
            }
            if Instant::now() > deadline {
                missed += 1;
                eprintln!("frame {i}: no verdict in 5 s (not read by the live cascade)");
                break;
            }
            std::thread::sleep(Duration::from_micros(200));
        }
    }
    drop(app);

    println!("frame to verdict, {n} camera-like 1280x720 frames ({missed} not read)");
    println!("{:<40} {:>9} {:>9}", "step", "p50 ms", "p95 ms");
    for (name, values) in [
        ("decode (live cascade)", &mut decode),
        ("verify + policy", &mut judge),
        ("commit (one durable transaction)", &mut commit),
        ("whole path, through the threads", &mut whole),
    ] {
        let (p50, p95) = (percentile(values, 0.5), percentile(values, 0.95));
        println!("{name:<40} {p50:>9.2} {p95:>9.2}");
    }
    let (d, j, c, w) = (
        percentile(&mut decode, 0.5),
        percentile(&mut judge, 0.5),
        percentile(&mut commit, 0.5),
        percentile(&mut whole, 0.5),
    );
    println!(
        "{:<40} {:>9.2}   (whole p50 − decode − verify − commit: hand-offs between threads and the UI's poll)",
        "threads and UI",
        w - d - j - c
    );
    println!("budget: p50 and p95 of the whole path under 100 ms");
}
