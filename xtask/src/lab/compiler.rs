//! What a module build's compiler said, pointed at the file a reader or a
//! student wrote: the lab builds a copy under `target/lab/kmod/`, whose
//! paths mean nothing to them.

use std::path::Path;

/// A compiler message of the lab's build, pointed at the student's file:
/// `.../lab/kmod/<kernel>/<folder>/file.c:58:13: error: ...` becomes
/// `exercises/NAME/file.c:58:13: error: ...`. Lines that are not a
/// message about a file (make's own) are left out.
pub fn compiler_message(line: &str, exercise: &Path) -> Option<String> {
    static AT: std::sync::LazyLock<Option<regex::Regex>> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"^\S*?([^/\s:]+\.[ch]):(\d+)(:\d+)?: (.*)$").ok()
    });
    let caps = AT.as_ref()?.captures(line.trim())?;
    let get = |i| caps.get(i).map_or("", |m| m.as_str());
    Some(format!(
        "{}:{}{}: {}",
        exercise.join(get(1)).display(),
        get(2),
        get(3),
        get(4)
    ))
}
