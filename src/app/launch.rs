//! Starting the kiosk: configuration (or the demo's), threads, fonts, and the window.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

use super::wiring::MakeSource;
use crate::clock::{Clock, SystemClock};
use crate::config::{Config, ConfigError, Secret};
use crate::demo::demo_source;
use crate::frames::{CameraSource, FrameSource, ReplaySource};
use crate::store::StoreError;
use crate::workers::Notify;

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
    crate::memory::limit_malloc_arenas();
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
    let (demo, source, camera) = (launch.demo, launch.source.clone(), config.camera.clone());
    let now = clock.now();
    let make_source: MakeSource = Box::new(move || -> Box<dyn FrameSource> {
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
    });
    let app = super::wiring::build(&config, clock, Some(make_source), notify)?;
    // Under systemd (packaging/kiosk/kiosk.service): READY once the screen is up, then the
    // watchdog's pings while every watched thread is alive.
    if let Err(e) = crate::watchdog::spawn(app.heartbeats.clone()) {
        eprintln!("kiosk: no systemd watchdog thread ({e}); the kiosk runs without it");
    }
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
