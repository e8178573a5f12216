//! Process-wide memory settings for a kiosk that runs for months on a small board.
//!
//! glibc gives every thread that allocates its own malloc arena (up to eight per core), and
//! an arena keeps what it freed. The kiosk's camera, scan, store, sync and sound threads each
//! allocate and free frame-sized buffers, so each arena settles at a few megabytes it never
//! returns. Measured with `scripts/footprint.sh` (demo under Xvfb): peak RSS 186 MB with the
//! default arenas, 154 MB with one arena and a 128 KiB trim threshold. The threads allocate a
//! few times per frame, so contention on one arena costs nothing measurable.

/// Applies the settings; call before the worker threads start. Only glibc has `mallopt`;
/// elsewhere this does nothing.
pub fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator parameters; it is called before other threads
    // exist, and glibc returns 0 (ignored: the defaults still work) for a refused value.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 128 * 1024);
    }
}
