//! Listen to some of netdev_events.ko's groups, cause device events, and
//! show that only the joined groups' events arrive.

use std::process::ExitCode;

fn main() -> ExitCode {
    if let Err(usage) = nlbook_common::no_arguments("ch05-netdev-listener") {
        return nlbook_common::exit_code("ch05-netdev-listener", Err(usage));
    }
    nlbook_common::exit_code(
        "ch05-netdev-listener",
        ch05_events::netdev::run().map(|report| print!("{}", ch05_events::netdev::render(&report))),
    )
}
