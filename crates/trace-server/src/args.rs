//! The command line of `trace-server` (clap): every command, flag and its help. In the library
//! so that tests check the help and README.md against it.

use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand};
use wire::when::{Edge, parse_instant};

/// Output of lists and tracing queries.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Format {
    Json,
    Table,
}

#[derive(Parser)]
#[command(
    name = "trace-server",
    version,
    about = "Central trace server for venue check-in kiosks",
    after_help = "Every command reads the database from DATABASE_URL (or --database-url) and runs the \
                  migrations it needs first. Times are dates (2026-11-20, in UTC) or RFC 3339 times."
)]
pub struct Cli {
    /// PostgreSQL URL, e.g. postgres://user@127.0.0.1/trace
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,
    /// The trust-list signing key file (`trace-server key generate`); without it the key kept
    /// in the database is used.
    #[arg(long, env = "TRACE_SERVER_SIGNING_KEY", global = true)]
    pub signing_key: Option<std::path::PathBuf>,
    /// The DCC subject key file (`trace-server subject-key generate`/`move-out`); without it
    /// the key kept in the database is used.
    #[arg(long, env = "TRACE_SERVER_SUBJECT_KEY", global = true)]
    pub subject_key: Option<std::path::PathBuf>,
    #[command(subcommand)]
    pub command: Cmd,
}

#[derive(Subcommand)]
pub enum Cmd {
    /// Run the HTTP server (migrations run first).
    Serve {
        /// Address and port to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
        /// Visit length assumed when an entry has no exit, in hours.
        #[arg(long, default_value_t = 4.0, value_parser = parse_visit_hours)]
        visit_hours: f64,
        /// Passages older than this many days are deleted (checked hourly).
        #[arg(long, default_value_t = 28, value_parser = clap::value_parser!(u32).range(1..))]
        retention_days: u32,
        /// Requests served at once; more get 503 and Retry-After.
        #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..))]
        max_in_flight: u32,
        /// Seconds a request may take, a slow upload included, before it is cut with 408.
        #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
        request_timeout: u64,
        /// Requests a minute one client address (IPv6: one /64) may make (bursts of ten
        /// seconds' worth); more get 429 and Retry-After. 0 (default): no limit. Behind a
        /// reverse proxy, name it with --trusted-proxy, or every client is the proxy.
        #[arg(long, default_value_t = 0)]
        per_client_per_minute: u32,
        /// Reverse proxy address (e.g. 10.0.0.5; a network trusts every host in it; repeatable) whose
        /// X-Forwarded-For names the client for --per-client-per-minute. The header is ignored
        /// from every other peer.
        #[arg(long = "trusted-proxy", value_name = "CIDR", value_parser = parse_net)]
        trusted_proxies: Vec<ipnet::IpNet>,
        /// Requests a minute one token (kiosk, tracer or operator; console sessions count
        /// against their token) may make from any addresses; more get 429. 0: no limit.
        #[arg(long, default_value_t = crate::api::PER_TOKEN_PER_MINUTE)]
        per_token_per_minute: u32,
        /// Passages one ingest request may carry; a larger batch gets 413 and the kiosk
        /// sends it in halves. Lower it when a proxy in front limits request bodies.
        #[arg(long, default_value_t = wire::MAX_BATCH as u32,
              value_parser = clap::value_parser!(u32).range(1..=wire::MAX_BATCH as i64))]
        max_batch: u32,
        /// IANA time zone the web console (/ui) shows days and times in.
        #[arg(long, default_value = "Asia/Shanghai", value_parser = parse_zone)]
        timezone: chrono_tz::Tz,
    },
    /// Delete passages older than the retention period now (what `serve` does hourly).
    Purge {
        /// Passages older than this many days are deleted.
        #[arg(long, default_value_t = 28, value_parser = clap::value_parser!(u32).range(1..))]
        retention_days: u32,
    },
    /// Kiosk credentials: add (prints the pairing command), list, revoke, rotate.
    #[command(subcommand)]
    Kiosk(KioskCmd),
    /// Tracer credentials: add, list, revoke, rotate.
    #[command(subcommand)]
    Tracer(TracerCmd),
    /// Venue operators (the web console's second role: their own venue only): add, list, revoke.
    #[command(subcommand)]
    Operator(OperatorCmd),
    /// The audit trail of tracing queries.
    #[command(subcommand)]
    Audit(AuditCmd),
    /// Print the server's public key, for kiosk.toml `[sync] server_key`; or make or move
    /// the signing key.
    Key {
        #[command(subcommand)]
        action: Option<KeyCmd>,
    },
    /// The DCC subject key (keys EU DCC holders' ids): make one, or move it out of the database.
    #[command(subcommand)]
    SubjectKey(SubjectKeyCmd),
    /// Trust a pass issuer: its .pub file goes into the signed list kiosks fetch.
    IssuerAdd {
        /// The issuer's public key file (`kiosk pass keygen` writes NAME.pub).
        file: std::path::PathBuf,
        /// Trust it only for these kinds of pass (health, travel, badge; comma-separated):
        /// a worksite's badge key must not mint health codes. Default: any kind.
        #[arg(long, value_delimiter = ',')]
        kinds: Option<Vec<passes::vp1::PassKind>>,
    },
    /// Stop trusting a pass issuer: kiosks refuse its passes once they fetch the new list.
    IssuerRemove {
        /// The issuer's id, as `issuer-add` printed it.
        issuer: String,
    },
    /// Trust EU DCC signer certificates (DSCs): they go into the signed list kiosks fetch.
    DscAdd {
        /// A DER or PEM certificate, or a JSON list of base64 certificates.
        file: std::path::PathBuf,
    },
    /// Stop trusting an EU DCC signer certificate.
    DscRemove {
        /// Its key id (base64), as `dsc-add` printed it.
        kid: String,
    },
    /// The pseudonymous id kiosks log for an EU DCC holder, to open a case for them: names as
    /// transliterated on the certificate (MUSTERMANN), date of birth as printed.
    DccSubject {
        /// Family name, transliterated (the certificate's `fnt`, `<` between parts).
        #[arg(long)]
        family: String,
        /// Given name, transliterated (`gnt`), when the certificate has one.
        #[arg(long)]
        given: Option<String>,
        /// Date of birth as on the certificate (YYYY-MM-DD, YYYY-MM, YYYY, or empty).
        #[arg(long)]
        dob: String,
    },
    /// Take a region off the risk list kiosks fetch.
    RiskRegionRemove {
        /// The region's name.
        region: String,
    },
    /// Add a risk region to the signed list kiosks fetch.
    RiskRegionAdd {
        /// The region's name as travel passes carry it, e.g. R-North.
        region: String,
    },
    /// Cases: a person's contacts are traced only within an open case.
    #[command(subcommand)]
    Case(CaseCmd),
    /// Tracing queries (audited like the HTTP ones, under the name "cli").
    #[command(subcommand)]
    Trace(TraceCmd),
}

#[derive(Subcommand)]
pub enum KeyCmd {
    /// Make a new signing key file (0600), e.g. on an offline machine; serve with --signing-key.
    Generate {
        /// Where to write it (never over an existing file).
        #[arg(long)]
        out: std::path::PathBuf,
    },
    /// Move the key kept in the database to a file (kiosks keep their pinned key) and delete
    /// it from the database.
    MoveOut {
        /// Where to write it (never over an existing file).
        #[arg(long)]
        out: std::path::PathBuf,
    },
}

#[derive(Subcommand)]
pub enum SubjectKeyCmd {
    /// Make a new subject key file (0600) for a new deployment; serve with --subject-key.
    Generate {
        /// Where to write it (never over an existing file).
        #[arg(long)]
        out: std::path::PathBuf,
    },
    /// Move the key kept in the database to a file (kiosks keep theirs) and delete it from the
    /// database: a dump then holds ids but not the key that links them to names.
    MoveOut {
        /// Where to write it (never over an existing file).
        #[arg(long)]
        out: std::path::PathBuf,
    },
}

#[derive(Subcommand)]
pub enum KioskCmd {
    /// Register a kiosk at a venue; prints the `kiosk pair` command to run on it (the token
    /// is shown once: only its hash is kept).
    Add {
        /// The venue's id, as passages and tracers name it.
        #[arg(long)]
        venue: String,
        /// The kiosk's name, unique on this server (becomes its [kiosk] id).
        #[arg(long)]
        name: String,
        /// This server's URL as the kiosk reaches it, e.g. https://trace.example.org
        #[arg(long)]
        url: String,
        /// `json`: one object with the token, ids, URL and key, for scripts.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Every kiosk, its venue, when it was last heard from and its clock skew.
    List {
        /// `table` for people, `json` (one object per line) for scripts.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Stop a kiosk's token from working at once (its passages stay).
    Revoke {
        /// The kiosk's name.
        name: String,
    },
    /// Give a kiosk a new token (the old one stops working) and print the pairing command.
    Rotate {
        /// The kiosk's name.
        name: String,
        /// This server's URL as the kiosk reaches it.
        #[arg(long)]
        url: String,
        /// `table` for people, `json` (one object per line) for scripts.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
}

#[derive(Subcommand)]
pub enum TracerCmd {
    /// Register a tracer and print their token (shown once).
    Add {
        /// The tracer's name, as the audit trail records it.
        name: String,
        /// Days until the token expires.
        #[arg(long, default_value_t = 90, value_parser = clap::value_parser!(u32).range(1..=366))]
        days: u32,
    },
    /// Every tracer, and whether their token works.
    List {
        /// `table` for people, `json` (one object per line) for scripts.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Stop a tracer's token from working at once.
    Revoke {
        /// The tracer's name.
        name: String,
    },
    /// Give a tracer a new token (the old one stops working) and print it.
    Rotate {
        /// The tracer's name.
        name: String,
        /// Days until the new token expires.
        #[arg(long, default_value_t = 90, value_parser = clap::value_parser!(u32).range(1..=366))]
        days: u32,
    },
}

#[derive(Subcommand)]
pub enum OperatorCmd {
    /// Register a venue operator and print their token last (shown once): it signs in to the
    /// web console at /ui/login and sees only this venue.
    Add {
        /// The venue they run, as its kiosks name it.
        #[arg(long)]
        venue: String,
        /// The operator's name.
        name: String,
    },
    /// Every operator, their venue, and whether their token works.
    List {
        /// `table` for people, `json` (one object per line) for scripts.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Stop an operator's token at once and sign them out of the console.
    Revoke {
        /// The operator's name.
        name: String,
    },
}

#[derive(Subcommand)]
pub enum AuditCmd {
    /// Who asked what, oldest first.
    Show {
        /// Only queries from then on (default: the last 7 days).
        #[arg(long, value_parser = from_arg)]
        since: Option<DateTime<Utc>>,
        /// Only this tracer's queries ("cli" for the command line's).
        #[arg(long)]
        tracer: Option<String>,
        /// At most this many rows.
        #[arg(long, default_value_t = 1000)]
        limit: i64,
        /// `table` for people, `json` (one object per line) for scripts.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
}

#[derive(Subcommand)]
pub enum CaseCmd {
    /// Open a case for a confirmed case's subject; prints its id.
    Open {
        /// The confirmed case's pseudonymous subject id.
        subject: String,
        /// Why (a lab report or order number): kept in the audit trail.
        #[arg(long)]
        reason: String,
        /// Days the case stays open (1 to 60).
        #[arg(long, default_value_t = 14)]
        days: i64,
        /// The tracer the case is for (only they may use it over HTTP; default: the command
        /// line only).
        #[arg(long, default_value = "cli")]
        tracer: String,
    },
    /// Open cases (or all, with --all), newest first.
    List {
        /// Closed and expired cases too.
        #[arg(long)]
        all: bool,
        /// `table` for people, `json` (one object per line) for scripts.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Close a case: no more tracing under it.
    Close {
        /// The case's id.
        id: i64,
    },
}

/// One page of a list about people.
#[derive(clap::Args)]
pub struct PageArgs {
    /// At most this many rows (1 to 1000).
    #[arg(long, default_value_t = 1000)]
    pub limit: i64,
    /// Skip this many rows first (the next page: --offset 1000).
    #[arg(long, default_value_t = 0)]
    pub offset: i64,
}

/// The window every tracing query reads.
#[derive(clap::Args)]
pub struct WindowArgs {
    /// Start: a date (2026-11-20: its midnight UTC) or an RFC 3339 time.
    #[arg(long, value_parser = from_arg)]
    pub from: DateTime<Utc>,
    /// End: a date (2026-11-22: through its end) or an RFC 3339 time; at most 31 days after --from.
    #[arg(long, value_parser = to_arg)]
    pub to: DateTime<Utc>,
    /// `table` for people, `json` (one object per line) for scripts.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

fn from_arg(text: &str) -> Result<DateTime<Utc>, String> {
    parse_instant(text, Edge::Start).map_err(|e| e.to_string())
}

fn to_arg(text: &str) -> Result<DateTime<Utc>, String> {
    parse_instant(text, Edge::End).map_err(|e| e.to_string())
}

#[derive(Subcommand)]
pub enum TraceCmd {
    /// Who overlapped with a case, at which venues, longest overlap first.
    Contacts {
        /// The open case whose subject is traced (`trace-server case open`).
        #[arg(long)]
        case: i64,
        #[command(flatten)]
        window: WindowArgs,
        #[command(flatten)]
        page: PageArgs,
        /// Visit length assumed when an entry has no exit, in hours.
        #[arg(long, default_value_t = 4.0, value_parser = parse_visit_hours)]
        visit_hours: f64,
    },
    /// Everyone who was at a venue in the window, within an open case.
    Venue {
        /// The venue's id.
        venue: String,
        /// The open case this is asked under.
        #[arg(long)]
        case: i64,
        #[command(flatten)]
        window: WindowArgs,
        #[command(flatten)]
        page: PageArgs,
        /// Visit length assumed when an entry has no exit, in hours.
        #[arg(long, default_value_t = 4.0, value_parser = parse_visit_hours)]
        visit_hours: f64,
    },
    /// Venues by visits in the window, busiest first.
    Hotspots {
        #[command(flatten)]
        window: WindowArgs,
    },
    /// Entries and exits per venue per hour.
    Peaks {
        #[command(flatten)]
        window: WindowArgs,
        /// Only this venue.
        #[arg(long)]
        venue: Option<String>,
    },
}

/// A visit length in hours: more than 0 and at most 24 (the visits kept at ingest are sorted
/// by how long they can last, assuming no visit without an exit lasts longer than a day).
fn parse_visit_hours(text: &str) -> Result<f64, String> {
    let hours: f64 = text
        .parse()
        .map_err(|e| format!("{e}: give hours as a number, like 4 or 1.5"))?;
    if hours > 0.0 && hours <= 24.0 {
        Ok(hours)
    } else {
        Err(format!(
            "{hours} is not a visit length: give more than 0 and at most 24 hours"
        ))
    }
}

fn parse_zone(text: &str) -> Result<chrono_tz::Tz, String> {
    text.parse()
        .map_err(|_| format!("{text:?} is not an IANA time zone name such as \"Asia/Shanghai\""))
}

fn parse_net(text: &str) -> Result<ipnet::IpNet, String> {
    text.parse::<ipnet::IpNet>()
        .or_else(|_| text.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| format!("{text:?} is not an address or network such as 10.0.0.5 or 10.0.0.0/8"))
}
