//! Entry point: parses arguments and dispatches; the only place `anyhow` is used.

use std::process::ExitCode;

use clap::Parser;
use kiosk::commands::args::{Cli, Command, PassCommand};
use kiosk::commands::{log, pass, scan};

fn run(cli: Cli) -> anyhow::Result<()> {
    match &cli.command {
        Some(Command::Pass(PassCommand::Keygen { issuer, out })) => pass::keygen(issuer, out)?,
        Some(Command::Pass(PassCommand::Issue(args))) => pass::issue(args)?,
        Some(Command::Decode { images }) => scan::decode(images)?,
        Some(Command::Scan(args)) => scan::scan(cli.config.as_deref(), args)?,
        Some(Command::CheckConfig) => scan::check_config(cli.config.as_deref())?,
        Some(Command::Log(cmd)) => log::run(cli.config.as_deref(), cmd)?,
        None => anyhow::bail!(
            "the kiosk screen is not part of this build yet; see `kiosk --help` for the headless commands"
        ),
    }
    Ok(())
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line a person can act on; no backtrace even when RUST_BACKTRACE is set.
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
