//! The store's own thread: the only writer. The UI sends requests and polls for replies, so
//! it never waits on the disk.

use std::sync::mpsc::{self, Receiver, Sender};
use std::thread::JoinHandle;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;

use wire::PassageRecord;

use super::{CheckOut, CheckedOut, DayView, Recorded, ScanInput, Store, StoreError};

/// Requests the store thread serves.
pub enum Request {
    Record(Box<ScanInput>, Sender<Result<Recorded, StoreError>>),
    /// A day's view; `DateTime` is now, for who is inside.
    Day(NaiveDate, Tz, DateTime<Utc>, Sender<Result<DayView, StoreError>>),
    CheckOut(CheckOut, DateTime<Utc>, Sender<Result<CheckedOut, StoreError>>),
    Housekeeping {
        now: DateTime<Utc>,
        retention_days: u32,
        reply: Sender<Result<(), StoreError>>,
    },
    ExportDay(NaiveDate, Tz, ExportTo, Sender<Result<Exported, StoreError>>),
    SyncBacklog(usize, Sender<Result<Vec<PassageRecord>, StoreError>>),
    Acknowledge(Vec<String>, Vec<(String, String)>, Sender<Result<usize, StoreError>>),
    PendingSync(Sender<Result<u32, StoreError>>),
    Parked(Sender<Result<Vec<(i64, String)>, StoreError>>),
    SavePinLockout(super::PinLockout),
    CheckHead(Box<wire::KioskStatus>, Sender<Result<Option<String>, StoreError>>),
    LogId(Sender<Result<String, StoreError>>),
    /// Takes in what a venue round brought; answers this gate's share and who is inside.
    Venue(
        crate::venue::VenueUpdate,
        DateTime<Utc>,
        Sender<Result<(Option<super::ShareView>, u32), StoreError>>,
    ),
    Stop,
}

/// Where a day's export may go.
#[derive(Debug, Clone)]
pub struct ExportTo {
    /// `[operator] usb_mount_roots`.
    pub usb_mount_roots: Vec<std::path::PathBuf>,
    /// Beside the passage log, when no stick is mounted.
    pub fallback: std::path::PathBuf,
}

/// A written export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exported {
    pub count: usize,
    pub path: std::path::PathBuf,
    /// Written to a USB stick.
    pub usb: bool,
}

/// A cheap handle to the store thread.
#[derive(Clone)]
pub struct StoreHandle {
    tx: Sender<Request>,
    /// The kiosk and venue ids new passages are recorded under.
    identity: (String, String),
}

impl StoreHandle {
    /// Starts the thread; `notify` is called after each reply (the UI passes a repaint).
    pub fn spawn(store: Store, notify: impl Fn() + Send + 'static) -> std::io::Result<(StoreHandle, JoinHandle<()>)> {
        Self::spawn_watched(store, notify, crate::watchdog::Beat::none())
    }

    /// [`StoreHandle::spawn`], beating `beat` at least every second (a store stuck in a
    /// write stops the beats, and the watchdog restarts the kiosk).
    pub fn spawn_watched(
        mut store: Store,
        notify: impl Fn() + Send + 'static,
        beat: crate::watchdog::Beat,
    ) -> std::io::Result<(StoreHandle, JoinHandle<()>)> {
        let (tx, rx) = mpsc::channel::<Request>();
        let identity = (store.settings().kiosk_id.clone(), store.settings().venue_id.clone());
        let join = std::thread::Builder::new().name("store".into()).spawn(move || {
            loop {
                beat.beat();
                let req = match rx.recv_timeout(std::time::Duration::from_secs(1)) {
                    Ok(req) => req,
                    Err(mpsc::RecvTimeoutError::Timeout) => continue,
                    Err(mpsc::RecvTimeoutError::Disconnected) => return,
                };
                match req {
                    Request::Record(input, reply) => {
                        let _ = reply.send(store.record_passage(&input));
                    }
                    Request::Day(date, tz, now, reply) => {
                        let result = (|| {
                            Ok(DayView {
                                passages: store.day_passages(date, tz)?,
                                summary: store.day_summary(date, tz)?,
                                inside: store.inside_now(now)?,
                            })
                        })();
                        let _ = reply.send(result);
                    }
                    Request::CheckOut(who, now, reply) => {
                        let _ = reply.send(store.check_out(&who, now));
                    }
                    Request::Housekeeping {
                        now,
                        retention_days,
                        reply,
                    } => {
                        // Both run even if one fails; the first failure is reported (and the
                        // work retried at the next tick). Recording is unaffected.
                        let closed = store.close_overdue_visits(now).map(|_| ());
                        let purged = store.purge_old(now, retention_days).map(|_| ());
                        let _ = reply.send(closed.and(purged));
                    }
                    Request::ExportDay(date, tz, to, reply) => {
                        // The rows are read here; a stick (slow, or hung) is written on a thread
                        // of its own, so scans keep being recorded meanwhile.
                        match store.day_passages(date, tz) {
                            Ok(passages) => {
                                let spawned = std::thread::Builder::new().name("export".into()).spawn(move || {
                                    let _ = reply.send(export_day(&passages, date, tz, &to));
                                });
                                if let Err(e) = spawned {
                                    eprintln!("kiosk: cannot start the export: {e}");
                                }
                            }
                            Err(e) => {
                                let _ = reply.send(Err(e));
                            }
                        }
                    }
                    Request::SyncBacklog(limit, reply) => {
                        let _ = reply.send(store.sync_backlog(limit));
                    }
                    Request::Acknowledge(sent, refused, reply) => {
                        let _ = reply.send(store.acknowledge(&sent, &refused));
                    }
                    Request::PendingSync(reply) => {
                        let _ = reply.send(store.pending_sync());
                    }
                    Request::Parked(reply) => {
                        let _ = reply.send(store.parked());
                    }
                    Request::CheckHead(view, reply) => {
                        let _ = reply.send(store.check_against_server(&view));
                    }
                    Request::LogId(reply) => {
                        let _ = reply.send(store.log_id());
                    }
                    Request::Venue(update, now, reply) => {
                        let _ = reply.send(crate::venue::VenueStore::take_venue(&mut store, update, now));
                    }
                    Request::SavePinLockout(lockout) => {
                        // Nobody waits for this; the journal is where its failure can go.
                        if let Err(e) = store.save_pin_lockout(&lockout) {
                            eprintln!("kiosk: cannot keep the PIN lockout across restarts: {e}");
                        }
                    }
                    Request::Stop => break,
                }
                notify();
            }
        })?;
        Ok((StoreHandle { tx, identity }, join))
    }

    pub fn record(&self, input: ScanInput) -> Receiver<Result<Recorded, StoreError>> {
        let (tx, rx) = mpsc::channel();
        if let Err(mpsc::SendError(Request::Record(_, reply))) = self.tx.send(Request::Record(Box::new(input), tx)) {
            let _ = reply.send(Err(StoreError::Gone));
        }
        rx
    }

    /// The local day `date`, and who is inside at `now`.
    pub fn day(&self, date: NaiveDate, tz: Tz, now: DateTime<Utc>) -> Receiver<Result<DayView, StoreError>> {
        let (tx, rx) = mpsc::channel();
        if let Err(mpsc::SendError(Request::Day(_, _, _, reply))) = self.tx.send(Request::Day(date, tz, now, tx)) {
            let _ = reply.send(Err(StoreError::Gone));
        }
        rx
    }

    /// Checks out one visitor, or everyone inside (see [`Store::check_out`]).
    pub fn check_out(&self, who: CheckOut, now: DateTime<Utc>) -> Receiver<Result<CheckedOut, StoreError>> {
        let (tx, rx) = mpsc::channel();
        if let Err(mpsc::SendError(Request::CheckOut(_, _, reply))) = self.tx.send(Request::CheckOut(who, now, tx)) {
            let _ = reply.send(Err(StoreError::Gone));
        }
        rx
    }

    /// Writes the day's passages as `passages-<date>.csv` to a USB stick if one is mounted,
    /// else beside the passage log.
    pub fn export_day(&self, date: NaiveDate, tz: Tz, to: ExportTo) -> Receiver<Result<Exported, StoreError>> {
        let (tx, rx) = mpsc::channel();
        if let Err(mpsc::SendError(Request::ExportDay(_, _, _, reply))) =
            self.tx.send(Request::ExportDay(date, tz, to, tx))
        {
            let _ = reply.send(Err(StoreError::Gone));
        }
        rx
    }

    pub fn sync_backlog(&self, limit: usize) -> Receiver<Result<Vec<PassageRecord>, StoreError>> {
        let (tx, rx) = mpsc::channel();
        if let Err(mpsc::SendError(Request::SyncBacklog(_, reply))) = self.tx.send(Request::SyncBacklog(limit, tx)) {
            let _ = reply.send(Err(StoreError::Gone));
        }
        rx
    }

    pub fn acknowledge(
        &self,
        sent: Vec<String>,
        refused: Vec<(String, String)>,
    ) -> Receiver<Result<usize, StoreError>> {
        let (tx, rx) = mpsc::channel();
        if let Err(mpsc::SendError(Request::Acknowledge(_, _, reply))) =
            self.tx.send(Request::Acknowledge(sent, refused, tx))
        {
            let _ = reply.send(Err(StoreError::Gone));
        }
        rx
    }

    pub fn pending_sync(&self) -> Receiver<Result<u32, StoreError>> {
        let (tx, rx) = mpsc::channel();
        if let Err(mpsc::SendError(Request::PendingSync(reply))) = self.tx.send(Request::PendingSync(tx)) {
            let _ = reply.send(Err(StoreError::Gone));
        }
        rx
    }

    pub fn parked(&self) -> Receiver<Result<Vec<(i64, String)>, StoreError>> {
        let (tx, rx) = mpsc::channel();
        if let Err(mpsc::SendError(Request::Parked(reply))) = self.tx.send(Request::Parked(tx)) {
            let _ = reply.send(Err(StoreError::Gone));
        }
        rx
    }

    pub fn check_against_server(&self, view: wire::KioskStatus) -> Receiver<Result<Option<String>, StoreError>> {
        let (tx, rx) = mpsc::channel();
        if let Err(mpsc::SendError(Request::CheckHead(_, reply))) = self.tx.send(Request::CheckHead(Box::new(view), tx))
        {
            let _ = reply.send(Err(StoreError::Gone));
        }
        rx
    }

    /// The identity of the passage log (see `wire::PassageRecord::log_id`).
    pub fn log_id(&self) -> Receiver<Result<String, StoreError>> {
        let (tx, rx) = mpsc::channel();
        if let Err(mpsc::SendError(Request::LogId(reply))) = self.tx.send(Request::LogId(tx)) {
            let _ = reply.send(Err(StoreError::Gone));
        }
        rx
    }

    /// Takes in what a venue round brought; answers this gate's share and who is inside.
    pub fn venue(
        &self,
        update: crate::venue::VenueUpdate,
        now: DateTime<Utc>,
    ) -> Receiver<Result<(Option<super::ShareView>, u32), StoreError>> {
        let (tx, rx) = mpsc::channel();
        if let Err(mpsc::SendError(Request::Venue(_, _, reply))) = self.tx.send(Request::Venue(update, now, tx)) {
            let _ = reply.send(Err(StoreError::Gone));
        }
        rx
    }

    /// Keeps the PIN lockout in the log's meta table (does not wait).
    pub fn save_pin_lockout(&self, lockout: super::PinLockout) {
        // A stopped store thread has already been reported by every other request.
        let _sent = self.tx.send(Request::SavePinLockout(lockout));
    }

    /// The kiosk and venue ids new passages are recorded under.
    pub fn identity(&self) -> (String, String) {
        self.identity.clone()
    }

    /// Closes overdue visits and purges old synced passages.
    pub fn housekeeping(&self, now: DateTime<Utc>, retention_days: u32) -> Receiver<Result<(), StoreError>> {
        let (tx, rx) = mpsc::channel();
        if let Err(mpsc::SendError(Request::Housekeeping { reply, .. })) = self.tx.send(Request::Housekeeping {
            now,
            retention_days,
            reply: tx,
        }) {
            let _ = reply.send(Err(StoreError::Gone));
        }
        rx
    }

    pub fn stop(&self) {
        let _ = self.tx.send(Request::Stop);
    }
}

/// Writes `passages-<date>.csv` to a USB stick if one is mounted, else beside the log: first
/// to a new temporary file (never through a link a stick may hold in its place), flushed to
/// the device, then renamed, so a stick pulled out right after "saved" has the whole file.
fn export_day(passages: &[super::Passage], date: NaiveDate, tz: Tz, to: &ExportTo) -> Result<Exported, StoreError> {
    let (dir, usb) = crate::usb::export_dir(&to.usb_mount_roots, &to.fallback);
    let path = dir.join(format!("passages-{date}.csv"));
    let part = dir.join(format!(".passages-{date}.csv.part"));
    let err = |source| StoreError::Export {
        path: path.display().to_string(),
        source,
    };
    // A leftover (or a planted link) goes; create_new then refuses anything put back there.
    let _ = std::fs::remove_file(&part);
    let file = super::create_new_private(&part).map_err(err)?;
    let mut w = std::io::BufWriter::new(file);
    super::write_csv(&mut w, passages, tz)
        .and_then(|_| std::io::Write::flush(&mut w))
        .and_then(|_| w.get_ref().sync_all())
        .and_then(|_| std::fs::rename(&part, &path))
        .and_then(|_| std::fs::File::open(&dir)?.sync_all())
        .map_err(|e| {
            let _ = std::fs::remove_file(&part);
            err(e)
        })?;
    Ok(Exported {
        count: passages.len(),
        path,
        usb,
    })
}
