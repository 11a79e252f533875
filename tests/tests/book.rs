//! The book: every include and snapshot it shows resolves, and it builds.

use xtask::{book, workspace};

#[test]
fn every_include_and_snapshot_resolves() {
    let count = book::check_all_directives(&workspace::root()).unwrap_or_else(|e| panic!("{e:#}"));
    assert!(count > 0, "the book includes nothing: is book/src empty?");
}

#[test]
fn a_broken_include_is_reported() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path().to_path_buf();
    std::fs::write(
        dir.join("code.rs"),
        "// ANCHOR: there\nfn x() {}\n// ANCHOR_END: there\n",
    )
    .unwrap();
    let good = book::directives("{{#include code.rs:there}}");
    assert!(book::check_directive(&dir, &good[0]).is_ok());
    for bad in [
        "{{#include code.rs:missing}}",
        "{{#include nothing.rs}}",
        "{{#snapshot code.rs}}",
    ] {
        let d = book::directives(bad);
        assert!(
            book::check_directive(&dir, &d[0]).is_err(),
            "{bad} should fail"
        );
    }
}

#[test]
fn the_book_builds_with_search() {
    let html = book::build(&workspace::root()).unwrap_or_else(|e| panic!("{e:#}"));
    assert!(html.join("index.html").is_file());
    let has_search_index = std::fs::read_dir(&html)
        .unwrap()
        .filter_map(Result::ok)
        .any(|e| e.file_name().to_string_lossy().starts_with("searchindex"));
    assert!(
        has_search_index,
        "search is enabled but no search index was written"
    );
    let chapter = std::fs::read_to_string(html.join("ch01-hello-netlink.html")).unwrap();
    assert!(
        chapter.contains("AF_NETLINK"),
        "chapter 1 lost its included code"
    );
    assert!(
        !chapter.contains("{{#"),
        "an unexpanded directive reached the HTML"
    );
}

#[test]
fn no_page_pastes_program_output() {
    let problems = book::pasted_output(&workspace::root()).unwrap_or_else(|e| panic!("{e:#}"));
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn pasted_output_is_recognised_and_commands_are_not() {
    let output = [
        &["[    1.234567] echo: protocol 30 ready"][..],
        &["$ ch01-echo-raw", "sent: \"hello\""][..],
        &["ch05-sa-monitor: XFRM_MSG_NEWSA: no ESP"][..],
    ];
    for block in output {
        assert!(book::looks_like_output(block).is_some(), "{block:?}");
    }
    let commands = [
        &["cargo xtask lab --chapter ch01"][..],
        &["$ cargo xtask book", "$ cargo xtask serve"][..],
        &["cargo xtask demo ch06 ch06-overrun      # or: the lab"][..],
    ];
    for block in commands {
        assert!(book::looks_like_output(block).is_none(), "{block:?}");
    }
}

#[test]
fn broken_diagrams_and_kernel_citations_are_reported() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path().to_path_buf();
    std::fs::write(dir.join("good.bob"), "# A box\n+---+\n| a |\n+---+\n").unwrap();
    std::fs::write(dir.join("no-caption.bob"), "+---+\n| a |\n+---+\n").unwrap();
    std::fs::write(dir.join("empty.bob"), "# Nothing drawn\n\n").unwrap();
    std::fs::write(dir.join("undrawn.bob"), "# A box\n+---+\n").unwrap();
    std::fs::write(
        dir.join("good.svg"),
        xtask::diagram::drawing_file(&dir.join("good.bob")).unwrap(),
    )
    .unwrap();
    let good =
        book::directives("{{#diagram good.bob}} {{#kfn netlink_bind}} {{#kernel MAX_LINKS}}");
    for d in &good {
        assert!(book::check_directive(&dir, d).is_ok(), "{d:?}");
    }
    let html = book::expand_snapshots(&dir, "{{#diagram good.bob}}").unwrap();
    assert!(
        html.starts_with("<figure class=\"diagram\">\n<svg")
            && html.contains("<figcaption>A box</figcaption>"),
        "{html}"
    );
    for bad in [
        "{{#diagram missing.bob}}",
        "{{#diagram no-caption.bob}}",
        "{{#diagram empty.bob}}",
        "{{#diagram undrawn.bob}}",
        "{{#kfn no_such_function}}",
        "{{#kernel no-such-snippet}}",
    ] {
        let d = book::directives(bad);
        assert!(
            book::check_directive(&dir, &d[0]).is_err(),
            "{bad} should fail"
        );
    }
}

#[test]
fn every_diagram_is_drawn_from_its_source() {
    let stale = xtask::diagram::check_drawings(&workspace::root(), false).unwrap();
    assert!(stale.is_empty(), "{}", stale.join("\n"));
}
