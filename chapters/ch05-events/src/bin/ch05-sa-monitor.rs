//! Join XFRMNLGRP_SA two ways, add an ESP SA and delete it over
//! NETLINK_XFRM in a fresh network namespace, and decode the events.
//! `--hex` also prints each event's bytes.

use std::process::ExitCode;

use ch05_events::monitor;

fn main() -> ExitCode {
    let mut hex = false;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--hex" => hex = true,
            other => {
                eprintln!(
                    "ch05-sa-monitor: unknown argument {other:?}; usage: ch05-sa-monitor [--hex]"
                );
                return ExitCode::from(2);
            }
        }
    }
    nlbook_common::exit_code(
        "ch05-sa-monitor",
        monitor::run()
            .map_err(|e| e.to_string())
            .and_then(|report| monitor::render(&report, hex).map_err(|e| e.to_string()))
            .map(|text| print!("{text}")),
    )
}
