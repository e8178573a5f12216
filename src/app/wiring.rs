//! Wiring the running kiosk in one place: the store thread, scan worker, camera, housekeeping
//! and sync threads, and the app that reads their channels. Start-up and the UI tests both
//! call [`build`], so the tests cover the production wiring.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use super::KioskApp;
use super::launch::LaunchError;
use super::state::AppState;
use crate::clock::Clock;
use crate::config::Config;
use crate::frames::FrameSource;
use crate::store::writer::StoreHandle;
use crate::store::{Store, StoreSettings};
use crate::sync::SyncStatus;
use crate::workers::{Notify, ScanContext, ScanJobs, UiEvent, spawn_camera, spawn_scan_worker};

/// Opens the frame source on the camera thread (a camera can take seconds to open).
pub type MakeSource = Box<dyn FnOnce() -> Box<dyn FrameSource> + Send>;

/// Starts every background thread for `config` and returns the app. Without a frame source
/// the kiosk still takes codes from a keyboard-wedge scanner and staff entry.
pub fn build(
    config: &Config,
    clock: Arc<dyn Clock>,
    source: Option<MakeSource>,
    notify: Notify,
) -> Result<KioskApp, LaunchError> {
    let (store, moved_aside) = Store::open_for_kiosk(&config.db_path, StoreSettings::from_config(config), clock.now())?;
    let pin = store.pin_lockout()?;
    let newest = store.newest_passage_at()?;
    let n = notify.clone();
    // The threads a visitor depends on beat; under systemd a hung one gets the kiosk restarted.
    let heartbeats = crate::watchdog::Heartbeats::default();
    let (store_handle, _store_thread) = StoreHandle::spawn_watched(store, move || n(), heartbeats.register("store"))?;
    let (events_tx, events_rx) = mpsc::channel();
    let (jobs_tx, jobs_rx) = mpsc::channel();
    if let Some(moved) = &moved_aside {
        eprintln!("kiosk: {}", moved.notice());
        // The receiver is ours and still alive.
        let _sent = events_tx.send(UiEvent::LogMovedAside(moved.notice()));
    }

    // The configuration's trust and policy, plus the last good signed list from the server.
    // Problems with the cached list reach the operator screen (and the journal).
    let base_rules = config.rules();
    let cache = crate::sync::policy_cache_path(&config.db_path);
    let (start_rules, trust_problems) = crate::sync::rules_with_cached_list(config, clock.now());
    let log_clock = crate::clock::behind_log(clock.now(), newest);
    let clock_problem = start_rules.clock_problem(clock.now()).or_else(|| log_clock.clone());
    for p in trust_problems.iter().chain(&clock_problem) {
        eprintln!("kiosk: {p}");
    }
    let start_status = SyncStatus {
        trust_problems,
        clock_problem,
        ..Default::default()
    };
    if start_status != SyncStatus::default() {
        // The receiver is ours and still alive; a failed send cannot happen here.
        let _sent = events_tx.send(UiEvent::Sync(Box::new(start_status.clone())));
    }
    let rules: crate::check::SharedRules = Arc::new(std::sync::RwLock::new(start_rules));
    let scan_ctx = ScanContext {
        rules: rules.clone(),
        clock: clock.clone(),
        store: store_handle.clone(),
        when_not_recorded: config.when_not_recorded,
    };
    spawn_scan_worker(
        scan_ctx,
        jobs_rx,
        events_tx.clone(),
        notify.clone(),
        heartbeats.register("scan"),
    )?;
    if let Some(make_source) = source {
        spawn_camera(
            make_source,
            ScanJobs(jobs_tx.clone()),
            events_tx.clone(),
            notify.clone(),
            heartbeats.register("camera"),
        )?;
    }

    // Housekeeping: close forgotten visits and purge old synced passages, once a minute. A
    // failure (and its recovery) reaches the operator screen.
    let (hk_store, hk_clock, retention) = (store_handle.clone(), clock.clone(), config.retention_days);
    let (hk_tx, hk_notify) = (events_tx.clone(), notify.clone());
    std::thread::Builder::new().name("housekeeping".into()).spawn(move || {
        let mut last: Option<String> = None;
        loop {
            let problem = match hk_store.housekeeping(hk_clock.now(), retention).recv() {
                Ok(Ok(())) => None,
                Ok(Err(e)) => Some(format!("housekeeping: {e}")),
                Err(_) => Some("housekeeping: the store thread has stopped; restart the kiosk".into()),
            };
            if problem != last {
                if hk_tx.send(UiEvent::Housekeeping(problem.clone())).is_err() {
                    return;
                }
                hk_notify();
                last = problem;
            }
            std::thread::sleep(Duration::from_secs(60));
        }
    })?;

    if let Some(sync) = config.sync.clone() {
        let (tx, n) = (events_tx.clone(), notify.clone());
        crate::sync::spawn(
            crate::sync::Gate {
                kiosk_id: config.kiosk_id.clone(),
                capacity: config.capacity,
            },
            sync,
            store_handle.clone(),
            clock.clone(),
            (base_rules, rules, cache),
            SyncStatus {
                clock_problem: log_clock,
                ..start_status
            },
            move |status| {
                // Ends with the UI: nothing left to tell.
                let _sent = tx.send(UiEvent::Sync(Box::new(status)));
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
    // A lockout survives a restart; the screen's clock starts at zero with the app.
    state.pin.failures = pin.failures;
    state.pin.lockouts = pin.lockouts;
    state.pin.locked_until = pin
        .locked_until
        .map(|t| (t - clock.now()).num_milliseconds() as f64 / 1000.0)
        .filter(|s| *s > 0.0);
    state.sync_configured = config.sync.is_some();
    state.large = config.large_text;
    state.large_default = config.large_text;
    state.settings = super::settings::settings_of(config);
    let export_to = crate::store::writer::ExportTo {
        usb_mount_roots: config.usb_mount_roots.clone(),
        fallback: config.db_path.parent().map(PathBuf::from).unwrap_or_default(),
    };
    let ui_beat = heartbeats.register("ui");
    Ok(KioskApp::new(
        state,
        events_rx,
        events_tx,
        ScanJobs(jobs_tx),
        store_handle,
        config.operator_pin_hash.clone(),
        config.timezone,
        export_to,
        clock,
    )
    .watched(heartbeats, ui_beat)
    .speaking(crate::voice::Speaker::start(
        &config.sound,
        crate::i18n::Messages::default(),
    )))
}
