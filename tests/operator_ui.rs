//! The operator screen's check-outs and search through egui_kittest, on the real app: a
//! visitor admitted by the camera and others by staff-assisted entry, real store commits.

use std::time::{Duration, Instant};

use chrono::Utc;
use egui_kittest::kittest::Queryable;

mod common;
use common::kiosk_ui::*;

/// A fresh green demo pass for `subject` (the demo issuer is trusted by the test rig).
fn green_pass(subject: &str) -> String {
    let now = Utc::now();
    let claims = passes::vp1::Claims::health(
        kiosk::demo::DEMO_ISSUER,
        subject.to_string(),
        "A*",
        passes::vp1::HealthColour::Green,
        now - chrono::Duration::minutes(1),
        now + chrono::Duration::hours(2),
    );
    passes::vp1::issue(&kiosk::demo::demo_key(), &claims).unwrap()
}

/// Staff-assisted entry: the pass text typed into the staff field, then "check".
fn staff_entry(h: &mut egui_kittest::Harness<'_, kiosk::app::KioskApp>, text: &str) {
    h.get_by_label_contains("人工协助登记").click();
    h.step();
    h.get_by_label_contains("人工协助登记").type_text(text);
    h.step();
    h.get_by_label("核验").click();
    h.step();
}

/// Steps until `done` holds, or fails after `secs`.
fn wait_until(
    h: &mut egui_kittest::Harness<'_, kiosk::app::KioskApp>,
    what: &str,
    secs: u64,
    done: impl Fn(&kiosk::app::KioskApp) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        h.step();
        if done(h.state()) {
            return;
        }
        std::thread::sleep(Duration::from_millis(30));
    }
    panic!("{what} never happened");
}

/// Scrolls the button labelled `label` into view (the day scrolls under the controls) and
/// presses it.
fn click(h: &mut egui_kittest::Harness<'_, kiosk::app::KioskApp>, label: &str) {
    h.get_by_label(label).scroll_to_me();
    h.run_steps(8);
    h.get_by_label(label).click();
    h.run_steps(4);
}

fn inside(app: &kiosk::app::KioskApp) -> usize {
    app.state.day.as_ref().map_or(usize::MAX, |d| d.inside.len())
}

#[test]
fn staff_check_out_one_visitor_then_everyone_after_a_yes() {
    let (app, _rig) = app_with_frames(&["green"]);
    let mut h = open_operator_screen_after(app, "绿码 请进");
    for who in ["visitor-b", "visitor-c"] {
        staff_entry(&mut h, &green_pass(who));
    }
    wait_until(&mut h, "three inside", 20, |a| inside(a) == 3);
    h.get_by_label_contains("当前在场 (3)");

    // The search narrows who is inside (and the day's passages) to one visitor.
    h.get_by_label_contains("查找").click();
    h.step();
    h.get_by_label_contains("查找").type_text("visitor-b");
    h.step();
    h.run_steps(4);
    let buttons = h.query_all_by_label("登记离场").count();
    assert_eq!(buttons, 1, "one row left after the search");
    click(&mut h, "登记离场");
    wait_until(&mut h, "visitor-b checked out", 20, |a| inside(a) == 2);
    assert_eq!(h.state().state.occupancy, 2);
    let passages = &h.state().state.day.as_ref().unwrap().passages;
    let last = passages.last().unwrap();
    assert_eq!(
        (last.subject.as_deref(), last.reason, last.inferred),
        (Some("visitor-b"), wire::Reason::StaffCheckout, true)
    );
    h.state_mut().state.search.clear();
    h.run_steps(4);
    h.get_by_label_contains("人工离场");

    // Everyone came in by this gate: no separate "whole venue" choice.
    assert!(h.query_by_label("全场登记离场（闭馆）").is_none());
    // Closing time: nothing happens on the first press; Cancel keeps everyone inside.
    click(&mut h, "本入口进入的全部登记离场（关闭）");
    h.get_by_label_contains("人数： 2");
    click(&mut h, "取消");
    assert_eq!(inside(h.state()), 2);
    click(&mut h, "本入口进入的全部登记离场（关闭）");
    click(&mut h, "确定登记离场");
    wait_until(&mut h, "everyone checked out", 20, |a| inside(a) == 0);
    h.run_steps(4);
    h.get_by_label("当前无人在场。");
    h.get_by_label_contains("已登记离场： 2");
    assert_eq!(h.state().state.occupancy, 0);
    let closing = h
        .state()
        .state
        .day
        .as_ref()
        .unwrap()
        .passages
        .iter()
        .filter(|p| p.reason == wire::Reason::ClosingCheckout)
        .count();
    assert_eq!(closing, 2);
}

#[test]
fn the_operator_sees_this_kiosks_settings_in_the_screens_language() {
    let (app, _rig) = app_with_frames(&[]);
    let mut h = open_operator_screen(app);
    assert!(h.query_by_label("设备编号").is_none(), "hidden until asked for");
    h.get_by_label("本机设置").click();
    h.run_steps(4);
    h.get_by_label("设备编号");
    h.get_by_label("入场和离场");
    h.get_by_label_contains("kiosk.toml");
    h.get_by_label("English").click();
    h.run_steps(4);
    h.get_by_label("Gate mode");
    h.get_by_label("entry and exit");
    h.get_by_label("Back").click();
    h.run_steps(4);
    assert!(!h.state().state.show_settings, "leaving folds them away");
}
