//! The screen's state as plain data with pure transitions: testable without egui.

use crate::i18n::Lang;
use crate::store::{CheckOut, DayView, Passage};
use crate::workers::ScanOutcome;

/// Failed PIN attempts before the operator screen locks.
pub const PIN_MAX_FAILURES: u32 = 5;
/// How long the first lock lasts, in seconds; each further lock before a right PIN doubles
/// it, up to [`PIN_LOCK_MAX_SECONDS`].
pub const PIN_LOCK_SECONDS: f64 = 300.0;
pub const PIN_LOCK_MAX_SECONDS: f64 = 24.0 * 3600.0;
/// The operator and PIN screens go back to the visitor screen after this long without input,
/// so a screen left open does not stay open to the next person in the queue.
pub const OPERATOR_IDLE_SECONDS: f64 = 120.0;
/// A visitor's large-type choice goes back to the kiosk's setting after this long without a
/// touch, so the next visitor meets the screen the venue chose.
pub const LARGE_IDLE_SECONDS: f64 = 90.0;

/// How long the `n`-th lock in a row lasts (`n` from 0).
pub fn pin_lock_seconds(lockouts: u32) -> f64 {
    (PIN_LOCK_SECONDS * 2f64.powi(lockouts.min(16) as i32)).min(PIN_LOCK_MAX_SECONDS)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    Visitor,
    Pin,
    Operator,
}

/// The verdict on screen and when it goes away (egui time, seconds).
#[derive(Debug, Clone)]
pub struct Panel {
    pub outcome: ScanOutcome,
    pub until: f64,
}

#[derive(Debug, Clone, Default)]
pub struct PinState {
    pub entered: String,
    pub failures: u32,
    /// Locks since the last right PIN: each doubles the next lock. Kept in the passage log's
    /// meta table with `failures` and the lock's end, so a restart does not reset them.
    pub lockouts: u32,
    pub locked_until: Option<f64>,
    /// A check is running on a worker thread (argon2 is deliberately slow).
    pub checking: bool,
    pub wrong: bool,
}

/// What a screen asks the app to do; screens never do I/O themselves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    ToggleLang,
    OpenPin,
    PinDigit(char),
    PinBackspace,
    PinSubmit,
    Leave,
    RefreshDay,
    /// Show the day `n` days later (negative: earlier); never past today.
    ShiftDay(i64),
    ExportDay,
    /// Large type and high contrast on the visitor screen, or back.
    ToggleLarge,
    /// Show or hide this kiosk's settings on the operator screen.
    ToggleSettings,
    StaffCheck(String),
    /// Check out one visitor who left without scanning (by pseudonymous id).
    CheckOut(String),
    /// Ask before checking out everyone who came in by this gate, or by any gate of the
    /// venue (closing time): the next command decides.
    AskCheckOut(CheckOut),
    CancelCheckOut,
    /// Carries out what [`Command::AskCheckOut`] asked.
    ConfirmCheckOut,
}

#[derive(Debug, Clone)]
pub struct AppState {
    pub lang: Lang,
    pub screen: Screen,
    pub panel: Option<Panel>,
    pub camera_error: Option<String>,
    /// A code is in view that the camera cannot read: the visitor is asked to turn up the
    /// phone's brightness.
    pub code_unreadable: bool,
    pub pin: PinState,
    pub pin_configured: bool,
    pub occupancy: u32,
    pub capacity: Option<u32>,
    pub venue_name: String,
    pub gate_name: String,
    pub verdict_seconds: f64,
    pub day: Option<DayView>,
    pub day_error: Option<String>,
    /// The operator's day, in days before today (0: today).
    pub day_offset: i64,
    /// The local day the operator screen shows (or is loading).
    pub day_shown: Option<chrono::NaiveDate>,
    /// Why closing overdue visits or purging old passages failed, for the operator.
    pub housekeeping_error: Option<String>,
    /// When someone last touched the screen or a key (egui time, seconds).
    pub last_input: f64,
    /// Set when start-up found the log damaged and moved it aside (stays until restart).
    pub log_notice: Option<String>,
    pub staff_text: String,
    pub export_message: Option<String>,
    /// What the operator types to find passages: part of a pseudonymous id, or a time.
    pub search: String,
    /// "Check out everyone" (by this gate or the whole venue) was pressed and waits for a yes
    /// or a cancel.
    pub confirm: Option<CheckOut>,
    /// A check-out is being written (its buttons wait for it).
    pub checking_out: bool,
    /// How the last check-out went, for the operator: how many were checked out, or why not.
    pub checkout_message: Option<Result<usize, String>>,
    pub sync_configured: bool,
    pub sync: Option<crate::sync::SyncStatus>,
    /// Large type and high contrast on the visitor screen (`[display] large_text`, or a
    /// visitor's touch).
    pub large: bool,
    /// What `[display] large_text` says: where a visitor's choice returns.
    pub large_default: bool,
    /// This kiosk's settings as the operator sees them, and whether they are shown.
    pub settings: Vec<super::settings::Setting>,
    pub show_settings: bool,
}

impl AppState {
    pub fn new(venue_name: String, gate_name: String, capacity: Option<u32>, verdict_seconds: f64) -> Self {
        AppState {
            lang: Lang::ZhCn,
            screen: Screen::Visitor,
            panel: None,
            camera_error: None,
            code_unreadable: false,
            pin: PinState::default(),
            pin_configured: false,
            occupancy: 0,
            capacity,
            venue_name,
            gate_name,
            verdict_seconds,
            day: None,
            day_error: None,
            day_offset: 0,
            day_shown: None,
            housekeeping_error: None,
            last_input: 0.0,
            log_notice: None,
            staff_text: String::new(),
            export_message: None,
            search: String::new(),
            confirm: None,
            checking_out: false,
            checkout_message: None,
            sync_configured: false,
            sync: None,
            large: false,
            large_default: false,
            settings: Vec::new(),
            show_settings: false,
        }
    }

    /// A scan finished: show it (replacing any older panel) and update occupancy.
    pub fn scanned(&mut self, outcome: ScanOutcome, now: f64) {
        if let Ok(r) = &outcome.recorded {
            self.occupancy = r.occupancy;
            self.capacity = r.capacity;
        }
        // A staff-assisted entry is shown on the operator screen too, so staff see the result.
        // A refusal stays twice as long: its reason says what to do next, and many visitors
        // read slowly. (Not "cannot read the code": that one asks for another try at once.)
        // The next scan replaces any panel at once, so the queue never waits.
        use crate::policy::VerdictKind;
        let seconds = match outcome.shown().kind {
            VerdictKind::Deny | VerdictKind::Invalid => self.verdict_seconds * 2.0,
            VerdictKind::Admit | VerdictKind::Unreadable => self.verdict_seconds,
        };
        self.panel = Some(Panel {
            outcome,
            until: now + seconds,
        });
    }

    /// A sync round reported: keep its status, and take who is inside as the gate knows it
    /// (the server's last view of every gate, and this gate's passages since).
    pub fn synced(&mut self, status: crate::sync::SyncStatus) {
        if status.venue.last_contact.is_some() || status.venue.share.is_some() {
            self.occupancy = status.venue.occupancy;
            if status.venue.capacity.is_some() {
                self.capacity = status.venue.capacity;
            }
        }
        self.sync = Some(status);
    }

    /// The gate shares its venue's room but the last round could not reach the server: it
    /// admits only on its own share, and the screens say so.
    pub fn working_alone(&self) -> bool {
        self.sync.as_ref().is_some_and(|s| s.venue.alone)
    }

    /// Someone touched the screen or pressed a key.
    pub fn touched(&mut self, now: f64) {
        self.last_input = now;
    }

    /// Drops an expired panel and leaves an idle operator or PIN screen; returns the seconds
    /// until the next change, if any is due.
    pub fn tick(&mut self, now: f64) -> Option<f64> {
        if self.screen != Screen::Visitor && now - self.last_input >= OPERATOR_IDLE_SECONDS {
            self.leave();
        }
        if self.panel.as_ref().is_some_and(|p| now >= p.until) {
            self.panel = None;
        }
        let large_due = (self.large != self.large_default).then_some(self.last_input + LARGE_IDLE_SECONDS - now);
        if large_due.is_some_and(|d| d <= 0.0) {
            self.large = self.large_default;
        }
        let panel = self.panel.as_ref().map(|p| p.until - now);
        let lock = self.pin.locked_until.map(|t| t - now).filter(|d| *d > 0.0);
        let idle = (self.screen != Screen::Visitor).then_some(self.last_input + OPERATOR_IDLE_SECONDS - now);
        let large = large_due.filter(|d| *d > 0.0);
        [panel, lock, idle, large].into_iter().flatten().reduce(f64::min)
    }

    pub fn pin_locked(&self, now: f64) -> bool {
        self.pin.locked_until.is_some_and(|t| now < t)
    }

    pub fn open_pin(&mut self) {
        self.screen = Screen::Pin;
        self.pin.entered.clear();
        self.pin.wrong = false;
    }

    pub fn pin_digit(&mut self, d: char, now: f64) {
        if !self.pin_locked(now) && !self.pin.checking && self.pin.entered.len() < 12 && d.is_ascii_digit() {
            self.pin.entered.push(d);
            self.pin.wrong = false;
        }
    }

    /// Starts a check; returns the PIN to verify, or `None` when locked or busy.
    pub fn pin_submit(&mut self, now: f64) -> Option<String> {
        if self.pin_locked(now) || self.pin.checking || self.pin.entered.is_empty() {
            return None;
        }
        self.pin.checking = true;
        Some(std::mem::take(&mut self.pin.entered))
    }

    pub fn pin_checked(&mut self, ok: bool, now: f64) {
        self.pin.checking = false;
        if ok {
            self.pin.failures = 0;
            self.pin.lockouts = 0;
            self.pin.locked_until = None;
            self.screen = Screen::Operator;
        } else {
            self.pin.failures += 1;
            self.pin.wrong = true;
            if self.pin.failures >= PIN_MAX_FAILURES {
                self.pin.locked_until = Some(now + pin_lock_seconds(self.pin.lockouts));
                self.pin.lockouts += 1;
                self.pin.failures = 0;
            }
        }
    }

    /// Moves the operator's day by `n` days, never past today; true when it changed (the
    /// caller then loads that day).
    pub fn shift_day(&mut self, n: i64) -> bool {
        let offset = (self.day_offset + n).min(0);
        let changed = offset != self.day_offset;
        if changed {
            self.day_offset = offset;
            self.day = None;
        }
        changed
    }

    /// The store's answer for the day on screen.
    pub fn day_loaded(&mut self, result: Result<DayView, String>) {
        match result {
            Ok(day) => {
                self.day = Some(day);
                self.day_error = None;
            }
            Err(e) => {
                self.day = None;
                self.day_error = Some(e);
            }
        }
    }

    pub fn leave(&mut self) {
        self.screen = Screen::Visitor;
        // The next operator starts on today, loaded afresh.
        self.day_offset = 0;
        self.day = None;
        self.day_shown = None;
        self.pin.entered.clear();
        self.staff_text.clear();
        self.export_message = None;
        self.search.clear();
        self.show_settings = false;
        self.confirm = None;
        self.checkout_message = None;
    }

    /// "Check out everyone" pressed: nothing happens until the operator says yes.
    pub fn ask_check_out(&mut self, who: CheckOut) {
        self.confirm = Some(who);
        self.checkout_message = None;
    }

    /// The yes to [`AppState::ask_check_out`]: what to check out, unless nothing was asked or
    /// a check-out is being written.
    pub fn confirm_check_out(&mut self) -> Option<CheckOut> {
        if self.checking_out {
            return None;
        }
        let who = self.confirm.take()?;
        self.checking_out = true;
        Some(who)
    }

    /// One visitor, at once (a row's own button): unless a check-out is being written.
    pub fn check_out_one(&mut self, subject: String) -> Option<CheckOut> {
        if self.checking_out {
            return None;
        }
        self.confirm = None;
        self.checking_out = true;
        Some(CheckOut::One(subject))
    }

    /// The store's answer to a check-out.
    pub fn checked_out(&mut self, result: Result<(usize, u32), String>) {
        self.checking_out = false;
        self.checkout_message = Some(match result {
            Ok((closed, occupancy)) => {
                self.occupancy = occupancy;
                Ok(closed)
            }
            Err(e) => Err(e),
        });
    }
}

/// Whether a passage matches what the operator typed: a time (digits and colons, matched
/// from the start of its local `HH:MM:SS`) or part of its pseudonymous id, any case.
pub fn passage_matches(p: &Passage, query: &str, tz: chrono_tz::Tz) -> bool {
    let q = query.trim();
    if q.is_empty() {
        return true;
    }
    if q.chars().all(|c| c.is_ascii_digit() || c == ':')
        && p.at.with_timezone(&tz).format("%H:%M:%S").to_string().starts_with(q)
    {
        return true;
    }
    p.subject
        .as_deref()
        .is_some_and(|s| s.to_lowercase().contains(&q.to_lowercase()))
}

#[cfg(test)]
mod tests {
    use crate::policy::{Reason, Verdict, VerdictKind};
    use crate::workers::{Origin, ScanOutcome};

    fn seen(kind: VerdictKind, reason: Reason) -> ScanOutcome {
        ScanOutcome {
            verdict: Verdict {
                kind,
                reason,
                warning: None,
                credential: None,
                detail: None,
            },
            origin: Origin::Camera,
            recorded: Err("not in this test".into()),
            when_not_recorded: crate::gate::WhenNotRecorded::Admit,
        }
    }

    #[test]
    fn the_operators_day_steps_back_never_past_today_and_resets_on_leaving() {
        let mut s = AppState::new("v".into(), "g".into(), None, 4.0);
        assert!(!s.shift_day(1), "tomorrow is not a day to look at");
        assert!(s.shift_day(-1) && s.shift_day(-1));
        assert_eq!(s.day_offset, -2);
        assert!(
            s.day.is_none(),
            "the old day's numbers are dropped while the new one loads"
        );
        assert!(s.shift_day(5));
        assert_eq!(s.day_offset, 0);
        s.shift_day(-3);
        s.leave();
        assert_eq!(s.day_offset, 0);
    }

    #[test]
    fn a_failed_load_leaves_no_numbers_and_leaving_forgets_the_day() {
        let mut s = AppState::new("v".into(), "g".into(), None, 4.0);
        s.day_loaded(Ok(DayView::default()));
        assert!(s.day.is_some());
        s.day_loaded(Err("disk".into()));
        assert!(
            s.day.is_none() && s.day_error.is_some(),
            "no stale numbers beside the error"
        );
        s.day_loaded(Ok(DayView::default()));
        s.day_shown = chrono::NaiveDate::from_ymd_opt(2026, 11, 20);
        s.leave();
        assert!(s.day.is_none() && s.day_shown.is_none());
    }

    #[test]
    fn a_visitors_large_type_returns_to_the_venues_setting_when_left_alone() {
        let mut s = AppState::new("v".into(), "g".into(), None, 4.0);
        s.touched(10.0);
        s.large = true; // the visitor's touch
        assert_eq!(s.tick(20.0), Some(LARGE_IDLE_SECONDS - 10.0), "wakes up when due");
        s.touched(50.0);
        s.tick(50.0 + LARGE_IDLE_SECONDS - 1.0);
        assert!(s.large, "a touch keeps it");
        s.tick(50.0 + LARGE_IDLE_SECONDS);
        assert!(!s.large);
        // A venue that chose large type keeps it; a visitor's "normal" returns to it.
        s.large_default = true;
        s.tick(1000.0);
        assert!(s.large);
        assert_eq!(s.tick(1000.0), None, "nothing due");
    }

    #[test]
    fn checking_out_everyone_waits_for_a_yes_and_one_check_out_at_a_time() {
        let mut s = AppState::new("v".into(), "g".into(), None, 4.0);
        assert_eq!(s.confirm_check_out(), None, "not without the question asked");
        s.ask_check_out(CheckOut::WholeVenue);
        assert_eq!(s.confirm_check_out(), Some(CheckOut::WholeVenue));
        assert_eq!(s.confirm, None, "the yes is spent");
        assert_eq!(s.check_out_one("a".into()), None, "one check-out at a time");
        s.checked_out(Ok((3, 1)));
        assert_eq!((s.occupancy, s.checking_out), (1, false));
        assert_eq!(s.checkout_message, Some(Ok(3)));
        s.ask_check_out(CheckOut::ThisGate);
        s.leave();
        assert_eq!(s.confirm_check_out(), None, "leaving forgets the question");
        assert_eq!(s.check_out_one("a".into()), Some(CheckOut::One("a".into())));
        s.checked_out(Err("disk full".into()));
        assert_eq!(s.occupancy, 1, "a failure changes no count");
        assert_eq!(s.checkout_message, Some(Err("disk full".into())));
    }

    #[test]
    fn the_operator_finds_passages_by_time_or_part_of_an_id() {
        let at = chrono::DateTime::parse_from_rfc3339("2026-12-07T01:35:20Z")
            .unwrap()
            .to_utc();
        let p = Passage {
            seq: 1,
            event_id: "e".into(),
            kiosk_id: "k".into(),
            venue_id: "v".into(),
            gate: "g".into(),
            direction: wire::Direction::Entry,
            subject: Some("vp1:AbC123".into()),
            format: None,
            kind: None,
            issuer: None,
            health: None,
            verdict: wire::VerdictKind::Admit,
            reason: wire::Reason::Ok,
            at,
            inferred: false,
            synced: false,
            hash: "h".into(),
        };
        let tz = chrono_tz::Asia::Shanghai; // 09:35:20 there
        for hit in ["", " ", "09", "09:3", "09:35:2", "abc", "C12", "vp1:"] {
            assert!(passage_matches(&p, hit, tz), "{hit:?}");
        }
        for miss in ["01:35", "10", "09:4", "xyz", "abd"] {
            assert!(!passage_matches(&p, miss, tz), "{miss:?}");
        }
        let anonymous = Passage { subject: None, ..p };
        assert!(!passage_matches(&anonymous, "abc", tz));
        assert!(passage_matches(&anonymous, "09:35", tz));
    }

    #[test]
    fn a_refusal_stays_twice_as_long_and_the_next_scan_replaces_it() {
        let mut s = AppState::new("v".into(), "g".into(), None, 4.0);
        s.scanned(seen(VerdictKind::Admit, Reason::Ok), 10.0);
        assert_eq!(s.panel.as_ref().map(|p| p.until), Some(14.0));
        s.scanned(seen(VerdictKind::Deny, Reason::RedCode), 11.0);
        assert_eq!(s.panel.as_ref().map(|p| p.until), Some(19.0));
        s.scanned(seen(VerdictKind::Admit, Reason::Ok), 12.0);
        assert_eq!(s.panel.as_ref().map(|p| p.until), Some(16.0), "replaced at once");
        s.tick(16.0);
        assert!(s.panel.is_none());
    }
    use super::*;

    #[test]
    fn five_wrong_pins_lock_the_operator_screen() {
        let mut s = AppState::new("v".into(), "g".into(), None, 4.0);
        s.open_pin();
        for i in 0..PIN_MAX_FAILURES {
            s.pin_digit('1', 10.0);
            assert_eq!(s.pin_submit(10.0), Some("1".into()), "attempt {i}");
            s.pin_checked(false, 10.0);
        }
        assert!(s.pin_locked(10.0));
        s.pin_digit('2', 11.0);
        assert!(s.pin.entered.is_empty(), "no typing while locked");
        assert_eq!(s.pin_submit(11.0), None);
        assert!(!s.pin_locked(10.0 + PIN_LOCK_SECONDS + 1.0));
        s.pin_digit('2', 400.0);
        assert_eq!(s.pin_submit(400.0), Some("2".into()));
        s.pin_checked(true, 400.0);
        assert_eq!(s.screen, Screen::Operator);
    }

    #[test]
    fn each_further_lock_lasts_twice_as_long_until_a_right_pin() {
        let mut s = AppState::new("v".into(), "g".into(), None, 4.0);
        let mut now = 0.0;
        for (round, lock) in [300.0, 600.0, 1200.0].into_iter().enumerate() {
            for _ in 0..PIN_MAX_FAILURES {
                s.pin_digit('1', now);
                s.pin_submit(now);
                s.pin_checked(false, now);
            }
            assert_eq!(s.pin.locked_until, Some(now + lock), "lock {round}");
            now += lock + 1.0;
        }
        s.pin_digit('2', now);
        s.pin_submit(now);
        s.pin_checked(true, now);
        assert_eq!((s.pin.failures, s.pin.lockouts), (0, 0));
        assert_eq!(pin_lock_seconds(40), PIN_LOCK_MAX_SECONDS);
    }

    #[test]
    fn an_operator_screen_left_alone_goes_back_to_the_visitor_screen() {
        let mut s = AppState::new("v".into(), "g".into(), None, 4.0);
        s.open_pin();
        s.touched(100.0);
        s.pin_digit('2', 100.0);
        s.pin_submit(100.0);
        s.pin_checked(true, 101.0);
        s.touched(101.0);
        assert_eq!(s.screen, Screen::Operator);
        assert_eq!(
            s.tick(101.0 + OPERATOR_IDLE_SECONDS - 10.0),
            Some(10.0),
            "wakes up when due"
        );
        s.touched(200.0);
        s.tick(200.0 + OPERATOR_IDLE_SECONDS - 1.0);
        assert_eq!(s.screen, Screen::Operator, "input keeps it open");
        s.tick(200.0 + OPERATOR_IDLE_SECONDS);
        assert_eq!(s.screen, Screen::Visitor);
    }

    #[test]
    fn a_panel_expires_after_its_time() {
        let mut s = AppState::new("v".into(), "g".into(), None, 4.0);
        let outcome = ScanOutcome {
            verdict: crate::policy::Verdict::unreadable(),
            origin: crate::workers::Origin::Wedge,
            recorded: Err("x".into()),
            when_not_recorded: Default::default(),
        };
        s.scanned(outcome, 1.0);
        assert_eq!(s.tick(2.0), Some(3.0));
        assert!(s.panel.is_some());
        assert_eq!(s.tick(5.0), None);
        assert!(s.panel.is_none());
    }
}
