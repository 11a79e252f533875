//! Making guest output identical on every run and machine while keeping what
//! teaches: the BUG line, the function names of a call trace.

use std::sync::LazyLock;

use regex::Regex;

fn re(pattern: &str) -> Regex {
    Regex::new(pattern).unwrap_or_else(|e| unreachable!("constant regex {pattern}: {e}"))
}

/// Kernel lines that say something about the emulator or the boot, never
/// about a test, and come and go with the host's load.
static NOISE: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"loading out-of-tree module taints kernel|module verification failed|",
        r"clocksource|hrtimer: interrupt took|^tsc: |RT throttling|",
        // A loaded host makes the emulated TSC look unstable to the guest.
        r"^TSC found unstable|^sched_clock: Marking unstable|",
        // The entropy pool fills whenever the guest has gathered enough,
        // during whichever test runs then.
        r"^random: |",
        r"irq event stamp|hardirqs last|softirqs last|",
        r"^(RSP|RAX|RBX|RCX|RDX|RBP|RSI|RDI|R8|R9|R10|R11|R12|R13|R14|R15|FS|GS|CS|CR0|CR2|CR3|CR4|DR0|DR3|DR6|DR7|PKRU|Code):|",
        r"^Kernel Offset:|^Modules linked in:|^ \? |^input: |i8042|serio"
    ))
});
static TIMESTAMP: LazyLock<Regex> = LazyLock::new(|| re(r"^\[\s*\d+\.\d+\] ?"));
static FRAME_OFFSET: LazyLock<Regex> = LazyLock::new(|| re(r"\+0x[0-9a-f]+/0x[0-9a-f]+"));
static ADDRESS: LazyLock<Regex> =
    LazyLock::new(|| re(r"\(____ptrval____\)|\b0x[0-9a-f]{8,}\b|\b[0-9a-f]{16}\b"));
static PID: LazyLock<Regex> = LazyLock::new(|| re(r"\b(PID|pid): \d+"));
static TASK: LazyLock<Regex> = LazyLock::new(|| re(r"(Comm: |, name: )\S+"));
/// lockdep names the task as `comm/pid`.
static LOCKDEP_TASK: LazyLock<Regex> = LazyLock::new(|| re(r"\S+/\d+( \[HC|:$)"));
/// `6.1.0-56-amd64 #1 Debian 6.1.192-2`: changes with every Debian update.
static RELEASE: LazyLock<Regex> = LazyLock::new(|| re(r"\d+\.\d+\.\d+\S* #\d+.*$"));
static BIOS: LazyLock<Regex> = LazyLock::new(|| re(r", BIOS .*$"));
/// lockdep lists the locks of whatever task the interrupt hit: their number
/// and names vary, so the list is summarized.
static LOCKS_HELD: LazyLock<Regex> = LazyLock::new(|| re(r"^(\d+|no) locks? held by "));
static HELD_LOCK: LazyLock<Regex> = LazyLock::new(|| re(r"^ #\d+: "));
/// The low byte of preempt_count is the interrupted task's preemption depth;
/// the bits above it (0x100: serving a softirq) are what teaches.
static PREEMPT_COUNT: LazyLock<Regex> =
    LazyLock::new(|| re(r"preempt_count: ([0-9a-f]+)[0-9a-f]{2},"));
/// A preempt_count below 0x100 (no softirq or hardirq bits): the report
/// comes from a task itself, so the locks listed next are its own, the same
/// on every run.
static TASK_CONTEXT_PREEMPT_COUNT: LazyLock<Regex> =
    LazyLock::new(|| re(r"^preempt_count: [0-9a-f]{1,2}, expected"));
/// The first line of a kernel report.
static REPORT_START: LazyLock<Regex> =
    LazyLock::new(|| re(r"^(BUG: |WARNING: |Oops|general protection|Kernel panic|={10,}$)"));
/// Frames below the interrupt machinery belong to whatever task the timer
/// interrupted, which varies from run to run.
static INTERRUPTED_TASK: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^ *(</IRQ>|<TASK>|__do_softirq|handle_softirqs|do_softirq|run_ksoftirqd|__irq_exit_rcu|irq_exit_rcu|sysvec_apic_timer_interrupt|asm_sysvec_apic_timer_interrupt)\b",
    )
});

/// The thread a PREEMPT_RT kernel runs timer softirqs in, `ktimers/N`.
static TIMER_THREAD: LazyLock<Regex> = LazyLock::new(|| re(r"^Comm: ktimers/\d+$"));

/// Whether the softirq of the call trace starting at `rest` ran in the
/// timer thread (`run_timersd`, PREEMPT_RT): then its frames are the same
/// on every run and are kept.
fn softirq_in_timer_thread(rest: &[String]) -> bool {
    rest.iter()
        .take_while(|l| is_trace_line(l) || l.trim() == "<TASK>" || l.starts_with(" ? "))
        .any(|l| l.trim_start().starts_with("run_timersd+"))
}

/// Every kernel report in a run's kernel log, for a student to read: each
/// report's first lines (BUG, WARNING, Oops, panic, lockdep's title)
/// normalized, and the function names of its call trace, innermost first.
/// Unlike `kernel_log`, nothing is left out for the sake of a stable
/// snapshot: a report that depends on which task a timer interrupted is
/// shown too. A report repeated word for word (a timer firing again) is
/// shown once, with its count.
pub fn reports(raw: &[String]) -> Vec<String> {
    let mut blocks: Vec<(Vec<String>, usize)> = Vec::new();
    let mut current: Option<Vec<String>> = None;
    let mut frames: Vec<String> = Vec::new();
    let mut in_trace = false;
    let mut finish = |block: Option<Vec<String>>, frames: &mut Vec<String>| {
        let Some(mut block) = block else { return };
        if !frames.is_empty() {
            block.push(format!("  call trace: {}", frames.join(" < ")));
        }
        frames.clear();
        match blocks.iter_mut().find(|(b, _)| *b == block) {
            Some((_, n)) => *n += 1,
            None => blocks.push((block, 1)),
        }
    };
    for raw_line in raw {
        let line = TIMESTAMP.replace(raw_line, "");
        let line = FRAME_OFFSET.replace_all(&line, "");
        let line = ADDRESS.replace_all(&line, "<addr>");
        let line = PID.replace_all(&line, "$1: <pid>");
        let line = LOCKDEP_TASK.replace_all(&line, "<task>/<pid>$1");
        let line = line.trim_end();
        let starts = is_splat(line) && !line.starts_with(' ');
        if starts {
            // lockdep's title follows a line of '=': one report, not two.
            let continues = current.as_ref().is_some_and(|b| {
                b.len() == 1
                    && !in_trace
                    && b.iter().all(|l| l.starts_with("WARNING: inconsistent"))
            });
            if !continues {
                finish(current.take(), &mut frames);
                in_trace = false;
            }
            current.get_or_insert_with(Vec::new).push(line.to_string());
            continue;
        }
        let Some(block) = current.as_mut() else {
            continue;
        };
        if line.starts_with("Call Trace:") {
            in_trace = true;
        } else if in_trace && line.starts_with(' ') {
            let frame = line.trim();
            if frame.starts_with('?') || frame.starts_with('<') {
                continue;
            }
            if frames.len() < 16 {
                frames.push(frame.to_string());
            }
        } else if in_trace || line.starts_with("---[ end") {
            in_trace = false;
            finish(current.take(), &mut frames);
        } else if block.len() < 3
            && frames.is_empty()
            && !line.is_empty()
            && !line.starts_with('=')
            && !line.starts_with('-')
            && !line.starts_with(' ')
            && !NOISE.is_match(line)
            && !RELEASE.is_match(line)
            && !line.starts_with("CPU: ")
            && !line.starts_with("Hardware name")
            && !line.starts_with("RIP: ")
        {
            // The lines right after the title say what and where.
            block.push(line.to_string());
        }
    }
    finish(current.take(), &mut frames);
    blocks
        .into_iter()
        .flat_map(|(block, n)| {
            let mut block = block;
            if n > 1
                && let Some(first) = block.first_mut()
            {
                first.push_str(&format!(" (x{n})"));
            }
            block
        })
        .collect()
}

/// Is this (normalized) kernel line a sign of a kernel bug report?
pub fn is_splat(line: &str) -> bool {
    line.starts_with("BUG: ")
        || line.starts_with("WARNING: ")
        || line.starts_with("Oops")
        || line.starts_with("Kernel panic")
        || line.starts_with("general protection")
        || line.contains("inconsistent lock state")
}

/// Frames are indented; `RIP:` lines sit between the frames of one trace.
fn is_trace_line(line: &str) -> bool {
    line.starts_with(' ') || line.starts_with("RIP: ")
}

static NUMBER: LazyLock<Regex> = LazyLock::new(|| re(r"\d+"));

/// `line` with each number shown as `<n>` if it contains one of `texts`
/// (a test's `timing_counts`): counts that vary from run to run.
pub fn hide_timing_counts(line: &str, texts: &[String]) -> String {
    if texts.iter().any(|t| line.contains(t.as_str())) {
        NUMBER.replace_all(line, "<n>").into_owned()
    } else {
        line.to_string()
    }
}

/// The warning `__might_sleep` gives when the task a softirq interrupted
/// was itself about to sleep (its state set, `schedule()` not yet called):
/// whether a timer hits such a task is timing, not the module's doing.
const INTERRUPTED_SLEEPER_WARNING: &str = "do not call blocking ops when !TASK_RUNNING";

/// Reports after which the kernel sets the `W` taint flag (`add_taint` at
/// their end): a WARN, and might_sleep's and the scheduler's atomic BUGs.
static TAINTS_WARN: LazyLock<Regex> = LazyLock::new(|| {
    re(r"^(WARNING: CPU|BUG: sleeping function called|BUG: scheduling while atomic)")
});
/// The taint flags of a `Tainted:` line, up to the release that follows them.
static TAINT_FLAGS: LazyLock<Regex> = LazyLock::new(|| re(r"Tainted: ([A-Z ]+?)( +<release>|$)"));

/// `raw` without the warnings about an interrupted sleeper, from their
/// `cut here` line to their `end trace` line.
fn without_interrupted_sleeper_warnings(raw: &[String]) -> Vec<String> {
    let lines: Vec<String> = raw
        .iter()
        .map(|l| TIMESTAMP.replace(l, "").into_owned())
        .collect();
    let mut kept = Vec::with_capacity(lines.len());
    let mut dropping = false;
    for (at, line) in lines.iter().enumerate() {
        if line.contains("[ cut here ]")
            && lines
                .get(at + 1..at + 3)
                .unwrap_or_default()
                .iter()
                .any(|next| next.contains(INTERRUPTED_SLEEPER_WARNING))
        {
            dropping = true;
        }
        if !dropping {
            kept.push(line.clone());
        } else if line.starts_with("---[ end trace") {
            dropping = false;
        }
    }
    kept
}

/// `line`'s taint flags without `W` when no report that is kept set it: a
/// dropped warning must not show in the reports that follow it.
fn taint_as_kept(line: &str, warned: bool) -> String {
    if warned {
        return line.to_string();
    }
    TAINT_FLAGS
        .replace(line, |c: &regex::Captures| {
            let flags = c.get(1).map_or("", |m| m.as_str()).replace('W', " ");
            let rest = c.get(2).map_or("", |m| m.as_str());
            format!("Tainted: {flags}{rest}")
        })
        .into_owned()
}

/// Normalizes one test's kernel log.
pub fn kernel_log(raw: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut seen_reports = std::collections::HashSet::new();
    let mut skipping_report = false;
    let mut skipping_frames = false;
    let mut in_trace = false;
    let mut own_locks = false;
    // The W taint: set once a kept report that sets it has ended.
    let mut warned = false;
    let mut warns_at_end = false;
    let lines = without_interrupted_sleeper_warnings(raw);
    for (at, line) in lines.iter().enumerate() {
        if NOISE.is_match(line) {
            continue;
        }
        let mut line = FRAME_OFFSET.replace_all(line, "+<off>").into_owned();
        line = ADDRESS.replace_all(&line, "<addr>").into_owned();
        line = PID.replace_all(&line, "$1: <pid>").into_owned();
        line = TASK
            .replace_all(&line, |c: &regex::Captures| {
                let name = c.get(0).map_or("", |m| m.as_str());
                // Debian's real-time kernel runs every timer in this thread:
                // the name is a fact of the run, not an accident.
                if TIMER_THREAD.is_match(name) {
                    name.to_string()
                } else {
                    format!("{}<task>", c.get(1).map_or("", |m| m.as_str()))
                }
            })
            .into_owned();
        line = LOCKDEP_TASK
            .replace_all(&line, "<task>/<pid>$1")
            .into_owned();
        line = RELEASE.replace(&line, "<release>").into_owned();
        line = PREEMPT_COUNT
            .replace(&line, "preempt_count: ${1}xx,")
            .into_owned();
        if TASK_CONTEXT_PREEMPT_COUNT.is_match(&line) {
            own_locks = true;
        }
        if HELD_LOCK.is_match(&line) && !own_locks {
            continue;
        }
        if LOCKS_HELD.is_match(&line) && !own_locks {
            line = "locks held by <task>/<pid>: (which ones depends on the interrupted task)"
                .to_string();
        }
        line = BIOS.replace(&line, ", BIOS <bios>").into_owned();
        if REPORT_START.is_match(&line) || line.starts_with("---[ end trace") {
            warned |= std::mem::take(&mut warns_at_end);
        }
        if TAINTS_WARN.is_match(&line) {
            warns_at_end = true;
        }
        line = taint_as_kept(&line, warned);
        if REPORT_START.is_match(&line) {
            // A report repeats as often as a timer fires (rate-limited to one
            // a second): the first one teaches, the count would vary.
            skipping_report = !seen_reports.insert(line.clone());
            skipping_frames = false;
            own_locks = false;
            in_trace = false;
        } else if line.starts_with("Call Trace:") {
            in_trace = true;
        } else if in_trace && !is_trace_line(&line) {
            // The first unindented line after a call trace ends the report,
            // except its own closing line.
            in_trace = false;
            skipping_frames = false;
            let closes_report = line.starts_with("---[ end");
            let was_skipping = skipping_report;
            if !closes_report {
                skipping_report = false;
            } else if was_skipping {
                skipping_report = false;
                continue;
            }
        }
        if skipping_report {
            continue;
        }
        // Whether the timer's softirq ran on an interrupt's exit or in a
        // task (ksoftirqd, local_bh_enable) varies; the frames above it do not.
        if matches!(line.trim(), "<IRQ>" | "<TASK>") {
            continue;
        }
        if line.starts_with(' ')
            && INTERRUPTED_TASK.is_match(&line)
            && !softirq_in_timer_thread(lines.get(at..).unwrap_or_default())
        {
            if !skipping_frames {
                out.push(" ... (frames of the interrupted task omitted)".to_string());
            }
            skipping_frames = true;
            continue;
        }
        if skipping_frames && is_trace_line(&line) {
            continue;
        }
        out.push(line.trim_end().to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_timer_thread_keeps_its_frames_and_its_name() {
        let raw = lines(
            "[    2.070914] Voluntary context switch within RCU read-side critical section!\n\
             [    2.071135] WARNING: CPU: 0 PID: 18 at kernel/rcu/tree_plugin.h:331 rcu_note_context_switch+0x4a0/0x5f0\n\
             [    2.071957] CPU: 0 UID: 0 PID: 18 Comm: ktimers/0 Tainted: G           OE      6.12.118+deb12-rt-amd64 #1  Debian 6.12.118-1~deb12u1\n\
             [    2.073376] Call Trace:\n\
             [    2.073844]  <TASK>\n\
             [    2.074182]  __schedule+0xc7/0xbf0\n\
             [    2.074316]  netlink_broadcast_filtered+0x3af/0x540\n\
             [    2.074732]  run_timer_softirq+0xb3/0x140\n\
             [    2.074781]  handle_softirqs.constprop.0+0xb5/0x250\n\
             [    2.074822]  ? __pfx_smpboot_thread_fn+0x10/0x10\n\
             [    2.074854]  run_timersd+0x3e/0x80\n\
             [    2.074891]  kthread+0xd2/0x100\n\
             [    2.075101]  </TASK>\n\
             [    2.075158] ---[ end trace 0000000000000000 ]---\n",
        );
        let out = kernel_log(&raw).join("\n");
        assert!(out.contains("Comm: ktimers/0 Tainted"), "{out}");
        assert!(
            out.contains(" handle_softirqs.constprop.0+<off>\n run_timersd+<off>\n kthread+<off>"),
            "{out}"
        );
        assert!(!out.contains("omitted"), "{out}");
    }

    fn lines(text: &str) -> Vec<String> {
        text.lines().map(str::to_string).collect()
    }

    #[test]
    fn reports_keep_every_report_and_its_function_names() {
        let raw = lines(
            "[    1.000000] gfp_kernel: multicasting\n\
             [    1.100000] ================================\n\
             [    1.100001] WARNING: inconsistent lock state\n\
             [    1.100002] 6.1.0-56-amd64 #1 Debian 6.1.192-2 Tainted: G O\n\
             [    1.100003] --------------------------------\n\
             [    1.100004] inconsistent {SOFTIRQ-ON-W} -> {IN-SOFTIRQ-W} usage.\n\
             [    1.100005] {SOFTIRQ-ON-W} state was registered at:\n\
             [    1.100006]   lock_acquire+0x1/0x2\n\
             [    1.100007] Call Trace:\n\
             [    1.100008]  dump_stack_lvl+0x4b/0x80\n\
             [    1.100009]  ? mark_lock+0x1/0x2\n\
             [    1.100010]  mcast_tick+0x2a/0x90 [gfp_kernel]\n\
             [    1.100011] ---[ end trace ]---\n\
             [    1.200000] BUG: sleeping function called from invalid context at mm/slab.h:710\n\
             [    1.200001] in_atomic(): 1, irqs_disabled(): 0, non_block: 0, pid: 0, name: swapper/0\n\
             [    1.200002] Call Trace:\n\
             [    1.200003]  __might_resched+0x1/0x2\n\
             [    1.200004]  mcast_tick+0x2a/0x90 [gfp_kernel]\n\
             [    1.200005] </IRQ>\n\
             [    2.200000] BUG: sleeping function called from invalid context at mm/slab.h:710\n\
             [    2.200001] in_atomic(): 1, irqs_disabled(): 0, non_block: 0, pid: 0, name: swapper/0\n\
             [    2.200002] Call Trace:\n\
             [    2.200003]  __might_resched+0x1/0x2\n\
             [    2.200004]  mcast_tick+0x2a/0x90 [gfp_kernel]\n\
             [    2.200005] </IRQ>\n\
             [    3.000000] gfp_kernel: done",
        );
        let shown = reports(&raw);
        assert_eq!(
            shown,
            [
                "WARNING: inconsistent lock state",
                "inconsistent {SOFTIRQ-ON-W} -> {IN-SOFTIRQ-W} usage.",
                "{SOFTIRQ-ON-W} state was registered at:",
                "  call trace: dump_stack_lvl < mcast_tick [gfp_kernel]",
                "BUG: sleeping function called from invalid context at mm/slab.h:710 (x2)",
                "in_atomic(): 1, irqs_disabled(): 0, non_block: 0, pid: <pid>, name: swapper/0",
                "  call trace: __might_resched < mcast_tick [gfp_kernel]",
            ]
        );
    }

    #[test]
    fn keeps_the_bug_line_and_function_names() {
        let raw = lines(
            "[    1.234567] BUG: sleeping function called from invalid context at include/linux/sched/mm.h:274\n\
             [    1.234600] in_atomic(): 1, irqs_disabled(): 0, non_block: 0, pid: 57, name: ch07-listener\n\
             [    1.234700] CPU: 0 PID: 57 Comm: ch07-listener Tainted: G           O       6.1.192 #1 Debian 6.1.192-2\n\
             [    1.234800] Hardware name: QEMU Standard PC (i440FX + PIIX, 1996), BIOS 1.16.2-debian-1.16.2-1 04/01/2014\n\
             [    1.234900] Call Trace:\n\
             [    1.235000]  <IRQ>\n\
             [    1.235100]  dump_stack_lvl+0x45/0x5e\n\
             [    1.235200]  ? timer_fn+0x10/0x10 [gfp_kernel]\n\
             [    1.235300]  kmem_cache_alloc_node+0x3a/0x2c0\n\
             [    1.235400]  call_timer_fn+0x25/0x140\n\
             [    1.235500]  __do_softirq+0xc5/0x2ad\n\
             [    1.235600]  irq_exit_rcu+0x99/0xc0\n\
             [    1.235700]  </IRQ>\n\
             [    1.235800]  <TASK>\n\
             [    1.235850] RIP: 0010:default_idle+0x9/0x20\n\
             [    1.235900]  default_idle+0x9/0x20\n\
             [    1.236000]  </TASK>\n\
             [    1.236100] RAX: 0000000000000000 RBX: ffff888003a5c000\n\
             [    2.234567] BUG: sleeping function called from invalid context at include/linux/sched/mm.h:274\n\
             [    2.234600] in_atomic(): 1, irqs_disabled(): 0, non_block: 0, pid: 0, name: swapper/0\n\
             [    2.234700] Call Trace:\n\
             [    2.234800]  <IRQ>\n\
             [    2.234900]  dump_stack_lvl+0x45/0x5e\n\
             [    2.300000] init/59 [HC0[0]:SC1[1]:HE1:SE0] takes:\n\
             [    2.300001] 4 locks held by init/59:\n\
             [    2.300001]  #0: ffffffff82a4c5a0 (rcu_read_lock){....}-{1:2}, at: rcu_lock_acquire+0x0/0x20\n\
             [    2.300001] preempt_count: 102, expected: 0\n\
             [    2.300002] input: ImExPS/2 Generic Explorer Mouse as /devices/platform/i8042/serio1/input/input2\n\
             [    2.300003] 6.1.192 #1 Tainted: G           O\n\
             [    2.300003] TSC found unstable after boot, most likely due to broken BIOS. Use 'tsc=unstable'.\n\
             [    2.300003] sched_clock: Marking unstable (1240507318, 13455973)<-(1294338172, -40371093)\n\
             [    2.300003] random: crng init done\n\
             [    2.300004] gfp_kernel: unloaded",
        );
        let out = kernel_log(&raw);
        assert_eq!(
            out,
            lines(
                "BUG: sleeping function called from invalid context at include/linux/sched/mm.h:274\n\
                 in_atomic(): 1, irqs_disabled(): 0, non_block: 0, pid: <pid>, name: <task>\n\
                 CPU: 0 PID: <pid> Comm: <task> Tainted: G           O       <release>\n\
                 Hardware name: QEMU Standard PC (i440FX + PIIX, 1996), BIOS <bios>\n\
                 Call Trace:\n \
                 dump_stack_lvl+<off>\n \
                 kmem_cache_alloc_node+<off>\n \
                 call_timer_fn+<off>\n \
                 ... (frames of the interrupted task omitted)\n\
                 <task>/<pid> [HC0[0]:SC1[1]:HE1:SE0] takes:\n\
                 locks held by <task>/<pid>: (which ones depends on the interrupted task)\n\
                 preempt_count: 1xx, expected: 0\n\
                 <release>\n\
                 gfp_kernel: unloaded"
            )
        );
        assert!(is_splat(&out[0]));
    }

    #[test]
    fn keeps_the_locks_of_a_task_that_sleeps_holding_them() {
        let raw = lines(
            "[    2.1] BUG: sleeping function called from invalid context at include/linux/sched/mm.h:274\n\
             [    2.1] in_atomic(): 1, irqs_disabled(): 0, non_block: 0, pid: 61, name: ch09-flood\n\
             [    2.1] preempt_count: 1, expected: 0\n\
             [    2.1] 1 lock held by ch09-flood/61:\n\
             [    2.1]  #0: ffffffffc0002010 (deferred_lock){+.+.}-{2:2}, at: deferred_msg+0x6f/0x1a0 [gfp_under_lock]\n\
             [    2.1] CPU: 0 PID: 61 Comm: ch09-flood Tainted: G           O       6.1.192 #1\n\
             [    3.1] BUG: sleeping function called from invalid context at mm/slab.c:1\n\
             [    3.1] preempt_count: 101, expected: 0\n\
             [    3.1] 2 locks held by init/1:\n\
             [    3.1]  #0: ffffffff82a4c5a0 (rcu_read_lock){....}-{1:2}, at: rcu_lock_acquire+0x0/0x20",
        );
        assert_eq!(
            kernel_log(&raw),
            lines(
                "BUG: sleeping function called from invalid context at include/linux/sched/mm.h:274\n\
                 in_atomic(): 1, irqs_disabled(): 0, non_block: 0, pid: <pid>, name: <task>\n\
                 preempt_count: 1, expected: 0\n\
                 1 lock held by <task>/<pid>:\n \
                 #0: <addr> (deferred_lock){+.+.}-{2:2}, at: deferred_msg+<off> [gfp_under_lock]\n\
                 CPU: 0 PID: <pid> Comm: <task> Tainted: G           O       <release>\n\
                 BUG: sleeping function called from invalid context at mm/slab.c:1\n\
                 preempt_count: 1xx, expected: 0\n\
                 locks held by <task>/<pid>: (which ones depends on the interrupted task)"
            )
        );
    }

    /// A GFP_KERNEL allocation in a timer on the debug kernel, as in
    /// chapter 7: might_sleep's BUG, then the oops of a later tick.
    fn timer_run(sleeper_warning: Option<usize>) -> Vec<String> {
        let warning = "[    1.1] ------------[ cut here ]------------\n\
             [    1.1] do not call blocking ops when !TASK_RUNNING; state=1 set at [<000000003d5e7a0b>] do_wait+0x5b/0x2f0\n\
             [    1.1] WARNING: CPU: 0 PID: 1 at kernel/sched/core.c:9873 __might_sleep+0x5c/0x70\n\
             [    1.1] Modules linked in: gfp_kernel(O)\n\
             [    1.1] CPU: 0 PID: 1 Comm: sh Tainted: G           O       6.1.192 #1\n\
             [    1.1] RIP: 0010:__might_sleep+0x5c/0x70\n\
             [    1.1] Call Trace:\n\
             [    1.1]  <IRQ>\n\
             [    1.1]  __alloc_skb+0x3a/0x2c0\n\
             [    1.1]  mcast_tick+0x25/0x140 [gfp_kernel]\n\
             [    1.1]  </IRQ>\n\
             [    1.1]  <TASK>\n\
             [    1.1]  do_wait+0x5b/0x2f0\n\
             [    1.1]  </TASK>\n\
             [    1.1] irq event stamp: 4242\n\
             [    1.1] ---[ end trace 0000000000000000 ]---";
        let mut parts = vec![
            "[    1.2] BUG: sleeping function called from invalid context at include/linux/sched/mm.h:274\n\
             [    1.2] CPU: 0 PID: 57 Comm: ch07-listener Tainted: G           O       6.1.192 #1\n\
             [    1.2] Call Trace:\n\
             [    1.2]  __alloc_skb+0x3a/0x2c0\n\
             [    1.2]  mcast_tick+0x25/0x140 [gfp_kernel]",
            "[    2.1] BUG: kernel NULL pointer dereference, address: 0000000000000000\n\
             [    2.1] CPU: 0 PID: 57 Comm: ch07-listener Tainted: G        W  O       6.1.192 #1\n\
             [    2.1] RIP: 0010:0x0",
        ];
        if let Some(at) = sleeper_warning {
            parts.insert(at, warning);
        }
        let mut log = lines(&parts.join("\n"));
        if sleeper_warning == Some(0) {
            // A warning before the BUG taints its report already.
            for line in &mut log {
                if line.contains("Comm: ch07-listener Tainted: G           O") {
                    *line = line.replace("G           O", "G        W  O");
                }
            }
        }
        log
    }

    #[test]
    fn an_interrupted_sleeper_leaves_no_trace() {
        let quiet = kernel_log(&timer_run(None));
        assert_eq!(
            quiet,
            lines(
                "BUG: sleeping function called from invalid context at include/linux/sched/mm.h:274\n\
                 CPU: 0 PID: <pid> Comm: <task> Tainted: G           O       <release>\n\
                 Call Trace:\n \
                 __alloc_skb+<off>\n \
                 mcast_tick+<off> [gfp_kernel]\n\
                 BUG: kernel NULL pointer dereference, address: <addr>\n\
                 CPU: 0 PID: <pid> Comm: <task> Tainted: G        W  O       <release>\n\
                 RIP: 0010:0x0"
            )
        );
        for at in 0..3 {
            assert_eq!(kernel_log(&timer_run(Some(at))), quiet, "warning at {at}");
        }
    }

    #[test]
    fn other_warnings_stay_and_taint() {
        let raw = lines(
            "[ 1.0] ------------[ cut here ]------------\n\
             [ 1.0] WARNING: CPU: 0 PID: 9 at net/netlink/af_netlink.c:100 f+0x1/0x2\n\
             [ 1.0] CPU: 0 PID: 9 Comm: x Tainted: G           O       6.1.192 #1\n\
             [ 1.0] ---[ end trace 0000000000000000 ]---\n\
             [ 1.1] BUG: kernel NULL pointer dereference, address: 0000000000000000\n\
             [ 1.1] CPU: 0 PID: 9 Comm: x Tainted: G        W  O       6.1.192 #1",
        );
        let out = kernel_log(&raw);
        assert_eq!(out.len(), 6, "{out:?}");
        assert!(out[5].contains("Tainted: G        W  O"), "{out:?}");
    }

    #[test]
    fn hides_only_the_counts_a_test_names() {
        let texts = vec!["replies lost".to_string()];
        assert_eq!(
            hide_timing_counts("deferred_reply: 9115 replies lost", &texts),
            "deferred_reply: <n> replies lost"
        );
        assert_eq!(
            hide_timing_counts("deferred_reply: protocol 26 gone", &texts),
            "deferred_reply: protocol 26 gone"
        );
    }

    #[test]
    fn redacts_addresses() {
        let out = kernel_log(&lines(
            "[ 0.1] sk (____ptrval____) at 0xffffffffc0001000 ffff888003a5c000",
        ));
        assert_eq!(out, vec!["sk <addr> at <addr> <addr>"]);
    }
}
