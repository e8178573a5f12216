//! Entry point: parses arguments and dispatches; the only place `anyhow` is used.

use std::process::ExitCode;

use clap::Parser;
use kiosk::commands::args::{Cli, Command, DccCommand, PassCommand, VoiceCommand};
use kiosk::commands::{dcc, log, pair, pass, scan, voice};

fn run(cli: Cli) -> anyhow::Result<()> {
    match &cli.command {
        Some(Command::Pass(PassCommand::Keygen { issuer, out })) => pass::keygen(issuer, out)?,
        Some(Command::Pass(PassCommand::Issue(args))) => pass::issue(args)?,
        Some(Command::Decode { images, live }) => scan::decode(images, *live)?,
        Some(Command::Scan(args)) => scan::scan(cli.config.as_deref(), args)?,
        Some(Command::CheckConfig { online }) => scan::check_config(cli.config.as_deref(), *online)?,
        Some(Command::Pair(args)) => pair::pair(cli.config.as_deref(), args)?,
        Some(Command::Log(cmd)) => log::run(cli.config.as_deref(), cmd)?,
        Some(Command::Dcc(DccCommand::Conformance { dir, format })) => dcc::conformance(dir, *format)?,
        Some(Command::Voice(VoiceCommand::Export { dir })) => voice::export(cli.config.as_deref(), dir)?,
        Some(Command::Sync { once }) => {
            if !once {
                anyhow::bail!("`kiosk sync` runs inside the kiosk; use `kiosk sync --once` from scripts");
            }
            log::sync_once(cli.config.as_deref())?
        }
        Some(Command::PinHash) => {
            let mut pin = String::new();
            std::io::stdin().read_line(&mut pin)?;
            let pin = pin.trim();
            if !(4..=12).contains(&pin.len()) || !pin.bytes().all(|b| b.is_ascii_digit()) {
                anyhow::bail!("a PIN is 4 to 12 digits; type it on standard input");
            }
            println!("{}", kiosk::app::hash_pin(pin).map_err(anyhow::Error::msg)?);
        }
        None => kiosk::app::run(kiosk::app::Launch {
            config: cli.config.clone(),
            demo: cli.demo,
            windowed: cli.windowed,
            source: cli.source.clone(),
        })?,
    }
    Ok(())
}

/// Exit codes: 0 done; 1 done, but something is left (unreadable images, a sync backlog);
/// 2 an error (bad arguments or configuration, no log, no server).
fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // A line a person can act on; no backtrace even when RUST_BACKTRACE is set, and no
            // cause the line above already quotes.
            let mut shown = String::new();
            for (i, cause) in e.chain().enumerate() {
                let text = cause.to_string();
                if !shown.contains(&text) {
                    eprintln!("{}{text}", if i == 0 { "error: " } else { "  caused by: " });
                    shown = text;
                }
            }
            let code = e
                .downcast_ref::<kiosk::commands::CommandError>()
                .map_or(2, kiosk::commands::CommandError::exit_code);
            ExitCode::from(code)
        }
    }
}
