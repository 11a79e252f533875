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
                let usage = nlbook_common::UsageError::new(
                    format!("unknown argument {other:?}"),
                    "usage: ch05-sa-monitor [--hex]",
                );
                return nlbook_common::exit_code("ch05-sa-monitor", Err(usage));
            }
        }
    }
    nlbook_common::exit_code(
        "ch05-sa-monitor",
        monitor::run()
            .map_err(nlbook_common::anyhow::Error::new)
            .and_then(|report| {
                monitor::render(&report, hex).map_err(nlbook_common::anyhow::Error::new)
            })
            .map(|text| print!("{text}")),
    )
}
