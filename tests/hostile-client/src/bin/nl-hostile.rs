//! `nl-hostile`: the hostile-client battery against one module.
//!
//! ```text
//! nl-hostile --probe FAMILY --module /lab/mod/CHAPTER/NAME.ko
//! ```
//!
//! FAMILY names the module's kind of request (echo, whoami, registry,
//! listeners, burst, max-links, deferred, kthread, genl-kv): its protocol
//! or generic netlink family, the well-formed request that proves it alive
//! and the answer that request must get. The module must be loaded; the
//! battery unloads and loads it again from `--module` (the lab's copy in
//! the guest), and leaves it loaded.
//!
//! Prints one table row per case: what was sent, what came back (errno
//! names, answers counted by category, never port ids, family ids or
//! timings), and whether the probe after it got its right answer. Exit
//! status 0 only if every case was answered as allowed and the module was
//! alive after each; 2 for a usage error.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use nlbook_common::exit_code;
use nlbook_hostile::battery::{self, SEND_THEN_WAIT};
use nlbook_hostile::kmod::ModuleFile;
use nlbook_hostile::report::{failures, table};
use nlbook_hostile::target::{Family, Target};

const PROGRAM: &str = "nl-hostile";

fn usage() -> String {
    let families: Vec<&str> = Family::ALL.iter().map(|f| f.name()).collect();
    format!(
        "usage: {PROGRAM} --probe FAMILY --module PATH.ko\n  FAMILY: {}",
        families.join(", ")
    )
}

#[derive(Debug)]
struct Options {
    family: Family,
    module: Option<ModuleFile>,
    /// Set for the client the battery starts and kills.
    send_then_wait: Option<u16>,
}

fn parse_args(args: &[String]) -> Result<Options, String> {
    let (mut family, mut module, mut send_then_wait, mut genl_id) = (None, None, false, None);
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--probe" => {
                let v = value("--probe")?;
                family = Some(Family::from_name(v).ok_or_else(|| format!("unknown family `{v}`"))?);
            }
            "--module" => module = Some(ModuleFile::new(&PathBuf::from(value("--module")?))?),
            "--genl-id" => {
                let v = value("--genl-id")?;
                genl_id = Some(
                    v.parse::<u16>()
                        .map_err(|_| format!("--genl-id: not a number: `{v}`"))?,
                );
            }
            SEND_THEN_WAIT => send_then_wait = true,
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    let family = family.ok_or("--probe is required")?;
    if send_then_wait {
        return Ok(Options {
            family,
            module: None,
            send_then_wait: Some(genl_id.unwrap_or(0)),
        });
    }
    let module = module.ok_or("--module is required")?;
    Ok(Options {
        family,
        module: Some(module),
        send_then_wait: None,
    })
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match parse_args(&args) {
        Ok(opts) => exit_code(PROGRAM, run(opts)),
        Err(why) => {
            eprintln!("{PROGRAM}: {why}\n{}", usage());
            ExitCode::from(2)
        }
    }
}

fn run(opts: Options) -> Result<()> {
    if let Some(genl_id) = opts.send_then_wait {
        return battery::send_then_wait(Target::new(opts.family, genl_id));
    }
    let module = opts.module.context("--module is required")?;
    let genl_id = match opts.family {
        Family::GenlKv => battery::resolve_kv()?,
        _ => 0,
    };
    let mut target = Target::new(opts.family, genl_id);
    let exe =
        std::env::current_exe().context("finding this program, to start the client it kills")?;
    println!(
        "hostile-client battery against {} ({}), probe family {}",
        module.path.display(),
        match opts.family {
            Family::GenlKv => "generic netlink family NLBOOK_KV".to_string(),
            f => format!("protocol {}", f.protocol()),
        },
        opts.family.name(),
    );
    println!("probe: {}", target.probe_about());
    let rows = battery::run(&mut target, &module, &exe)?;
    print!("{}", table(&rows));
    let failed = failures(&rows);
    if failed.is_empty() {
        println!("every case answered as allowed, the module alive after each, loaded at the end");
        return Ok(());
    }
    for f in &failed {
        println!("FAIL {f}");
    }
    anyhow::bail!("{} of {} cases failed", failed.len(), rows.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn parses_the_lab_invocation() {
        let o = parse_args(&args(
            "--probe deferred --module /lab/mod/ch09-deferred-work/deferred_reply.ko",
        ))
        .unwrap();
        assert_eq!(o.family, Family::Deferred);
        assert_eq!(o.module.unwrap().name, "deferred_reply");
    }

    #[test]
    fn bad_input_is_refused_clearly() {
        assert_eq!(
            parse_args(&args("--probe nope")).unwrap_err(),
            "unknown family `nope`"
        );
        assert_eq!(
            parse_args(&args("--probe echo")).unwrap_err(),
            "--module is required"
        );
        assert_eq!(
            parse_args(&args("--module x.ko")).unwrap_err(),
            "--probe is required"
        );
        assert_eq!(
            parse_args(&args("--probe echo --module x.o")).unwrap_err(),
            "x.o: not a .ko file"
        );
        assert_eq!(
            parse_args(&args("--probe")).unwrap_err(),
            "--probe needs a value"
        );
        assert!(parse_args(&args("--probe echo --module a.ko --genl-id x")).is_err());
    }
}
