//! The headless subcommands (`pass`, `decode`, `scan`, `check-config`, `log`, `dcc`, `voice`): argument types
//! and their implementations. `main.rs` only parses and dispatches.

pub mod args;
pub mod dcc;
pub mod log;
pub mod pair;
pub mod pass;
pub mod scan;
pub mod voice;

use std::path::PathBuf;

use crate::config::ConfigError;

/// Errors of the command-line boundary; each says what to do next.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Sync(#[from] crate::sync::SyncError),
    #[error(transparent)]
    Voice(#[from] crate::voice::VoiceError),
    #[error("the passage log's hash chain is broken at seq {seq} (event {event_id}): {problem}")]
    ChainBroken {
        seq: i64,
        event_id: String,
        problem: String,
    },
    #[error("{0}")]
    Usage(String),
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("cannot write {path}: {source}; check the folder exists and is writable")]
    Write { path: PathBuf, source: std::io::Error },
    #[error("{path} already exists; refusing to overwrite a key (move it away first)")]
    Exists { path: PathBuf },
    #[error("key file {path}: {source}")]
    Key {
        path: PathBuf,
        source: passes::vp1::KeyError,
    },
    #[error(transparent)]
    Render(#[from] crate::render::RenderError),
    #[error("cannot issue the pass: {0}")]
    Issue(passes::vp1::PassError),
    #[error("{failed} of {total} images could not be read (see the error lines above)")]
    SomeImagesFailed { failed: usize, total: usize },
    #[error("{failed} of {checks} conformance checks failed (see the FAIL lines above)")]
    SomeChecksFailed { failed: usize, checks: usize },
    #[error("{pending} passages are still pending; run `kiosk sync --once` again when the server is reachable")]
    Pending { pending: u32 },
}

impl CommandError {
    /// The process exit code: 1 when the command did its work but something is left over
    /// (images it could not read, passages still queued), 2 for an error.
    pub fn exit_code(&self) -> u8 {
        match self {
            CommandError::SomeImagesFailed { .. }
            | CommandError::SomeChecksFailed { .. }
            | CommandError::Pending { .. } => 1,
            _ => 2,
        }
    }
}
