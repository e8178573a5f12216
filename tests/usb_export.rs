//! "Export the day" onto a USB stick: a real file system mounted below `[operator]
//! usb_mount_roots` (a tmpfs, as root), found through the kernel's mount table, written by the
//! store thread, and the operator told where it went. A read-only stick is passed over.

use std::path::{Path, PathBuf};
use std::process::Command;

use egui_kittest::kittest::Queryable;

mod common;
use common::kiosk_ui::*;

/// A tmpfs mounted at `point` for the test's life.
struct Stick(PathBuf);

impl Stick {
    fn mount(point: &Path, read_only: bool) -> Option<Stick> {
        std::fs::create_dir_all(point).unwrap();
        let opts = if read_only { "size=1m,ro" } else { "size=1m" };
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", opts, "kiosk-test-stick"])
            .arg(point)
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Stick(point.to_path_buf()))
    }
}

impl Drop for Stick {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

#[test]
fn the_days_export_goes_to_a_mounted_usb_stick_and_passes_over_a_read_only_one() {
    let media = tempfile::tempdir().unwrap();
    let Some(_ro) = Stick::mount(&media.path().join("a-read-only"), true) else {
        // Mounting needs root (CI runs as root); as another user there is nothing to test.
        assert!(!is_root(), "root could not mount a tmpfs");
        eprintln!("note: not root, the USB export test needs to mount a file system; skipped");
        return;
    };
    let stick = Stick::mount(&media.path().join("b-stick"), false).unwrap();
    std::fs::create_dir(media.path().join("c-left-behind")).unwrap();
    let roots = vec![media.path().to_path_buf()];
    let (app, rig) = app_with_frames_tweaked(&["green"], |c| c.usb_mount_roots = roots);
    let mut h = open_operator_screen_after(app, "绿码 请进");
    wait_for(&mut h, "今日通行记录 (1)", 10);
    h.get_by_label("导出当日 CSV").click();
    h.step();
    wait_for(&mut h, "已导出到 U 盘", 10);
    let day = h.state().state.day_shown.unwrap();
    let file = media.path().join("b-stick").join(format!("passages-{day}.csv"));
    let csv = std::fs::read_to_string(&file).unwrap();
    assert_eq!(csv.lines().count(), 2, "a header and the day's one passage:\n{csv}");
    assert!(csv.contains("demo-0001"), "{csv}");
    h.get_by_label_contains(&file.display().to_string());
    assert!(
        !media
            .path()
            .join("c-left-behind")
            .join(format!("passages-{day}.csv"))
            .exists()
    );
    assert!(
        !rig.config
            .db_path
            .with_file_name(format!("passages-{day}.csv"))
            .exists(),
        "nothing beside the log when a stick took it"
    );
    drop(stick);
    // Stick pulled out: the next export stays on the kiosk, and says so.
    h.get_by_label("导出当日 CSV").click();
    h.step();
    wait_for(&mut h, "未找到 U 盘", 10);
    assert!(
        rig.config
            .db_path
            .with_file_name(format!("passages-{day}.csv"))
            .exists()
    );
}
