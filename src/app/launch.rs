//! Starting the kiosk: configuration (or the demo's), threads, fonts, and the window.

use std::path::PathBuf;
use std::sync::mpsc;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

use super::KioskApp;
use super::state::AppState;
use crate::clock::{Clock, SystemClock};
use crate::config::{Config, ConfigError, Secret};
use crate::frames::{CameraSource, FrameSource, ReplaySource, demo_source};
use crate::store::writer::StoreHandle;
use crate::store::{Store, StoreError, StoreSettings};
use crate::workers::{Notify, ScanContext, ScanJobs, spawn_camera, spawn_scan_worker};

/// How the kiosk was asked to start.
#[derive(Debug, Clone, Default)]
pub struct Launch {
    pub config: Option<PathBuf>,
    pub demo: bool,
    pub windowed: bool,
    pub source: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot start a background thread: {0}")]
    Thread(#[from] std::io::Error),
    #[error("cannot open the kiosk window: {0}. Is a display available (DISPLAY / WAYLAND_DISPLAY)?")]
    Window(String),
    #[error("cannot make the demo PIN hash: {0}")]
    Pin(String),
}

const CJK_FONT: &[u8] = include_bytes!("../../assets/fonts/wqy-microhei-gb2312.ttf");

/// Adds the bundled CJK font (WenQuanYi Micro Hei, GB2312 subset) as a fallback for every
/// family, so Chinese never renders as boxes whatever fonts the machine has.
pub fn install_fonts(ctx: &egui::Context) {
    use egui::epaint::text::{FontInsert, FontPriority, InsertFontFamily};
    let families = [egui::FontFamily::Proportional, egui::FontFamily::Monospace]
        .into_iter()
        .map(|family| InsertFontFamily {
            family,
            priority: FontPriority::Lowest,
        })
        .collect();
    ctx.add_font(FontInsert::new(
        "wqy-microhei",
        egui::FontData::from_static(CJK_FONT),
        families,
    ));
    ctx.all_styles_mut(|s| s.spacing.button_padding = egui::vec2(14.0, 10.0));
}

/// Argon2id hash of a PIN, for `[operator] pin_hash`.
pub fn hash_pin(pin: &str) -> Result<String, String> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| e.to_string())?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| e.to_string())?;
    Argon2::default()
        .hash_password(pin.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

pub fn verify_pin(hash: &Secret, pin: &str) -> bool {
    match PasswordHash::new(&hash.0) {
        Ok(parsed) => Argon2::default().verify_password(pin.as_bytes(), &parsed).is_ok(),
        Err(_) => false,
    }
}

/// The PIN of the demo's operator screen (printed in the README).
pub const DEMO_PIN: &str = "2468";

/// Defaults plus the demo issuer, a capacity, a fresh log in the temp folder and PIN 2468.
pub fn demo_config() -> Result<Config, LaunchError> {
    let mut config = Config::defaults()?;
    config
        .trust
        .add(crate::demo::DEMO_ISSUER, crate::demo::demo_key().public_key());
    config.capacity = Some(50);
    // The playlist shows a pass every 7 s; keep each verdict up for most of that.
    config.verdict_seconds = 6.0;
    config.venue_name = "演示商场 Demo Mall".into();
    let db = std::env::temp_dir().join("kiosk-demo.db");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    config.db_path = db;
    config.operator_pin_hash = Secret(hash_pin(DEMO_PIN).map_err(LaunchError::Pin)?);
    Ok(config)
}

pub fn run(launch: Launch) -> Result<(), LaunchError> {
    let config = if launch.demo {
        demo_config()?
    } else {
        Config::discover(launch.config.as_deref())?
    };
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let ctx_cell: Arc<OnceLock<egui::Context>> = Arc::new(OnceLock::new());
    let notify: Notify = {
        let cell = ctx_cell.clone();
        Arc::new(move || {
            if let Some(ctx) = cell.get() {
                ctx.request_repaint();
            }
        })
    };

    let store = Store::open(&config.db_path, StoreSettings::from_config(&config))?;
    let n = notify.clone();
    let (store_handle, _store_thread) = StoreHandle::spawn(store, move || n())?;
    let (events_tx, events_rx) = mpsc::channel();
    let (jobs_tx, jobs_rx) = mpsc::channel();
    // The configuration's trust and policy, plus the last good signed list from the server.
    let base_rules = config.rules();
    let cache = crate::sync::policy_cache_path(&config.db_path);
    let server_key = config.sync.as_ref().and_then(|s| s.server_key.clone());
    // Problems with the cached list reach the operator screen (and the journal), not `let _`.
    let (start_rules, trust_problems) = match server_key
        .as_deref()
        .map(|k| crate::sync::load_cached_policy(k, &cache))
    {
        Some(Ok(Some(p))) => crate::check::Rules::merged(&base_rules, &p),
        Some(Err(e)) => (base_rules.clone(), vec![e.to_string()]),
        _ => (base_rules.clone(), Vec::new()),
    };
    for p in &trust_problems {
        eprintln!("kiosk: {p}");
    }
    if !trust_problems.is_empty() {
        let _ = events_tx.send(crate::workers::UiEvent::Sync(crate::sync::SyncStatus {
            trust_problems,
            ..Default::default()
        }));
    }
    let rules: crate::check::SharedRules = Arc::new(std::sync::RwLock::new(start_rules));
    let scan_ctx = ScanContext {
        rules: rules.clone(),
        clock: clock.clone(),
        store: store_handle.clone(),
    };
    spawn_scan_worker(scan_ctx, jobs_rx, events_tx.clone(), notify.clone())?;

    let (demo, source, camera) = (launch.demo, launch.source.clone(), config.camera.clone());
    let now = clock.now();
    let make_source = move || -> Box<dyn FrameSource> {
        match (source, demo) {
            (Some(path), _) => {
                match ReplaySource::from_path(&path, Duration::from_millis(2500), Duration::from_millis(3000)) {
                    Ok(s) => Box::new(s),
                    Err(e) => Box::new(Broken(e)),
                }
            }
            (None, true) => Box::new(demo_source(now)),
            (None, false) => Box::new(CameraSource::new(camera)),
        }
    };
    spawn_camera(
        make_source,
        ScanJobs(jobs_tx.clone()),
        events_tx.clone(),
        notify.clone(),
    )?;

    // Housekeeping: close forgotten visits and purge old synced passages, once a minute.
    let (hk_store, hk_clock, retention) = (store_handle.clone(), clock.clone(), config.retention_days);
    std::thread::Builder::new().name("housekeeping".into()).spawn(move || {
        loop {
            hk_store.housekeeping(hk_clock.now(), retention);
            std::thread::sleep(Duration::from_secs(60));
        }
    })?;

    if let Some(sync) = config.sync.clone() {
        let (tx, n) = (events_tx.clone(), notify.clone());
        crate::sync::spawn(
            config.kiosk_id.clone(),
            sync,
            store_handle.clone(),
            clock.clone(),
            (base_rules, rules, cache),
            move |status| {
                let _ = tx.send(crate::workers::UiEvent::Sync(status));
                n();
            },
        )?;
    }
    let mut state = AppState::new(
        config.venue_name.clone(),
        config.gate_name.clone(),
        config.capacity,
        config.verdict_seconds as f64,
    );
    state.pin_configured = !config.operator_pin_hash.0.is_empty();
    state.sync_configured = config.sync.is_some();
    let export_dir = config.db_path.parent().map(PathBuf::from).unwrap_or_default();
    let app = KioskApp::new(
        state,
        events_rx,
        events_tx,
        ScanJobs(jobs_tx),
        store_handle,
        config.operator_pin_hash.clone(),
        config.timezone,
        export_dir,
        clock,
    );
    let mut viewport = egui::ViewportBuilder::default()
        .with_title("Venue check-in")
        .with_inner_size([1280.0, 800.0]);
    if !launch.windowed {
        viewport = viewport.with_fullscreen(true);
    }
    let options = eframe::NativeOptions {
        viewport,
        ..Default::default()
    };
    eframe::run_native(
        "venue-kiosk",
        options,
        Box::new(move |cc| {
            install_fonts(&cc.egui_ctx);
            let _ = ctx_cell.set(cc.egui_ctx.clone());
            Ok(Box::new(app))
        }),
    )
    .map_err(|e| LaunchError::Window(e.to_string()))
}

/// A source that could not be opened: reports its error on every call (the camera thread
/// shows it and retries), instead of ending the kiosk.
struct Broken(crate::frames::FrameError);

impl FrameSource for Broken {
    fn next_frame(&mut self) -> Result<image::GrayImage, crate::frames::FrameError> {
        Err(self.0.clone())
    }
    fn describe(&self) -> String {
        self.0.to_string()
    }
}
