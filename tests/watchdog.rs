//! The systemd watchdog through the real binary in a real window (Xvfb): the kiosk says
//! `READY=1` once its screen is up and keeps pinging `WATCHDOG=1` while its threads live —
//! what `Type=notify` and `WatchdogSec=` in packaging/kiosk/kiosk.service rely on.

use std::io::{BufRead, BufReader};
use std::os::unix::net::UnixDatagram;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A virtual display on a free number (Xvfb picks it and writes it to stdout).
fn xvfb() -> (Killed, String) {
    let mut child = Command::new("Xvfb")
        .args(["-displayfd", "1", "-screen", "0", "1280x800x24", "-nolisten", "tcp"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("Xvfb is missing: apt-get install xvfb (scripts/test.sh installs it)");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    (Killed(child), format!(":{}", line.trim()))
}

#[test]
fn the_kiosk_tells_systemd_it_is_ready_and_keeps_pinging() {
    ready_and_pinging(&["--demo", "--windowed"]);
}

/// A kiosk whose camera is missing still works (keyboard-wedge scanners, staff entry): it is
/// ready and alive for systemd, not restarted in a loop.
#[test]
fn a_kiosk_without_its_camera_is_still_ready() {
    ready_and_pinging(&["--demo", "--windowed", "--source", "/nonexistent/camera"]);
}

fn ready_and_pinging(args: &[&str]) {
    let (_x, display) = xvfb();
    let dir = tempfile::tempdir().unwrap();
    let socket_path = dir.path().join("notify");
    let socket = UnixDatagram::bind(&socket_path).unwrap();
    socket.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let kiosk = Command::new(env!("CARGO_BIN_EXE_kiosk"))
        .args(args)
        .env("DISPLAY", &display)
        .env_remove("WAYLAND_DISPLAY")
        .env("TMPDIR", dir.path())
        .env("NOTIFY_SOCKET", &socket_path)
        .env("WATCHDOG_USEC", "3000000")
        .env("LIBGL_ALWAYS_SOFTWARE", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _kiosk = Killed(kiosk);

    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut buf = [0u8; 256];
    while Instant::now() < deadline && seen.iter().filter(|m: &&String| m.as_str() == "WATCHDOG=1").count() < 3 {
        if let Ok(n) = socket.recv(&mut buf) {
            let text = String::from_utf8_lossy(&buf[..n]).to_string();
            seen.extend(text.lines().map(str::to_string));
        }
    }
    let ready = seen.iter().position(|m| m == "READY=1");
    let first_ping = seen.iter().position(|m| m == "WATCHDOG=1");
    assert!(ready.is_some(), "no READY=1 within 90 s: {seen:?}");
    assert!(first_ping > ready, "pings come after READY: {seen:?}");
    assert!(
        seen.iter().filter(|m| *m == "WATCHDOG=1").count() >= 3,
        "pings keep coming while the kiosk is alive: {seen:?}"
    );
}
