//! The built-in demo issuer and its playlist of passes, for `kiosk --demo` and tests.
//!
//! The demo key's seed is public (it is in this file), so its passes prove nothing: a real
//! kiosk.toml must not list assets/demo/demo-issuer.pub. Passes are signed at start-up so
//! that they are fresh whatever the date.

use chrono::{DateTime, Duration, Utc};
use passes::vp1::{Claims, HealthColour, IssuerKey, PassKind, TravelEntry};

pub use passes::vp1::DEMO_ISSUER;

pub fn demo_key() -> IssuerKey {
    IssuerKey::demo()
}

/// One demo pass: what it shows, and its QR text.
#[derive(Debug, Clone)]
pub struct DemoPass {
    pub label: &'static str,
    pub text: String,
}

fn claims(subject: &str, name: &str, kind: PassKind, health: Option<HealthColour>, issued_at: DateTime<Utc>) -> Claims {
    Claims {
        issuer: DEMO_ISSUER.into(),
        subject: subject.into(),
        display_name: passes::vp1::mask_name(name),
        kind,
        health,
        travel: Vec::new(),
        risk: false,
        badge_role: None,
        issued_at,
        expires_at: issued_at + Duration::hours(24),
    }
}

/// The playlist: green, yellow, red, expired, forged, a travel card with a risk flag, a staff
/// badge, and the first visitor again (an exit under `auto` gate mode).
pub fn playlist(now: DateTime<Utc>) -> Vec<DemoPass> {
    let key = demo_key();
    let fresh = now - Duration::minutes(5);
    let mut items: Vec<(&'static str, Claims)> = vec![
        (
            "green",
            claims(
                "demo-0001",
                "张小三",
                PassKind::Health,
                Some(HealthColour::Green),
                fresh,
            ),
        ),
        (
            "yellow",
            claims("demo-0002", "李四", PassKind::Health, Some(HealthColour::Yellow), fresh),
        ),
        (
            "red",
            claims(
                "demo-0003",
                "John Doe",
                PassKind::Health,
                Some(HealthColour::Red),
                fresh,
            ),
        ),
    ];
    let mut expired = claims(
        "demo-0004",
        "王五",
        PassKind::Health,
        Some(HealthColour::Green),
        now - Duration::hours(30),
    );
    expired.expires_at = now - Duration::hours(6);
    items.push(("expired", expired));
    let mut travel = claims("demo-0006", "Ann Lee", PassKind::Travel, None, fresh);
    travel.travel = vec![TravelEntry {
        region: "R-East".into(),
        date: (now - Duration::days(3)).date_naive(),
    }];
    travel.risk = true;
    items.push(("travel-risk", travel));
    let mut badge = claims("demo-0007", "赵师傅", PassKind::Badge, None, fresh);
    badge.badge_role = Some("staff".into());
    badge.expires_at = now + Duration::days(365);
    items.push(("badge", badge));

    let mut out: Vec<DemoPass> = items
        .into_iter()
        .filter_map(|(label, c)| passes::vp1::issue(&key, &c).ok().map(|text| DemoPass { label, text }))
        .collect();
    // Forged: a green pass signed by a key that merely claims to be the demo issuer.
    let forger = IssuerKey::from_seed(DEMO_ISSUER, [0x66; 32]);
    if let Ok(text) = passes::vp1::issue(
        &forger,
        &claims("demo-0005", "假冒", PassKind::Health, Some(HealthColour::Green), fresh),
    ) {
        out.insert(4, DemoPass { label: "forged", text });
    }
    if let Some(first) = out.first().cloned() {
        out.push(DemoPass {
            label: "exit",
            text: first.text,
        });
    }
    out
}

/// How a visitor holds a pass up to the demo's camera: mild blur, tilt and noise (also what
/// the frame-to-verdict bench shows the kiosk).
pub const HELD_UP: crate::framegen::Difficulty = crate::framegen::Difficulty {
    min_code_px: 300.0,
    max_code_px: 420.0,
    max_rotation_deg: 8.0,
    max_perspective: 0.05,
    max_blur_sigma: 0.6,
    max_noise: 4.0,
    jpeg_quality: (85, 95),
};

/// The demo playlist as camera-like 1280×720 frames ([`HELD_UP`]), each made when its turn
/// comes (a few tens of ms every seven seconds) instead of all held in memory.
pub fn demo_source(now: chrono::DateTime<chrono::Utc>) -> crate::frames::ReplaySource {
    let passes = playlist(now);
    let count = passes.len();
    crate::frames::ReplaySource::made(
        count,
        Box::new(move |i| demo_frame(&passes, i)),
        "demo playlist".into(),
        std::time::Duration::from_millis(2500),
        std::time::Duration::from_millis(4500),
    )
}

/// Pass `i` of the playlist held up to the camera; the same frame every time it comes round.
fn demo_frame(passes: &[DemoPass], i: usize) -> Option<image::GrayImage> {
    let mut rng = crate::framegen::Rng::new(7 + i as u64);
    let pass = passes.get(i)?;
    crate::framegen::camera_frame(&pass.text, &mut rng, &HELD_UP).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The demo's frames are made as they come round: every one must be readable by the
    /// camera pipeline, or a newcomer's first demo shows a pass the kiosk never reads.
    #[test]
    fn every_demo_frame_reads_as_its_pass() {
        use crate::frames::FrameSource;
        let now = chrono::Utc::now();
        let passes = playlist(now);
        for i in 0..passes.len() {
            let frame = demo_frame(&passes, i).expect("a demo frame is made");
            let mut scanner = crate::decode::LiveScanner::without_time_budget();
            let texts: Vec<String> = (0..3).flat_map(|_| scanner.decode(&frame).texts).collect();
            assert!(
                texts.contains(&passes[i].text),
                "demo frame {i} ({}) unread",
                passes[i].label
            );
        }
        let mut source = demo_source(now);
        assert!(source.describe().contains(&format!("{} images", passes.len())));
        assert_eq!(source.next_frame().map(|f| f.dimensions()), Ok((1280, 720)));
    }

    #[test]
    fn shipped_public_key_matches_the_demo_seed() {
        let shipped = include_str!("../assets/demo/demo-issuer.pub");
        assert_eq!(shipped, demo_key().to_public_file());
    }
}
