//! `ch04-test-bit`: where the kernel and user space keep the bit of each
//! group, for the groups given (default: 1 22 32 33 36 64 65).
//!
//! ```text
//! ch04-test-bit [GROUP...]
//! ```

use nlbook_common::UsageError;
use std::process::ExitCode;

use anyhow::Result;
use ch04_nl_table::groups::{
    BitPosition, Endian, Groups, LongBits, LongLayout, hex_bytes, kernel_position, nl_groups_bit,
    u32_position,
};
use ch04_nl_table::table::Table;
use nlbook_common::exit_code;

const PROGRAM: &str = "ch04-test-bit";
const DEFAULT_GROUPS: [u32; 7] = [1, 22, 32, 33, 36, 64, 65];

fn main() -> ExitCode {
    exit_code(PROGRAM, run().map(|text| print!("{text}")))
}

fn position(p: Option<BitPosition>) -> String {
    p.map_or_else(
        || "none".to_owned(),
        |p| format!("word {}, bit {}", p.word, p.bit),
    )
}

fn run() -> Result<String> {
    let groups: Vec<u32> = match std::env::args().skip(1).collect::<Vec<_>>() {
        args if args.is_empty() => DEFAULT_GROUPS.to_vec(),
        args => args
            .iter()
            .map(|a| {
                a.parse().map_err(|_| {
                    UsageError::new(
                        format!("not a group number: {a:?}"),
                        "usage: ch04-test-bit [GROUP...]",
                    )
                    .into()
                })
            })
            .collect::<Result<_>>()?,
    };
    let mut t = Table::new([
        "group",
        "nr",
        "kernel, 64-bit long",
        "kernel, 32-bit long",
        "u32 words (LIST_MEMBERSHIPS)",
        "nl_groups bit",
    ]);
    for &g in &groups {
        t.row([
            g.to_string(),
            g.checked_sub(1)
                .map_or_else(|| "-".into(), |nr| nr.to_string()),
            position(kernel_position(g, LongBits::L64)),
            position(kernel_position(g, LongBits::L32)),
            position(u32_position(g)),
            nl_groups_bit(g).map_or_else(|| "none".into(), |b| format!("{b:#010x}")),
        ]);
    }
    let mut out =
        String::from("test_bit(group - 1, map): word nr / BITS_PER_LONG, bit nr % BITS_PER_LONG\n");
    out.push_str(&t.render());

    // The memory NETLINK_DIAG_GROUPS copies, for the same groups on a
    // protocol with 65 groups, on each kind of machine.
    let set = Groups::of(groups.iter().copied());
    out.push_str(&format!(
        "\nthe bitmap of groups {set} with 65 groups, as NETLINK_DIAG_GROUPS copies it:\n"
    ));
    let mut t = Table::new(["kernel", "bytes"]);
    for (name, bits, endian) in [
        (
            "x86_64 (64-bit, little-endian)",
            LongBits::L64,
            Endian::Little,
        ),
        (
            "i386 (32-bit, little-endian)",
            LongBits::L32,
            Endian::Little,
        ),
        ("s390x (64-bit, big-endian)", LongBits::L64, Endian::Big),
    ] {
        let bytes = set.to_kernel_longs(65, LongLayout { bits, endian });
        t.row([name.to_owned(), hex_bytes(&bytes)]);
    }
    out.push_str(&t.render());
    out.push_str(&format!(
        "and as NETLINK_LIST_MEMBERSHIPS returns it on all three: {}\n",
        ch04_nl_table::groups::hex_words(&set.to_u32_words(65))
    ));
    Ok(out)
}
