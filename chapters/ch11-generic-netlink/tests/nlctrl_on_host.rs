//! nlctrl on the host, whose kernel cannot load modules: the controller is
//! there on every kernel, the NLBOOK_KV family never is. The set of
//! families differs from kernel to kernel, so these tests check properties;
//! the VM lab snapshots whole listings on pinned kernels.

use ch11_generic_netlink::genl_socket::GenlSocket;
use ch11_generic_netlink::nlctrl::{ResolveError, get_family, list_families, resolve_group};
use nlbook_common::genl::GENL_ID_CTRL;
use nlbook_common::in_fresh_netns;
use nlbook_common::programs::{outcome, stdout_of_success};

const NLCTRL: &str = env!("CARGO_BIN_EXE_ch11-nlctrl");

#[test]
fn nlctrl_has_the_fixed_id_and_the_notify_group() {
    let family =
        in_fresh_netns(|| get_family(&GenlSocket::open().unwrap(), "nlctrl").unwrap()).unwrap();
    assert_eq!(family.id, GENL_ID_CTRL);
    assert_eq!(family.name, "nlctrl");
    // genetlink.c: the controller's only group is "notify", whose id is
    // GENL_ID_CTRL as well (reserved before any family registers).
    let notify = family.group("notify").expect("nlctrl has a notify group");
    assert_eq!(notify.id, u32::from(GENL_ID_CTRL));
    assert_eq!(family.groups.len(), 1);
}

#[test]
fn a_group_resolves_by_name_and_a_missing_one_says_so() {
    in_fresh_netns(|| {
        let sock = GenlSocket::open().unwrap();
        assert_eq!(resolve_group(&sock, "nlctrl", "notify").unwrap(), 0x10);
        let err = resolve_group(&sock, "nlctrl", "events").unwrap_err();
        assert!(matches!(err, ResolveError::NoGroup { .. }), "{err}");
        assert_eq!(
            err.to_string(),
            "family \"nlctrl\" has no multicast group \"events\""
        );
    })
    .unwrap();
}

#[test]
fn an_unregistered_family_is_enoent() {
    let err = in_fresh_netns(|| get_family(&GenlSocket::open().unwrap(), "NLBOOK_KV").unwrap_err())
        .unwrap();
    assert!(
        matches!(err, ResolveError::NotFound(ref n) if n == "NLBOOK_KV"),
        "{err}"
    );
}

#[test]
fn the_dump_lists_nlctrl_sorted_by_name() {
    let families = in_fresh_netns(|| list_families(&GenlSocket::open().unwrap()).unwrap()).unwrap();
    let names: Vec<&str> = families.iter().map(|f| f.name.as_str()).collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(names, sorted);
    assert!(names.contains(&"nlctrl"), "{names:?}");
    assert!(!names.contains(&"NLBOOK_KV"), "{names:?}");
    // Ids are unique, and nlctrl's is the lowest: it registers first.
    let mut ids: Vec<u16> = families.iter().map(|f| f.id).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), families.len());
    assert_eq!(ids.first(), Some(&GENL_ID_CTRL));
}

#[test]
fn the_list_program_prints_one_line_per_family() {
    let out = stdout_of_success(NLCTRL, &["list"]);
    let mut lines = out.lines();
    let heading = lines.next().expect("a heading");
    let families: Vec<&str> = lines.collect();
    assert_eq!(
        heading,
        format!(
            "{} generic netlink families in a fresh network namespace, by name:",
            families.len()
        )
    );
    assert!(
        families.iter().any(
            |l| l.starts_with("  nlctrl           id 0x0010  version 2  ")
                && l.ends_with("groups: notify 0x10")
        ),
        "{out}"
    );
}

#[test]
fn the_resolve_program_shows_nlctrl() {
    let out = stdout_of_success(NLCTRL, &["resolve", "nlctrl"]);
    assert!(
        out.starts_with("nlctrl           id 0x0010  version 2  "),
        "{out}"
    );
    assert!(out.ends_with("groups: notify 0x10\n"), "{out}");
}

fn snapshot(name: &str, program: &str, args: &[&str], command: &str) {
    insta::with_settings!({
        prepend_module_to_snapshot => false,
        omit_expression => true,
        description => command,
    }, {
        insta::assert_snapshot!(name, outcome(program, args));
    });
}

#[test]
fn resolving_nlbook_kv_without_the_module() {
    snapshot(
        "ch11-nlctrl-without-module",
        NLCTRL,
        &["resolve", "NLBOOK_KV"],
        "cargo run -p ch11-generic-netlink --bin ch11-nlctrl -- resolve NLBOOK_KV   # on the host, without the module",
    );
}

#[test]
fn the_kv_client_without_the_module() {
    snapshot(
        "ch11-kv-neli-without-module",
        env!("CARGO_BIN_EXE_ch11-kv-neli"),
        &[],
        "cargo run -p ch11-generic-netlink --bin ch11-kv-neli   # on the host, without the module",
    );
}

#[test]
fn the_dump_program_without_the_module() {
    snapshot(
        "ch11-dump-intr-without-module",
        env!("CARGO_BIN_EXE_ch11-dump-intr"),
        &[],
        "cargo run -p ch11-generic-netlink --bin ch11-dump-intr   # on the host, without the module",
    );
}

#[test]
fn usage_errors_are_reported() {
    let out = outcome(NLCTRL, &[]);
    assert!(out.starts_with("exit status: 2\n"), "{out}");
    assert!(
        out.contains("usage: ch11-nlctrl list | ch11-nlctrl resolve NAME..."),
        "{out}"
    );
}
