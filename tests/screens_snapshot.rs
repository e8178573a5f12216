//! Every visitor and operator screen at each panel size, compared pixel by pixel with the
//! images committed under tests/snapshots (egui_kittest snapshots, rendered on the CPU by
//! `crates/snapshot-render`, so no GPU or driver is needed and every machine draws the same).
//! The kiosk's clock is fixed, so dates and times on the screens are the same each run.
//!
//! After a deliberate change to a screen: `UPDATE_SNAPSHOTS=true cargo nextest run --test
//! screens_snapshot`, look at the new images, commit them.

use std::sync::Arc;

use egui_kittest::kittest::Queryable;
use egui_kittest::{Harness, SnapshotResults};
use kiosk::app::KioskApp;
use kiosk::clock::{Clock, FixedClock};
use kiosk::i18n::Lang;

mod common;
use common::kiosk_ui::*;
use common::panels::{PANELS, show_on};

/// 2026-12-07 10:30 in Shanghai: a weekday morning.
fn clock() -> Arc<dyn Clock> {
    let at = chrono::DateTime::parse_from_rfc3339("2026-12-07T02:30:00Z")
        .unwrap()
        .to_utc();
    Arc::new(FixedClock::new(at))
}

fn app(labels: &[&str], tweak: impl FnOnce(&mut kiosk::config::Config)) -> Harness<'static, KioskApp> {
    let clock = clock();
    let texts = demo_texts(labels, clock.now());
    let (app, rig) = app_with_texts_on(texts, tweak, clock);
    // The rig's temp folder must outlive the harness: leak it for the test's short life.
    std::mem::forget(rig);
    harness_rendering(app, egui::vec2(1280.0, 800.0))
}

/// Snapshots the screen as it is now at every panel size, named `<screen>-<W>x<H>`.
fn at_every_size(h: &mut Harness<'static, KioskApp>, screen: &str) {
    for panel in &PANELS {
        show_on(h, panel);
        h.run_steps(2);
        h.snapshot(format!("{screen}-{}x{}", panel.px.x, panel.px.y));
    }
}

#[test]
fn the_visitor_screens_look_as_committed() {
    // Every harness's results in one place: each failing image is reported, not only the first.
    let mut results = SnapshotResults::new();
    let mut h = app(&[], |_| {});
    h.run_steps(2);
    at_every_size(&mut h, "idle");
    h.state_mut().state.camera_error = Some("no camera at /dev/video0: plug it in or set [camera] device".into());
    h.state_mut().state.housekeeping_error = Some("the disk is full: free space on /var/lib/kiosk".into());
    h.state_mut().state.code_unreadable = true;
    at_every_size(&mut h, "idle-errors");
    h.state_mut().state.camera_error = None;
    h.state_mut().state.code_unreadable = false;
    h.get_by_label("大字").click();
    h.run_steps(2);
    at_every_size(&mut h, "idle-large");
    results.extend_harness(&mut h);

    for (label, title) in [("green", "绿码 请进"), ("red", "禁止入场"), ("forged", "通行码无效")] {
        let mut h = app(&[label], |_| {});
        wait_for(&mut h, title, 20);
        at_every_size(&mut h, &format!("verdict-{label}"));
        if label == "green" {
            h.state_mut().state.lang = Lang::En;
            at_every_size(&mut h, "verdict-green-en");
        }
        results.extend_harness(&mut h);
    }
    results.unwrap();
}

#[test]
fn the_pin_pad_and_the_operator_screen_look_as_committed() {
    let mut h = app(&["green"], |_| {});
    wait_for(&mut h, "绿码 请进", 20);
    h.get_by_label("管理员界面").click();
    h.run_steps(2);
    at_every_size(&mut h, "pin");
    h.set_size(egui::vec2(1280.0, 800.0));
    h.run_steps(2);
    enter_pin(&mut h, kiosk::app::DEMO_PIN);
    wait_for(&mut h, "今日通行记录 (1)", 10);
    at_every_size(&mut h, "operator");
    h.set_size(egui::vec2(1280.0, 800.0));
    h.run_steps(2);
    h.get_by_label("本机设置").click();
    h.run_steps(2);
    at_every_size(&mut h, "operator-settings");
}
