//! The book's pictures as pages show them. A picture's source is ASCII art
//! (`book/src/diagrams/NAME.bob`, first line `# Caption`); `cargo xtask
//! diagrams` draws it with svgbob into `NAME.svg` beside it, committed. The
//! book takes the drawing from there, so building the book needs neither
//! svgbob nor a script nor the network, and a drawing older than its
//! source is refused: the `.svg` names the fingerprint of the `.bob` it was
//! drawn from.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

/// A diagram ready to be placed in a page.
#[derive(Debug)]
pub struct Diagram {
    /// From the source's first line, `# Caption`.
    pub caption: String,
    /// The `<svg>` element, with no blank line.
    pub svg: String,
}

/// The caption of a diagram source and the picture that follows it.
pub fn caption_and_art(text: &str) -> Result<(&str, &str)> {
    let (first, art) = text.split_once('\n').unwrap_or((text, ""));
    let Some(caption) = first.strip_prefix("# ").map(str::trim) else {
        bail!("the first line must be the caption, as `# What the picture shows`");
    };
    if caption.is_empty() {
        bail!("the caption line is empty");
    }
    if art.trim().is_empty() {
        bail!("no picture after the caption line");
    }
    Ok((caption, art))
}

/// Where the drawing of the source `bob` is kept: `NAME.svg` beside it.
pub fn drawing_path(bob: &Path) -> PathBuf {
    bob.with_extension("svg")
}

/// The first line of a drawing: which source, by its fingerprint, it was
/// drawn from.
pub fn stamp(source_name: &str, source: &str) -> String {
    format!(
        "<!-- drawn from {source_name} (fnv1a-64 {:016x}) by `cargo xtask diagrams` -->",
        fnv1a_64(source.as_bytes())
    )
}

/// The diagram of the source `bob`: its caption, and the drawing kept
/// beside it. Fails when either is missing, the source has no caption or
/// picture, or the drawing was made from another version of the source.
pub fn load(bob: &Path) -> Result<Diagram> {
    let text = std::fs::read_to_string(bob)
        .with_context(|| format!("diagram source {} cannot be read", bob.display()))?;
    let (caption, _) =
        caption_and_art(&text).with_context(|| format!("diagram {}", bob.display()))?;
    let svg_file = drawing_path(bob);
    let redraw = "`cargo xtask diagrams` draws it";
    let drawing = std::fs::read_to_string(&svg_file).with_context(|| {
        format!(
            "{} is not drawn: no {} ({redraw})",
            bob.display(),
            svg_file.display()
        )
    })?;
    let name = bob
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let Some((first, svg)) = drawing.split_once('\n') else {
        bail!("{} is empty ({redraw})", svg_file.display());
    };
    if first != stamp(&name, &text) {
        bail!(
            "{} changed since {} was drawn ({redraw} again)",
            bob.display(),
            svg_file.display()
        );
    }
    if !svg.starts_with("<svg") {
        bail!(
            "{} holds no <svg> after its first line ({redraw})",
            svg_file.display()
        );
    }
    Ok(Diagram {
        caption: caption.to_string(),
        svg: svg.trim_end().to_string(),
    })
}

/// The HTML a page gets: `<figure class="diagram">` holding the inline SVG
/// and a `<figcaption>`, on lines with no blank line between them so
/// Markdown keeps it as one HTML block.
pub fn figure_html(diagram: &Diagram) -> String {
    format!(
        "<figure class=\"diagram\">\n{}\n<figcaption>{}</figcaption>\n</figure>",
        diagram.svg,
        escape_html(&diagram.caption)
    )
}

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// FNV-1a, 64 bits: a fingerprint, not a defence against forgery.
fn fnv1a_64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drawn(dir: &Path, name: &str, source: &str, svg: &str) -> PathBuf {
        let bob = dir.join(name);
        std::fs::write(&bob, source).unwrap();
        std::fs::write(
            drawing_path(&bob),
            format!("{}\n{svg}\n", stamp(name, source)),
        )
        .unwrap();
        bob
    }

    #[test]
    fn shows_the_drawing_with_its_caption() {
        let dir = tempfile::tempdir().unwrap();
        let bob = drawn(
            dir.path(),
            "a.bob",
            "# A <box>\n+-+\n",
            "<svg><text>a</text></svg>",
        );
        let html = figure_html(&load(&bob).unwrap());
        assert!(html.starts_with("<figure class=\"diagram\">\n<svg"));
        assert!(html.contains("<figcaption>A &lt;box&gt;</figcaption>"));
        assert!(
            !html.contains("\n\n"),
            "a blank line would end the HTML block"
        );
    }

    #[test]
    fn refuses_a_stale_or_missing_drawing() {
        let dir = tempfile::tempdir().unwrap();
        let bob = drawn(dir.path(), "a.bob", "# A box\n+-+\n", "<svg></svg>");
        std::fs::write(&bob, "# A box\n+--+\n").unwrap();
        let stale = load(&bob).unwrap_err().to_string();
        assert!(stale.contains("changed since"), "{stale}");
        std::fs::remove_file(drawing_path(&bob)).unwrap();
        assert!(
            load(&bob)
                .unwrap_err()
                .to_string()
                .contains("cargo xtask diagrams")
        );
        assert!(caption_and_art("+---+\n|   |\n+---+\n").is_err());
        assert!(caption_and_art("# \n+--+\n").is_err());
        assert!(caption_and_art("# Nothing\n   \n").is_err());
    }
}
