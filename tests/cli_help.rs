//! Both command lines, checked against themselves and README.md: every flag, argument and
//! subcommand has a help line, and the README mentions every command and flag.

use clap::CommandFactory;

/// Every flag, argument and subcommand without a help line, as `kiosk sub <arg>`.
fn undocumented(cmd: &clap::Command, path: &str, out: &mut Vec<String>) {
    for a in cmd.get_arguments() {
        let id = a.get_id().as_str();
        if !matches!(id, "help" | "version") && a.get_help().is_none() {
            out.push(format!("{path} <{id}>"));
        }
    }
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        let here = format!("{path} {}", sub.get_name());
        if sub.get_about().is_none() {
            out.push(here.clone());
        }
        undocumented(sub, &here, out);
    }
}

/// Every subcommand and `--flag` that README.md never mentions.
fn unlisted(cmd: &clap::Command, path: &str, readme: &str, out: &mut Vec<String>) {
    for a in cmd.get_arguments() {
        if let Some(long) = a.get_long().filter(|l| !matches!(*l, "help" | "version"))
            && !readme.contains(&format!("--{long}"))
        {
            out.push(format!("{path} --{long}"));
        }
    }
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        let here = format!("{path} {}", sub.get_name());
        if !readme.contains(sub.get_name()) {
            out.push(here.clone());
        }
        unlisted(sub, &here, readme, out);
    }
}

fn both() -> [(clap::Command, &'static str); 2] {
    [
        (kiosk::commands::args::Cli::command(), "kiosk"),
        (trace_server::args::Cli::command(), "trace-server"),
    ]
}

#[test]
fn every_flag_and_subcommand_says_what_it_is_for() {
    let mut missing = Vec::new();
    for (cmd, name) in both() {
        undocumented(&cmd, name, &mut missing);
    }
    assert!(missing.is_empty(), "no help text: {missing:#?}");
}

#[test]
fn the_readme_lists_every_command_and_flag() {
    let readme = include_str!("../README.md");
    let mut missing = Vec::new();
    for (cmd, name) in both() {
        unlisted(&cmd, name, readme, &mut missing);
    }
    assert!(missing.is_empty(), "README.md does not mention: {missing:#?}");
    // The check itself can fail.
    let mut probe = Vec::new();
    unlisted(&kiosk::commands::args::Cli::command(), "kiosk", "nothing", &mut probe);
    assert!(probe.iter().any(|m| m == "kiosk pair --adopt-backlog"), "{probe:?}");
}
