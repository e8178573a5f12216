//! The kiosk window: wires the background threads to the screens. `logic` drains the
//! workers' messages; `ui` draws the current screen and dispatches the commands it returns.
//! Neither blocks nor touches the disk.

pub mod fit;
mod inside;
mod launch;
mod operator;
mod pin;
pub mod settings;
pub mod state;
mod visitor;
mod wiring;

use std::sync::mpsc::{Receiver, Sender};

use egui::TextureHandle;

pub use launch::{DEMO_PIN, Launch, LaunchError, demo_config, hash_pin, install_fonts, run, verify_pin};
use state::{AppState, Command, Screen};
pub use visitor::LARGE_SCALE;
pub use wiring::{MakeSource, build};

use crate::config::Secret;
use crate::i18n::Messages;
use crate::store::writer::StoreHandle;
use crate::workers::{Origin, ScanJobs, UiEvent};

/// The store's reply to a day-view request.
type DayReply = Result<crate::store::DayView, crate::store::StoreError>;

pub struct KioskApp {
    pub state: AppState,
    messages: Messages,
    events: Receiver<UiEvent>,
    /// Replies that arrive on the same channel as worker events (day view, PIN checks).
    events_tx: Sender<UiEvent>,
    jobs: ScanJobs,
    store: StoreHandle,
    pin_hash: Secret,
    tz: chrono_tz::Tz,
    export_to: crate::store::writer::ExportTo,
    preview: Option<TextureHandle>,
    wedge: String,
    pending_export: Option<Receiver<Result<crate::store::writer::Exported, crate::store::StoreError>>>,
    pending_checkout: Option<Receiver<Result<crate::store::CheckedOut, crate::store::StoreError>>>,
    /// The day asked of the store, and where its answer comes: an answer for any other day
    /// than the one on screen is dropped.
    pending_day: Option<(chrono::NaiveDate, Receiver<DayReply>)>,
    clock: std::sync::Arc<dyn crate::clock::Clock>,
    /// Every watched thread's beat (for the systemd watchdog), and the UI's own.
    pub heartbeats: crate::watchdog::Heartbeats,
    ui_beat: crate::watchdog::Beat,
    /// Verdict tones and spoken prompts, on their own thread.
    speaker: crate::voice::Speaker,
}

impl KioskApp {
    /// The heartbeats the wiring registered; the UI beats at every frame and asks for a frame
    /// at least every second, so a UI that stops drawing stops the watchdog's pings.
    pub fn watched(mut self, heartbeats: crate::watchdog::Heartbeats, ui_beat: crate::watchdog::Beat) -> Self {
        self.heartbeats = heartbeats;
        self.ui_beat = ui_beat;
        self
    }

    /// Verdicts are heard through `speaker` (silent until given one: UI tests stay quiet).
    pub fn speaking(mut self, speaker: crate::voice::Speaker) -> Self {
        self.speaker = speaker;
        self
    }

    #[allow(clippy::too_many_arguments)]
    pub fn new(
        state: AppState,
        events: Receiver<UiEvent>,
        events_tx: Sender<UiEvent>,
        jobs: ScanJobs,
        store: StoreHandle,
        pin_hash: Secret,
        tz: chrono_tz::Tz,
        export_to: crate::store::writer::ExportTo,
        clock: std::sync::Arc<dyn crate::clock::Clock>,
    ) -> Self {
        KioskApp {
            state,
            messages: Messages::default(),
            events,
            events_tx,
            jobs,
            store,
            pin_hash,
            tz,
            export_to,
            preview: None,
            wedge: String::new(),
            pending_export: None,
            pending_checkout: None,
            pending_day: None,
            clock,
            heartbeats: crate::watchdog::Heartbeats::default(),
            ui_beat: crate::watchdog::Beat::none(),
            speaker: crate::voice::Speaker::silent(),
        }
    }

    /// Drains worker messages and keyboard input; schedules the next repaint when a panel or
    /// lock expires. Called from `App::logic` (and directly by UI tests).
    pub fn poll(&mut self, ctx: &egui::Context) {
        let now = ctx.input(|i| i.time);
        if ctx.input(|i| !i.events.is_empty() || i.pointer.any_down()) {
            self.state.touched(now);
        }
        while let Ok(ev) = self.events.try_recv() {
            match ev {
                UiEvent::Preview(img) => {
                    let color =
                        egui::ColorImage::from_gray([img.width() as usize, img.height() as usize], img.as_raw());
                    match &mut self.preview {
                        Some(tex) => tex.set(color, egui::TextureOptions::LINEAR),
                        None => self.preview = Some(ctx.load_texture("preview", color, egui::TextureOptions::LINEAR)),
                    }
                }
                UiEvent::Camera(err) => {
                    // No frames, no code in view: the brightness hint goes with them.
                    if err.is_some() {
                        self.state.code_unreadable = false;
                    }
                    self.state.camera_error = err;
                }
                UiEvent::UnreadableCode(shown) => self.state.code_unreadable = shown,
                UiEvent::Scanned(outcome) => {
                    self.speaker.say(outcome.shown());
                    let refresh = self.state.screen == Screen::Operator;
                    self.state.scanned(*outcome, now);
                    if refresh {
                        self.request_day();
                    }
                }
                UiEvent::Sync(status) => {
                    self.state.synced(*status);
                    // Who is inside may have changed at other gates: the operator sees it.
                    if self.state.screen == Screen::Operator && self.pending_day.is_none() {
                        self.request_day();
                    }
                }
                UiEvent::Housekeeping(problem) => self.state.housekeeping_error = problem,
                UiEvent::LogMovedAside(notice) => self.state.log_notice = Some(notice),
                UiEvent::PinChecked(ok) => {
                    self.state.pin_checked(ok, now);
                    let remaining = self.state.pin.locked_until.map(|t| t - now).filter(|s| *s > 0.0);
                    self.store.save_pin_lockout(crate::store::PinLockout {
                        failures: self.state.pin.failures,
                        lockouts: self.state.pin.lockouts,
                        locked_until: remaining
                            .map(|s| self.clock.now() + chrono::Duration::milliseconds((s * 1000.0) as i64)),
                    });
                    if ok {
                        self.request_day();
                    }
                }
            }
        }
        let answered = self
            .pending_day
            .as_ref()
            .and_then(|(day, rx)| Some((*day, rx.try_recv().ok()?)));
        if let Some((day, result)) = answered {
            self.pending_day = None;
            if self.state.day_shown == Some(day) {
                self.state.day_loaded(result.map_err(|e| e.to_string()));
            }
            ctx.request_repaint();
        }
        // Past midnight "today" is a new day: the operator watching today follows it.
        if self.state.screen == Screen::Operator
            && self.state.day_offset == 0
            && self.pending_day.is_none()
            && self.state.day_shown.is_some_and(|d| d != self.operator_day())
        {
            self.request_day();
        }
        if let Some(result) = self.pending_export.as_ref().and_then(answer) {
            self.pending_export = None;
            self.state.export_message = Some(match result {
                Ok(e) => format!(
                    "{} {} → {}",
                    self.messages.get(
                        self.state.lang,
                        if e.usb { "op-exported-usb" } else { "op-exported-local" }
                    ),
                    e.count,
                    e.path.display()
                ),
                Err(e) => format!("{} {e}", self.messages.get(self.state.lang, "op-export-failed")),
            });
        }
        if let Some(result) = self.pending_checkout.as_ref().and_then(answer) {
            self.pending_checkout = None;
            self.state
                .checked_out(result.map(|c| (c.closed, c.occupancy)).map_err(|e| e.to_string()));
            // The log and who is inside changed: show them as they are now.
            if self.state.screen == Screen::Operator {
                self.request_day();
            }
        }
        match self.state.screen {
            Screen::Visitor => self.read_wedge(ctx),
            Screen::Pin => self.read_pin_keys(ctx, now),
            Screen::Operator => {}
        }
        if self.state.screen != Screen::Visitor && ctx.input(|i| i.key_pressed(egui::Key::Escape)) {
            self.state.leave();
        }
        if let Some(wait) = self.state.tick(now) {
            ctx.request_repaint_after(std::time::Duration::from_secs_f64(wait.max(0.05)));
        }
        if self.pending_day.is_some() || self.pending_export.is_some() || self.pending_checkout.is_some() {
            ctx.request_repaint_after(std::time::Duration::from_millis(50));
        }
    }

    /// A keyboard-wedge scanner types the code's text and Enter; F2 opens the PIN pad.
    fn read_wedge(&mut self, ctx: &egui::Context) {
        let events = ctx.input(|i| i.events.clone());
        for ev in events {
            match ev {
                egui::Event::Text(t) => self.wedge.push_str(&t),
                egui::Event::Key {
                    key: egui::Key::Enter,
                    pressed: true,
                    ..
                } => {
                    let text = std::mem::take(&mut self.wedge);
                    if !text.trim().is_empty() {
                        let _ = self.jobs.0.send((text.trim().to_string(), Origin::Wedge));
                    }
                }
                egui::Event::Key {
                    key: egui::Key::F2,
                    pressed: true,
                    ..
                } => self.state.open_pin(),
                _ => {}
            }
        }
        if self.wedge.len() > 8192 {
            self.wedge.clear(); // not a scanner: someone leaning on the keyboard
        }
    }

    /// The PIN pad also takes a keyboard's digits, Backspace and Enter.
    fn read_pin_keys(&mut self, ctx: &egui::Context, now: f64) {
        let events = ctx.input(|i| i.events.clone());
        for ev in events {
            match ev {
                egui::Event::Text(t) => t.chars().for_each(|c| self.state.pin_digit(c, now)),
                egui::Event::Key {
                    key: egui::Key::Backspace,
                    pressed: true,
                    ..
                } => {
                    self.state.pin.entered.pop();
                }
                egui::Event::Key {
                    key: egui::Key::Enter,
                    pressed: true,
                    ..
                } => self.dispatch(ctx, Command::PinSubmit),
                _ => {}
            }
        }
    }

    /// The local day the operator looks at: today, or as many days before as they stepped.
    fn operator_day(&self) -> chrono::NaiveDate {
        let today = self.clock.now().with_timezone(&self.tz).date_naive();
        today + chrono::Duration::days(self.state.day_offset)
    }

    fn request_day(&mut self) {
        let day = self.operator_day();
        if self.state.day_shown != Some(day) {
            // Never one day's numbers under another day's date, even for a frame.
            self.state.day = None;
            self.state.day_error = None;
        }
        self.state.day_shown = Some(day);
        self.pending_day = Some((day, self.store.day(day, self.tz, self.clock.now())));
    }

    fn dispatch(&mut self, ctx: &egui::Context, command: Command) {
        let now = ctx.input(|i| i.time);
        match command {
            Command::ToggleLang => self.state.lang = self.state.lang.other(),
            Command::ToggleLarge => self.state.large = !self.state.large,
            Command::ToggleSettings => self.state.show_settings = !self.state.show_settings,
            Command::OpenPin => self.state.open_pin(),
            Command::PinDigit(d) => self.state.pin_digit(d, now),
            Command::PinBackspace => {
                self.state.pin.entered.pop();
            }
            Command::PinSubmit => {
                if let Some(pin) = self.state.pin_submit(now) {
                    let hash = self.pin_hash.clone();
                    let tx = self.events_tx.clone();
                    let ctx = ctx.clone();
                    // argon2 takes tens of ms by design: never on the UI thread.
                    let spawned = std::thread::Builder::new().name("pin".into()).spawn(move || {
                        let _ = tx.send(UiEvent::PinChecked(launch::verify_pin(&hash, &pin)));
                        ctx.request_repaint();
                    });
                    if spawned.is_err() {
                        self.state.pin_checked(false, now);
                    }
                }
            }
            Command::Leave => self.state.leave(),
            Command::RefreshDay => self.request_day(),
            Command::ShiftDay(n) => {
                if self.state.shift_day(n) {
                    self.request_day();
                }
            }
            Command::ExportDay => {
                // The day on the screen, even if midnight passed since it was loaded.
                let day = self.state.day_shown.unwrap_or_else(|| self.operator_day());
                self.pending_export = Some(self.store.export_day(day, self.tz, self.export_to.clone()));
            }
            Command::StaffCheck(text) => {
                let _ = self.jobs.0.send((text, Origin::Staff));
                self.state.staff_text.clear();
            }
            Command::AskCheckOut(who) => self.state.ask_check_out(who),
            Command::CancelCheckOut => self.state.confirm = None,
            Command::CheckOut(subject) => {
                if let Some(who) = self.state.check_out_one(subject) {
                    self.pending_checkout = Some(self.store.check_out(who, self.clock.now()));
                }
            }
            Command::ConfirmCheckOut => {
                if let Some(who) = self.state.confirm_check_out() {
                    self.pending_checkout = Some(self.store.check_out(who, self.clock.now()));
                }
            }
        }
    }

    /// Draws the current screen and carries out what it asked for.
    pub fn root_ui(&mut self, ui: &mut egui::Ui) {
        fit::fit_ui(ui.ctx());
        let now = ui.input(|i| i.time);
        let mut frame = egui::Frame::central_panel(ui.style());
        if self.state.screen == Screen::Visitor && self.state.large {
            frame = frame.fill(egui::Color32::BLACK);
        }
        let commands = frame
            .show(ui, |ui| {
                ui.set_min_size(ui.available_size());
                match self.state.screen {
                    Screen::Visitor => visitor::visitor_ui(ui, &self.state, &self.messages, self.preview.as_ref()),
                    Screen::Pin => pin::pin_ui(ui, &self.state, &self.messages, now),
                    Screen::Operator => operator::operator_ui(ui, &mut self.state, &self.messages, self.tz),
                }
            })
            .inner;
        let ctx = ui.ctx().clone();
        for c in commands {
            self.dispatch(&ctx, c);
        }
    }
}

/// The widest texture egui may make (its glyph atlas above all); the camera preview is 480 px.
const ATLAS_SIDE: usize = 2048;

/// A worker's answer if it came; a worker gone without answering is an answer too (an error),
/// so the screen never waits for it for ever.
fn answer<T>(rx: &Receiver<Result<T, crate::store::StoreError>>) -> Option<Result<T, crate::store::StoreError>> {
    match rx.try_recv() {
        Ok(result) => Some(result),
        Err(std::sync::mpsc::TryRecvError::Empty) => None,
        Err(std::sync::mpsc::TryRecvError::Disconnected) => Some(Err(crate::store::StoreError::Gone)),
    }
}

impl eframe::App for KioskApp {
    fn logic(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        self.ui_beat.beat();
        ctx.request_repaint_after(std::time::Duration::from_secs(1));
        self.poll(ctx);
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.root_ui(ui);
    }

    /// egui makes its glyph atlas as wide as the largest texture the GPU takes (16384 px under
    /// Mesa's software renderer) and grows it by doubling its height, so every row of large
    /// verdict glyphs cost 64 KiB per pixel of height, held by egui and again by the driver.
    /// Capped at [`ATLAS_SIDE`]: 144 MB RSS with the demo instead of 161 (`scripts/footprint.sh`).
    fn raw_input_hook(&mut self, _ctx: &egui::Context, raw_input: &mut egui::RawInput) {
        let side = raw_input.max_texture_side.unwrap_or(ATLAS_SIDE).min(ATLAS_SIDE);
        raw_input.max_texture_side = Some(side);
    }

    fn on_exit(&mut self, _gl: Option<&eframe::glow::Context>) {
        self.store.stop();
    }
}
