//! The kiosk app as the UI tests drive it: wired as in production with demo passes as the
//! camera's frames, in a kittest harness.

use std::sync::Arc;
use std::time::{Duration, Instant};

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use kiosk::app::KioskApp;
use kiosk::app::state::Screen;
use kiosk::clock::{Clock, SystemClock};
use kiosk::config::{Config, Secret};
use kiosk::frames::ReplaySource;

pub struct Rig {
    pub _dir: tempfile::TempDir,
    pub config: Config,
}

/// The app wired as in production (`kiosk::app::build`, the function start-up calls), with
/// the given demo passes as the camera's frames.
pub fn app_with_frames(labels: &[&str]) -> (KioskApp, Rig) {
    app_with_frames_tweaked(labels, |_| {})
}

/// [`app_with_frames`] with the configuration adjusted by `tweak`.
pub fn app_with_frames_tweaked(labels: &[&str], tweak: impl FnOnce(&mut Config)) -> (KioskApp, Rig) {
    app_with_texts(demo_texts(labels, SystemClock.now()), tweak)
}

/// The demo passes named by `labels`, signed for a kiosk whose clock reads `now`.
pub fn demo_texts(labels: &[&str], now: chrono::DateTime<chrono::Utc>) -> Vec<String> {
    let playlist = kiosk::demo::playlist(now);
    labels
        .iter()
        .map(|l| playlist.iter().find(|p| p.label == *l).unwrap().text.clone())
        .collect()
}

/// [`app_with_frames`] for any pass texts, with the configuration adjusted by `tweak`.
pub fn app_with_texts(texts: Vec<String>, tweak: impl FnOnce(&mut Config)) -> (KioskApp, Rig) {
    app_with_texts_on(texts, tweak, Arc::new(SystemClock))
}

/// [`app_with_texts`] on the given clock (a fixed one makes every screen the same each run).
pub fn app_with_texts_on(
    texts: Vec<String>,
    tweak: impl FnOnce(&mut Config),
    clock: Arc<dyn Clock>,
) -> (KioskApp, Rig) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::defaults().unwrap();
    config
        .trust
        .add(kiosk::demo::DEMO_ISSUER, kiosk::demo::demo_key().public_key());
    config.db_path = dir.path().join("ui.db");
    config.venue_name = "Test venue".into();
    config.gate_name = "Gate 1".into();
    config.capacity = Some(10);
    config.verdict_seconds = 30.0;
    // Silent: no espeak-ng and aplay for every verdict of every UI test.
    config.sound.volume = 0;
    config.operator_pin_hash = Secret(kiosk::app::hash_pin(kiosk::app::DEMO_PIN).unwrap());
    // Never onto a developer's own USB stick: a test that wants one mounts its own.
    config.usb_mount_roots = Vec::new();
    tweak(&mut config);
    let mut rng = kiosk::framegen::Rng::new(3);
    let easy = kiosk::framegen::Difficulty {
        min_code_px: 320.0,
        max_code_px: 360.0,
        max_rotation_deg: 5.0,
        max_perspective: 0.02,
        max_blur_sigma: 0.4,
        max_noise: 3.0,
        jpeg_quality: (90, 95),
    };
    let frames: Vec<_> = texts
        .iter()
        .map(|text| kiosk::framegen::camera_frame(text, &mut rng, &easy).unwrap())
        .collect();
    let source: Option<kiosk::app::MakeSource> = (!frames.is_empty()).then(|| {
        let source = ReplaySource::new(frames, "test".into(), Duration::from_secs(3), Duration::from_secs(60));
        Box::new(move || Box::new(source) as Box<dyn kiosk::frames::FrameSource>) as kiosk::app::MakeSource
    });
    let app = kiosk::app::build(&config, clock, source, Arc::new(|| {})).unwrap();
    (app, Rig { _dir: dir, config })
}

pub fn harness(app: KioskApp) -> Harness<'static, KioskApp> {
    harness_sized(app, egui::vec2(1280.0, 800.0))
}

/// The app in a window of `size` pixels (one pixel per point, as a kiosk panel).
pub fn harness_sized(app: KioskApp, size: egui::Vec2) -> Harness<'static, KioskApp> {
    Harness::builder()
        .with_size(size)
        .with_context_setup(kiosk::app::install_fonts)
        .build_ui_state(
            |ui, app: &mut KioskApp| {
                app.poll(ui.ctx());
                app.root_ui(ui);
            },
            app,
        )
}

/// [`harness_sized`] that can also render what it shows (on the CPU), for snapshot tests.
pub fn harness_rendering(app: KioskApp, size: egui::Vec2) -> Harness<'static, KioskApp> {
    Harness::builder()
        .with_size(size)
        .renderer(snapshot_render::CpuRenderer::default())
        .with_context_setup(kiosk::app::install_fonts)
        .build_ui_state(
            |ui, app: &mut KioskApp| {
                app.poll(ui.ctx());
                app.root_ui(ui);
            },
            app,
        )
}

/// Steps the UI until `label` is shown, or fails after `secs`.
pub fn wait_for(h: &mut Harness<'_, KioskApp>, label: &str, secs: u64) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        h.step();
        if h.query_by_label_contains(label).is_some() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{label:?} never appeared");
}

pub fn enter_pin(h: &mut Harness<'_, KioskApp>, pin: &str) {
    for d in pin.chars() {
        h.get_by_label(&d.to_string()).click();
        h.step();
    }
    h.get_by_label("确认").click();
    h.step();
    let deadline = Instant::now() + Duration::from_secs(20);
    while h.state().state.pin.checking && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
        h.step();
    }
}

/// Opens the operator screen with the right PIN and waits for today's view from the store.
pub fn open_operator_screen(app: KioskApp) -> Harness<'static, KioskApp> {
    let mut h = harness(app);
    h.run();
    to_operator_screen(&mut h);
    h
}

/// [`open_operator_screen`] once the camera's pass has shown its verdict (`title`), so the
/// day's log holds it.
pub fn open_operator_screen_after(app: KioskApp, title: &str) -> Harness<'static, KioskApp> {
    let mut h = harness(app);
    wait_for(&mut h, title, 30);
    to_operator_screen(&mut h);
    h
}

fn to_operator_screen(h: &mut Harness<'static, KioskApp>) {
    h.get_by_label("管理员界面").click();
    h.run();
    enter_pin(h, kiosk::app::DEMO_PIN);
    assert_eq!(h.state().state.screen, Screen::Operator);
    wait_for(h, "今日通行记录", 10);
}

/// A node's text: egui puts a label's words in its value, a control's in its label.
pub fn text_of(node: &egui_kittest::Node<'_>) -> String {
    use egui_kittest::kittest::NodeT;
    let ak = node.accesskit_node();
    ak.label().or_else(|| ak.value()).unwrap_or_default()
}
