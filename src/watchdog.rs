//! Liveness for systemd: the threads a visitor depends on (UI, camera, scan, store) beat; a
//! watchdog thread tells systemd `READY=1` once the screen is up, then `WATCHDOG=1` only while
//! every one of them beat recently. A hung thread stops the pings, and systemd restarts the
//! kiosk (`WatchdogSec=` in packaging/kiosk/kiosk.service).
//!
//! Under `cage` the kiosk is the compositor's child, not the unit's main process: systemd's
//! `WATCHDOG_PID` names cage, so the usual "is it for me" check would switch the watchdog off.
//! The unit sets `NotifyAccess=all`, and this module speaks the (tiny) notify protocol itself.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Each watched thread: its name, when it was registered, and its last beat (milliseconds
/// since the origin, plus one; 0 until its first beat).
type Registry = Arc<std::sync::Mutex<Vec<(&'static str, u64, Arc<AtomicU64>)>>>;

/// The beats of every watched thread, as milliseconds since `origin`.
#[derive(Clone)]
pub struct Heartbeats {
    origin: Instant,
    beats: Registry,
}

/// One thread's beat; cheap to call in a loop. `Beat::none()` for threads nobody watches
/// (tests, commands).
#[derive(Clone)]
pub struct Beat {
    origin: Instant,
    last: Option<Arc<AtomicU64>>,
}

impl Beat {
    pub fn none() -> Beat {
        Beat {
            origin: Instant::now(),
            last: None,
        }
    }

    pub fn beat(&self) {
        if let Some(last) = &self.last {
            last.store(self.origin.elapsed().as_millis() as u64 + 1, Ordering::Relaxed);
        }
    }
}

impl Default for Heartbeats {
    fn default() -> Self {
        Heartbeats {
            origin: Instant::now(),
            beats: Arc::default(),
        }
    }
}

impl Heartbeats {
    /// A beat for the thread `name`, counted as alive from now.
    pub fn register(&self, name: &'static str) -> Beat {
        let last = Arc::new(AtomicU64::new(0));
        if let Ok(mut beats) = self.beats.lock() {
            beats.push((name, self.origin.elapsed().as_millis() as u64, last.clone()));
        }
        Beat {
            origin: self.origin,
            last: Some(last),
        }
    }

    /// The threads that did not beat within `limit` before `now` (a thread that never beat
    /// counts from its registration).
    pub fn stale(&self, now: Instant, limit: Duration) -> Vec<&'static str> {
        let now_ms = now.saturating_duration_since(self.origin).as_millis() as u64;
        let limit_ms = limit.as_millis() as u64;
        // A poisoned registry (a thread panicked while registering) is still read: treating it
        // as empty would report everyone alive for ever.
        let beats = self.beats.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        beats
            .iter()
            .filter(|(_, registered, last)| {
                let seen = match last.load(Ordering::Relaxed) {
                    0 => *registered,
                    t => t - 1,
                };
                now_ms.saturating_sub(seen) > limit_ms
            })
            .map(|(name, _, _)| *name)
            .collect()
    }

    /// Whether every watched thread has beaten at least once (the screen drew its first frame,
    /// the camera loop runs, the scan and store threads wait for work).
    pub fn all_started(&self) -> bool {
        let beats = self.beats.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        beats.iter().all(|(_, _, last)| last.load(Ordering::Relaxed) != 0)
    }
}

/// Sends one notify message (`READY=1`, `WATCHDOG=1`, `STATUS=…`) to `$NOTIFY_SOCKET`; a
/// no-op outside systemd.
pub fn notify(message: &str) -> std::io::Result<()> {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
        return Ok(());
    };
    let socket = std::os::unix::net::UnixDatagram::unbound()?;
    let bytes = path.as_encoded_bytes();
    if let Some(name) = bytes.strip_prefix(b"@") {
        // An abstract socket (systemd's default in some set-ups).
        use std::os::linux::net::SocketAddrExt;
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
        socket.send_to_addr(message.as_bytes(), &addr)?;
    } else {
        socket.send_to(message.as_bytes(), &path)?;
    }
    Ok(())
}

/// The watchdog interval systemd asks for (`WATCHDOG_USEC`), if any.
pub fn watchdog_interval() -> Option<Duration> {
    let usec: u64 = std::env::var("WATCHDOG_USEC").ok()?.parse().ok()?;
    (usec > 0).then(|| Duration::from_micros(usec))
}

/// What the watchdog says at one tick.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tick {
    /// Every watched thread is alive: ping.
    Alive,
    /// These are not: no ping (systemd restarts the kiosk when the interval runs out).
    Hung(Vec<&'static str>),
}

/// A thread is hung when it has not beat for two thirds of systemd's interval: the pings stop
/// early enough for systemd to act within the interval after the hang began.
pub fn tick(beats: &Heartbeats, now: Instant, interval: Duration) -> Tick {
    let stale = beats.stale(now, interval * 2 / 3);
    if stale.is_empty() {
        Tick::Alive
    } else {
        Tick::Hung(stale)
    }
}

/// Starts the watchdog thread when systemd asked for one: `READY=1` after `ready` beats once
/// (the screen is up), then a ping every third of the interval while everyone is alive.
pub fn spawn(beats: Heartbeats) -> std::io::Result<()> {
    if std::env::var_os("NOTIFY_SOCKET").is_none() {
        return Ok(());
    }
    let interval = watchdog_interval();
    std::thread::Builder::new().name("watchdog".into()).spawn(move || {
        // Ready once every watched thread has run its loop (the UI from its first frame).
        while !beats.all_started() {
            std::thread::sleep(Duration::from_millis(200));
        }
        // A lost READY would have systemd kill a working kiosk at TimeoutStartSec: retry.
        for attempt in 1..=5 {
            match notify("READY=1\nSTATUS=scanning") {
                Ok(()) => break,
                Err(e) => {
                    eprintln!("kiosk: cannot tell systemd the kiosk is ready (attempt {attempt}): {e}");
                    std::thread::sleep(Duration::from_secs(1));
                }
            }
        }
        let Some(interval) = interval else { return };
        let mut was_hung = false;
        loop {
            std::thread::sleep(interval / 3);
            match tick(&beats, Instant::now(), interval) {
                Tick::Alive => {
                    was_hung = false;
                    if let Err(e) = notify("WATCHDOG=1") {
                        eprintln!("kiosk: watchdog ping failed: {e}");
                    }
                }
                Tick::Hung(names) => {
                    if !was_hung {
                        eprintln!(
                            "kiosk: watchdog: the {} thread(s) stopped responding; systemd will restart the kiosk",
                            names.join(", ")
                        );
                        let _ = notify(&format!("STATUS=hung: {}", names.join(", ")));
                    }
                    was_hung = true;
                }
            }
        }
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thread_that_stops_beating_stops_the_pings() {
        let beats = Heartbeats::default();
        let ui = beats.register("ui");
        let camera = beats.register("camera");
        let interval = Duration::from_secs(30);
        let start = Instant::now();
        assert_eq!(tick(&beats, start, interval), Tick::Alive);
        assert!(!beats.all_started(), "nobody has beaten yet");
        // 25 s on, only the UI kept beating (beats are stored relative to the origin, plus
        // one; set the UI's as if beaten at +25 s).
        ui.last.as_ref().unwrap().store(
            (start + Duration::from_secs(25))
                .duration_since(beats.origin)
                .as_millis() as u64
                + 1,
            Ordering::Relaxed,
        );
        let later = start + Duration::from_secs(25);
        assert_eq!(tick(&beats, later, interval), Tick::Hung(vec!["camera"]));
        camera.beat();
        assert_eq!(tick(&beats, Instant::now(), interval), Tick::Alive);
        assert!(beats.all_started());
        Beat::none().beat();
    }
}
