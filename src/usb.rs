//! USB sticks the operator exports to: file systems mounted below `[operator]
//! usb_mount_roots`, read from the kernel's mount table (never guessed from folder names: an
//! empty /media/stick left behind by an unmount is not a stick, and writing there would fill
//! the kiosk's own disk).

use std::path::{Path, PathBuf};

/// Mount points below any of `roots` in a mount table (`/proc/self/mounts` format), in the
/// table's order. Octal escapes (`\040` for a space in a stick's label) are decoded.
pub fn mounted_below(mounts: &str, roots: &[PathBuf]) -> Vec<PathBuf> {
    mounts
        .lines()
        .filter_map(|line| line.split_whitespace().nth(1))
        .map(|field| PathBuf::from(unescape(field)))
        .filter(|point| roots.iter().any(|r| point.starts_with(r) && point != r))
        .collect()
}

/// The kernel writes space, tab, newline and backslash in mount points as `\ooo`.
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes
            .get(i + 1..i + 4)
            .filter(|d| d.iter().all(|c| (b'0'..=b'7').contains(c)));
        match (bytes[i], octal) {
            (b'\\', Some(d)) => {
                out.push((d[0] - b'0') * 64 + (d[1] - b'0') * 8 + (d[2] - b'0'));
                i += 4;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Where a day's export goes: the first USB stick mounted below `roots` that takes a file,
/// else `fallback` (beside the passage log). Runs on the store thread, never on the UI's.
pub fn export_dir(roots: &[PathBuf], fallback: &Path) -> (PathBuf, bool) {
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
    match mounted_below(&mounts, roots).into_iter().find(|p| writable(p)) {
        Some(stick) => (stick, true),
        None => (fallback.to_path_buf(), false),
    }
}

/// A stick mounted read-only (or full) is passed over for the next one. The probe is a new
/// file (never written through a link the stick holds under its name).
fn writable(dir: &Path) -> bool {
    let probe = dir.join(".kiosk-export-probe");
    let _ = std::fs::remove_file(&probe);
    let ok = crate::store::create_new_private(&probe).is_ok();
    let _ = std::fs::remove_file(&probe);
    ok
}

#[cfg(test)]
mod tests {
    use super::*;

    const MOUNTS: &str = "\
/dev/vda1 / ext4 rw,relatime 0 0
proc /proc proc rw,nosuid,nodev,noexec,relatime 0 0
/dev/sda1 /media/kiosk-usb vfat rw,uid=998,gid=998 0 0
/dev/sdb1 /run/media/kiosk/MY\\040STICK exfat rw 0 0
tmpfs /mediator tmpfs rw 0 0
/dev/sdc1 /media ext4 rw 0 0
";

    #[test]
    fn sticks_are_the_mounts_below_the_roots() {
        let roots = [PathBuf::from("/media"), PathBuf::from("/run/media")];
        assert_eq!(
            mounted_below(MOUNTS, &roots),
            [
                PathBuf::from("/media/kiosk-usb"),
                PathBuf::from("/run/media/kiosk/MY STICK")
            ],
            "not /mediator (a sibling), not /media itself"
        );
        assert!(mounted_below(MOUNTS, &[PathBuf::from("/mnt")]).is_empty());
        assert_eq!(unescape("a\\134b\\011c\\0"), "a\\b\tc\\0");
    }

    #[test]
    fn without_a_stick_the_export_stays_beside_the_log() {
        let dir = tempfile::tempdir().unwrap();
        // A folder below the root that nothing is mounted on is not a stick.
        let roots = [dir.path().to_path_buf()];
        std::fs::create_dir(dir.path().join("stale-stick")).unwrap();
        let (to, stick) = export_dir(&roots, Path::new("/var/lib/kiosk"));
        assert_eq!((to, stick), (PathBuf::from("/var/lib/kiosk"), false));
    }
}
