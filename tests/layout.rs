//! Every screen at each panel a kiosk ships with (7-inch 800×480, 10-inch 1280×800, a
//! 1920×1080 screen, a 1080×1920 totem), in both languages: nothing outside the panel, no two
//! texts on top of each other, every control at least 9 mm for a finger. Real app, real
//! frames, real store; positions read from the AccessKit tree a screen reader gets.

use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use kiosk::app::KioskApp;
use kiosk::i18n::Lang;

mod common;
use common::kiosk_ui::*;
use common::panels::{PANELS, Panel, show_on};

/// Physical pixels: the harness runs at one pixel per point before the app's zoom.
fn rect_of(node: &egui_kittest::Node<'_>) -> Option<egui::Rect> {
    let b = node.accesskit_node().bounding_box()?;
    Some(egui::Rect::from_min_max(
        egui::pos2(b.x0 as f32, b.y0 as f32),
        egui::pos2(b.x1 as f32, b.y1 as f32),
    ))
}

fn on_panel(panel: &Panel) -> egui::Rect {
    egui::Rect::from_min_size(egui::Pos2::ZERO, panel.px).expand(1.0)
}

/// What is wrong with the screen as first shown on `panel`, one line each; and the ids of
/// the nodes below or beside the panel, which must be reachable by scrolling.
fn problems(h: &Harness<'_, KioskApp>, panel: &Panel, screen: &str) -> (Vec<String>, Vec<String>) {
    let (mut found, mut away) = (Vec::new(), Vec::new());
    let finger = 9.0 * panel.px_per_mm();
    let mut texts: Vec<(String, egui::Rect)> = Vec::new();
    for node in h.root().children_recursive() {
        let Some(rect) = rect_of(&node) else { continue };
        let (role, text) = (node.accesskit_node().role(), text_of(&node));
        let what = format!("{screen} on {}: {role:?} {text:?} at {rect:?}", panel.name);
        if !on_panel(panel).contains_rect(rect) {
            away.push(format!("{:?}", node.accesskit_node().id()));
            continue;
        }
        let control = matches!(
            role,
            egui::accesskit::Role::Button | egui::accesskit::Role::TextInput | egui::accesskit::Role::CheckBox
        );
        if control && (rect.height() < finger - 0.5 || rect.width() < finger - 0.5) {
            found.push(format!("{what} is smaller than 9 mm ({finger:.0} px)"));
        }
        if role == egui::accesskit::Role::Label && !text.is_empty() {
            texts.push((text, rect));
        }
    }
    for (i, (a, ra)) in texts.iter().enumerate() {
        for (b, rb) in &texts[i + 1..] {
            let overlap = ra.intersect(*rb);
            if overlap.is_positive() && overlap.area() > 4.0 {
                found.push(format!("{screen} on {}: {a:?} overlaps {b:?}", panel.name));
            }
        }
    }
    (found, away)
}

/// Shows the current screen at every panel size in both languages; returns all problems.
/// First every size as it opens (nothing scrolled), then whatever lay off the panel must come
/// onto it when scrolled to, as a finger would drag it.
fn at_every_size(h: &mut Harness<'_, KioskApp>, screen: &str, titles: [&str; 2]) -> Vec<String> {
    let mut found = Vec::new();
    let mut away = Vec::new();
    for (lang, title) in [Lang::ZhCn, Lang::En].into_iter().zip(titles) {
        h.state_mut().state.lang = lang;
        for (i, panel) in PANELS.iter().enumerate() {
            show_on(h, panel);
            // Still the screen under test (a verdict panel expires), and a screen's worth of
            // nodes with places to check.
            let placed: Vec<_> = h
                .root()
                .children_recursive()
                .filter_map(|n| Some((text_of(&n), rect_of(&n)?)))
                .collect();
            assert!(
                placed.len() >= 5,
                "{screen} ({lang:?}) on {}: only {} nodes placed",
                panel.name,
                placed.len()
            );
            assert!(
                placed
                    .iter()
                    .any(|(t, r)| t.contains(title) && on_panel(panel).contains_rect(*r)),
                "{screen} ({lang:?}) on {}: {title:?} is not on the panel",
                panel.name
            );
            let (problems, off) = problems(h, panel, &format!("{screen} ({lang:?})"));
            found.extend(problems);
            away.push((lang, i, off));
        }
    }
    for (lang, i, off) in away {
        let panel = &PANELS[i];
        h.state_mut().state.lang = lang;
        show_on(h, panel);
        for id in off {
            let Some(node) = h
                .root()
                .children_recursive()
                .find(|n| format!("{:?}", n.accesskit_node().id()) == id)
            else {
                continue; // a frame later it is gone (a tooltip, a spinner): nothing to reach
            };
            let (text, role) = (text_of(&node), node.accesskit_node().role());
            node.scroll_to_me();
            for _ in 0..3 {
                h.step();
            }
            let now = h
                .root()
                .children_recursive()
                .find(|n| format!("{:?}", n.accesskit_node().id()) == id);
            // A grid's cells take new ids as rows come into view: then the same words will do.
            let same_words = || {
                h.root().children_recursive().any(|n| {
                    !text.is_empty()
                        && n.accesskit_node().role() == role
                        && text_of(&n) == text
                        && rect_of(&n).is_some_and(|r| on_panel(panel).contains_rect(r))
                })
            };
            match now.as_ref().and_then(rect_of) {
                Some(r) if on_panel(panel).contains_rect(r) => {}
                None if same_words() => {}
                r => found.push(format!(
                    "{screen} ({lang:?}) on {}: {text:?} stays off the panel when scrolled to ({r:?})",
                    panel.name
                )),
            }
        }
    }
    found
}

fn assert_fits(found: Vec<String>) {
    assert!(found.is_empty(), "{} problems:\n{}", found.len(), found.join("\n"));
}

#[test]
fn the_idle_screen_and_its_error_states_fit_every_panel() {
    let (app, _rig) = app_with_frames(&[]);
    let mut h = harness(app);
    h.run();
    let mut found = at_every_size(&mut h, "idle", ["请出示通行码", "Please show your pass code"]);
    h.state_mut().state.camera_error = Some("no camera at /dev/video0: plug it in or set [camera] device".into());
    h.state_mut().state.housekeeping_error = Some("the disk is full: free space on /var/lib/kiosk".into());
    // Sync down with the venue's room shared ("working alone"), and a code in view that will
    // not read (the brightness hint).
    h.state_mut().state.sync = Some(sync_in_trouble());
    h.state_mut().state.code_unreadable = true;
    found.extend(at_every_size(
        &mut h,
        "idle with errors",
        ["请出示通行码", "Please show your pass code"],
    ));
    assert_fits(found);
}

#[test]
fn each_kind_of_verdict_fits_every_panel() {
    let mut found = Vec::new();
    for (label, title, en) in [
        ("green", "绿码 请进", "Welcome"),
        ("red", "禁止入场", "Entry refused"),
        ("forged", "通行码无效", "Pass not valid"),
    ] {
        let (app, _rig) = app_with_frames(&[label]);
        let mut h = harness(app);
        wait_for(&mut h, title, 20);
        found.extend(at_every_size(&mut h, label, [title, en]));
    }
    assert_fits(found);
}

#[test]
fn the_pin_pad_and_the_operator_screen_fit_every_panel() {
    let (app, _rig) = app_with_frames(&["green"]);
    let mut h = harness(app);
    wait_for(&mut h, "绿码 请进", 20);
    h.get_by_label("管理员界面").click();
    h.run();
    let mut found = at_every_size(&mut h, "PIN pad", ["管理员密码", "Operator PIN"]);
    h.set_size(egui::vec2(1280.0, 800.0));
    h.state_mut().state.lang = Lang::ZhCn;
    h.run();
    enter_pin(&mut h, kiosk::app::DEMO_PIN);
    wait_for(&mut h, "今日通行记录", 10);
    found.extend(at_every_size(&mut h, "operator", ["管理员 · ", "Operator · "]));
    assert_fits(found);
}

/// Every sync trouble the operator screen can show at once: sync failing, a stale trust list,
/// a cut log, a wrong clock, lost and parked passages, a venue cut off with conflicts.
fn sync_in_trouble() -> kiosk::sync::SyncStatus {
    let now = chrono::Utc::now();
    let gate = |name: &str| wire::GateCount {
        kiosk_id: format!("k-{name}"),
        gate: name.into(),
        entries: 1234,
        exits: 1200,
        last_seen: Some(now),
    };
    kiosk::sync::SyncStatus {
        pending: 4812,
        last_success: Some(now - chrono::Duration::hours(30)),
        last_error: Some(
            "cannot reach the trace server at https://trace.example.org: connection refused; check the network".into(),
        ),
        server_missing: vec![(12, 40), (77, 77), (90, 95), (101, 130)],
        parked: vec![(55, "passage time is 3 days in the future".into())],
        trust_problems: vec!["the cached trust list is 9 days old (older than 7): sync to refresh it".into()],
        chain_problem: Some("the server holds passage #400 but this log ends at #380".into()),
        clock_problem: Some("the clock reads 2020-01-01, before the trust list was signed: set the time".into()),
        venue: kiosk::venue::VenueStatus {
            inside: 321,
            occupancy: 330,
            capacity: Some(500),
            gates: vec![gate("North door"), gate("South door"), gate("Car park lift")],
            conflicts: vec![wire::GateConflict {
                subject: "vp1:0123456789abcdef".into(),
                first_kiosk: "k-north".into(),
                first_gate: "North door".into(),
                first_at: now - chrono::Duration::hours(2),
                second_kiosk: "k-south".into(),
                second_gate: "South door".into(),
                second_at: now - chrono::Duration::hours(1),
            }],
            last_contact: Some(now - chrono::Duration::hours(30)),
            alone: true,
            ..Default::default()
        },
    }
}

#[test]
fn the_locked_pin_pad_and_an_operator_screen_in_trouble_fit_every_panel() {
    let (app, _rig) = app_with_frames(&["green"]);
    let mut h = harness(app);
    wait_for(&mut h, "绿码 请进", 20);
    h.get_by_label("管理员界面").click();
    h.run();
    let now = h.ctx.input(|i| i.time);
    h.state_mut().state.pin.locked_until = Some(now + 3600.0);
    h.run();
    let mut found = at_every_size(&mut h, "locked PIN pad", ["管理员密码", "Operator PIN"]);
    h.state_mut().state.pin.locked_until = None;
    h.set_size(egui::vec2(1280.0, 800.0));
    h.state_mut().state.lang = Lang::ZhCn;
    h.run();
    enter_pin(&mut h, kiosk::app::DEMO_PIN);
    wait_for(&mut h, "今日通行记录", 10);
    h.state_mut().state.sync_configured = true;
    h.state_mut().state.sync = Some(sync_in_trouble());
    // "Check out everyone" asked, waiting for the yes, above the list of who is inside.
    h.state_mut().state.confirm = Some(kiosk::store::CheckOut::WholeVenue);
    h.state_mut().state.search = "demo".into();
    h.state_mut().state.show_settings = true;
    h.run();
    found.extend(at_every_size(
        &mut h,
        "operator in trouble",
        ["管理员 · ", "Operator · "],
    ));
    assert_fits(found);
}

#[test]
fn large_type_fits_every_panel_idle_and_with_a_verdict() {
    let (app, _rig) = app_with_frames_tweaked(&[], |c| c.large_text = true);
    let mut h = harness(app);
    h.run();
    assert!(
        h.state().state.large,
        "[display] large_text starts the screen in large type"
    );
    // Its switch says how to go back.
    h.get_by_label("标准字");
    let mut found = at_every_size(&mut h, "large idle", ["请出示通行码", "Please show your pass code"]);
    for (label, title, en) in [("green", "绿码 请进", "Welcome"), ("red", "禁止入场", "Entry refused")] {
        let (app, _rig) = app_with_frames_tweaked(&[label], |c| c.large_text = true);
        let mut h = harness(app);
        wait_for(&mut h, title, 20);
        found.extend(at_every_size(&mut h, &format!("large {label}"), [title, en]));
    }
    assert_fits(found);
}

#[test]
fn a_visitor_switches_to_large_type_and_the_prompt_grows() {
    let (app, _rig) = app_with_frames(&[]);
    let mut h = harness(app);
    h.run();
    let height = |h: &Harness<'_, KioskApp>| rect_of(&h.get_by_label("请出示通行码")).unwrap().height();
    let normal = height(&h);
    h.get_by_label("大字").click();
    h.run();
    assert!(h.state().state.large);
    let large = height(&h);
    assert!(
        (large / normal - kiosk::app::LARGE_SCALE).abs() < 0.1,
        "the prompt went from {normal} to {large} px"
    );
    h.get_by_label("标准字").click();
    h.run();
    assert!(!h.state().state.large);
}
