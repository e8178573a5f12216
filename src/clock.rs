//! Injected time: the kiosk asks a `Clock`, so tests and `--at` replays fix the time.

use std::sync::Mutex;

use chrono::{DateTime, Utc};

pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// What to tell the operator when the clock reads over five minutes before the newest passage
/// in the log: it was set back (a dead battery, a wrong manual setting), or had run fast
/// before. Either way someone should look; passages keep their order by sequence number.
pub fn behind_log(now: DateTime<Utc>, newest: Option<DateTime<Utc>>) -> Option<String> {
    let newest = newest?;
    (newest - now > chrono::Duration::minutes(5)).then(|| {
        format!(
            "the kiosk's clock ({}) reads before its newest passage ({}): check the time \
             (timedatectl / NTP)",
            now.format("%Y-%m-%d %H:%M:%SZ"),
            newest.format("%Y-%m-%d %H:%M:%SZ")
        )
    })
}

/// The machine's clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that stands still until moved: for tests and replays.
#[derive(Debug)]
pub struct FixedClock(Mutex<DateTime<Utc>>);

impl FixedClock {
    pub fn new(at: DateTime<Utc>) -> Self {
        FixedClock(Mutex::new(at))
    }

    pub fn set(&self, at: DateTime<Utc>) {
        if let Ok(mut t) = self.0.lock() {
            *t = at;
        }
    }

    pub fn advance(&self, by: chrono::Duration) {
        if let Ok(mut t) = self.0.lock() {
            *t += by;
        }
    }
}

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        match self.0.lock() {
            Ok(t) => *t,
            Err(poisoned) => *poisoned.into_inner(),
        }
    }
}
