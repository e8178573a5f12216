//! Command-line arguments (clap derive).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "kiosk",
    version,
    about = "Venue check-in kiosk: reads signed passes, decides, logs durably"
)]
pub struct Cli {
    /// Configuration file (default: ./kiosk.toml if present, else built-in defaults).
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    /// Run with the built-in demo issuer and demo passes; no camera or set-up needed.
    #[arg(long)]
    pub demo: bool,
    /// A window instead of fullscreen (development).
    #[arg(long)]
    pub windowed: bool,
    /// Replay an image file or a folder of images as camera frames.
    #[arg(long)]
    pub source: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Issuer keys and passes (demos, tests, printed passes, worksite badges).
    #[command(subcommand)]
    Pass(PassCommand),
    /// Print every QR text found in each image, as JSON lines.
    Decode {
        /// Image files (PNG, JPEG, WebP).
        #[arg(required = true)]
        images: Vec<PathBuf>,
        /// Decode with the camera's decoder (what a visitor meets: fast, fewer attempts per
        /// frame, the files taken as successive frames in the order given) instead of the
        /// thorough one used for still images.
        #[arg(long)]
        live: bool,
    },
    /// Decide on the pass in each image, as JSON lines.
    Scan(ScanArgs),
    /// Validate the configuration and say exactly what is wrong and where.
    CheckConfig {
        /// Also ask the trace server whether the token, ids and server key match.
        #[arg(long)]
        online: bool,
    },
    /// Pair with the trace server: run the command `trace-server kiosk add` printed. Checks the
    /// token and key with the server, then writes [kiosk] id, [venue] id and [sync] into the
    /// config (comments kept).
    Pair(PairArgs),
    /// Send unsynced passages to the trace server ([sync] in kiosk.toml).
    Sync {
        /// One pass, then exit: 0 when nothing is left pending.
        #[arg(long)]
        once: bool,
    },
    /// Read an operator PIN on standard input and print its argon2 hash for [operator] pin_hash.
    PinHash,
    /// The passage log: day view, summary, export, chain verification.
    #[command(subcommand)]
    Log(LogCommand),
    /// EU Digital COVID Certificates (HC1).
    #[command(subcommand)]
    Dcc(DccCommand),
    /// The spoken verdict prompts (espeak-ng).
    #[command(subcommand)]
    Voice(VoiceCommand),
}

#[derive(Debug, Subcommand)]
pub enum VoiceCommand {
    /// Write DIR/<lang>/<reason>.wav (lang zh-CN and en) for every reason the kiosk can show,
    /// and DIR/tones/{admit,refuse}.wav, at [sound] volume, so staff can listen to each one.
    Export {
        /// The folder to write into (created when missing).
        dir: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum DccCommand {
    /// Run the EU DCC conformance vectors (dgc-testdata: <COUNTRY>/2DCode/raw/*.json at any
    /// depth under DIR): one line per failed check, then {"cases","checks","passed","failed"}.
    Conformance {
        /// The folder holding the vectors.
        dir: PathBuf,
        /// `text` for people, `json` (one object per failed check) for scripts.
        #[arg(long, value_enum, default_value = "text")]
        format: ConformanceFormat,
    },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ConformanceFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct PairArgs {
    /// The trace server's URL as this kiosk reaches it.
    #[arg(long)]
    pub url: String,
    /// This kiosk's token (from `trace-server kiosk add`).
    #[arg(long, required_unless_present = "token_file", conflicts_with = "token_file")]
    pub token: Option<String>,
    /// Read the token from this file instead (`-`: standard input), so it stays out of the
    /// process list and the shell's history.
    #[arg(long)]
    pub token_file: Option<PathBuf>,
    /// The server's public key (from `trace-server key`): pinned, it signs the trust list.
    #[arg(long)]
    pub server_key: String,
    /// Send unsent passages recorded under another venue's id as the paired venue's too (only
    /// when this kiosk stood at the paired venue all along, merely misconfigured).
    #[arg(long)]
    pub adopt_backlog: bool,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Format {
    Table,
    Csv,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum LogCommand {
    /// The passages of one local day (default today).
    Day {
        /// The local day, YYYY-MM-DD (default today in the venue's time zone).
        date: Option<String>,
        /// `table` for people, `csv` or `json` (one object per line) for scripts.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Entries, exits, unique visitors, denials by reason, peak hour, occupancy.
    Summary {
        /// The local day, YYYY-MM-DD (default today in the venue's time zone).
        date: Option<String>,
        /// `table` for people, `csv` or `json` (one object per line) for scripts.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Write the passages of local days FROM..=TO as CSV.
    Export {
        /// First local day, YYYY-MM-DD.
        #[arg(long)]
        from: String,
        /// Last local day, YYYY-MM-DD (included).
        #[arg(long)]
        to: String,
        /// The CSV file to write.
        #[arg(long)]
        out: PathBuf,
    },
    /// Walk the hash chain and name the first broken link.
    Verify,
    /// Close overdue visits and purge synced passages past [privacy] retention_days.
    Purge,
    /// Copy every readable passage of a damaged log (one the kiosk moved aside at start-up,
    /// `kiosk.db.damaged-…`) into the current log; unsynced ones stay unsynced and are sent.
    Salvage {
        /// The damaged log file.
        file: std::path::PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum PassCommand {
    /// Make an issuer key pair: DIR/ID.key (secret, mode 0600) and DIR/ID.pub.
    Keygen {
        /// The issuer's id, as passes name it (e.g. gd-health).
        #[arg(long)]
        issuer: String,
        /// The folder to write the key files into.
        #[arg(long)]
        out: PathBuf,
    },
    /// Sign a pass and print its QR text (and write it as a PNG with --png).
    Issue(IssueArgs),
}

#[derive(Debug, Args)]
pub struct IssueArgs {
    /// The issuer's secret key file (`kiosk pass keygen` writes NAME.key).
    #[arg(long)]
    pub key: PathBuf,
    /// Pseudonymous subject id (never a real name or ID number).
    #[arg(long)]
    pub subject: String,
    /// Full name; only its masked form (张*三, J*** D**) goes into the pass.
    #[arg(long)]
    pub name: String,
    /// What the pass is: a health code, a travel card or a venue badge.
    #[arg(long)]
    pub kind: passes::vp1::PassKind,
    /// Health code colour (health codes only).
    #[arg(long)]
    pub health: Option<passes::vp1::HealthColour>,
    /// Regions visited: REGION:YYYY-MM-DD,...
    #[arg(long)]
    pub travel: Option<String>,
    /// The issuer flags the travel history as risky.
    #[arg(long)]
    pub risk: bool,
    /// Badge role (staff, member, ...); badges only.
    #[arg(long)]
    pub role: Option<String>,
    /// Issue time (RFC 3339, or a date for its midnight UTC); default now. Back-date it to
    /// scan with `--at` in the past.
    #[arg(long)]
    pub issued_at: Option<String>,
    /// Validity: 90s, 30m, 24h, 14d.
    #[arg(long, default_value = "24h")]
    pub valid_for: String,
    /// Also write the pass as a QR code image to this PNG file.
    #[arg(long)]
    pub png: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Trust this issuer public key for this run, beside those in kiosk.toml.
    #[arg(long)]
    pub trust: Vec<PathBuf>,
    /// Trust this EU DCC signer certificate (DER or PEM, or a JSON list of them) for this run,
    /// beside [trust.hc1] dsc in kiosk.toml.
    #[arg(long)]
    pub trust_dsc: Vec<PathBuf>,
    /// The time to judge passes at (RFC 3339, or a date for its midnight UTC); default now. For
    /// replaying or importing a day.
    #[arg(long)]
    pub at: Option<String>,
    /// Record each verdict in the passage log; a line is printed only after its commit.
    #[arg(long)]
    pub record: bool,
    /// Image files (PNG, JPEG, WebP) holding a pass's QR code.
    #[arg(required = true)]
    pub images: Vec<PathBuf>,
}
