//! Drawing the book's pictures: svgbob turns each ASCII-art source
//! (`book/src/diagrams/*.bob`) into the SVG kept beside it, which the book
//! builder places in pages ([`book_builder::diagram`]). `cargo xtask
//! diagrams` redraws them; the test suite checks that every committed
//! drawing is what svgbob draws from its source today.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

pub use book_builder::diagram::{Diagram, figure_html, load};
use book_builder::diagram::{caption_and_art, drawing_path, stamp};

use crate::workspace;

/// Reads and renders a diagram source. Its first line is the caption
/// (`# ...`); the rest is the picture, where text in double quotes is shown
/// as written (svgbob would draw `_`, `(` or `->` as lines otherwise). Fails when the file is missing, has no
/// caption or draws nothing.
pub fn render(file: &Path) -> Result<Diagram> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("diagram source {} cannot be read", file.display()))?;
    render_source(&text).with_context(|| format!("diagram {}", file.display()))
}

/// [`render`] on a source already read.
pub fn render_source(text: &str) -> Result<Diagram> {
    let (caption, art) = caption_and_art(text)?;
    let art = art.to_string();
    // svgbob sizes the picture by what it draws, which leaves out text in
    // double quotes (its escape for code like `do_one_broadcast()`): size it
    // by the source's cells instead: 8 by 16 pixels each, and a little more
    // across, since a browser's monospace text runs wider than 8 pixels.
    let columns = art.lines().map(|l| l.chars().count()).max().unwrap_or(0);
    let rows = art.lines().count();
    let (width, height) = ((columns + 2) as f32 * 8.75, (rows + 1) as f32 * 16.0);
    // svgbob panics on what it cannot render; that is a broken source here.
    // Drawn in the page theme's colours (mdBook's --fg and --bg), so a
    // diagram is not a white box in the dark themes.
    let settings = svgbob::Settings {
        stroke_color: "var(--fg)".into(),
        fill_color: "var(--fg)".into(),
        background: "var(--bg)".into(),
        ..svgbob::Settings::default()
    };
    let svg = std::panic::catch_unwind(|| {
        svgbob::to_svg_with_override_size(&art, &settings, width, height)
    })
    .map_err(|_| anyhow::anyhow!("svgbob could not render the picture"))?;
    // What follows the marker definitions, less the white backdrop, is the picture.
    let drawn = svg
        .split_once("</defs>")
        .map_or(svg.as_str(), |(_, body)| body);
    let shapes = ["<line", "<path", "<text", "<rect", "<polygon", "<circle"]
        .iter()
        .map(|element| drawn.matches(element).count())
        .sum::<usize>();
    let draws_something = shapes > drawn.matches("class=\"backdrop\"").count();
    if !svg.starts_with("<svg") || !draws_something {
        bail!("svgbob rendered an empty picture");
    }
    // Scales down to the page's width instead of overflowing it.
    let svg = svg.replacen(
        "<svg ",
        &format!("<svg viewBox=\"0 0 {width} {height}\" style=\"max-width: 100%; height: auto\" "),
        1,
    );
    // Its style sheet has blank lines; in a page they would end the HTML block.
    let svg = svg
        .lines()
        .filter(|line| !line.trim().is_empty())
        .collect::<Vec<_>>()
        .join("\n");
    Ok(Diagram {
        caption: caption.to_string(),
        svg,
    })
}

/// What `NAME.svg` holds for the source `bob`: the stamp naming the
/// source's fingerprint, then the drawing.
pub fn drawing_file(bob: &Path) -> Result<String> {
    let text = std::fs::read_to_string(bob)
        .with_context(|| format!("diagram source {} cannot be read", bob.display()))?;
    let diagram = render_source(&text).with_context(|| format!("diagram {}", bob.display()))?;
    let name = bob
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    Ok(format!("{}\n{}\n", stamp(&name, &text), diagram.svg))
}

/// The book's diagram sources, sorted.
pub fn sources(root: &Path) -> Result<Vec<PathBuf>> {
    let dir = root.join("book/src/diagrams");
    let mut bobs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "bob"))
        .collect();
    bobs.sort();
    Ok(bobs)
}

/// The drawings that differ from what svgbob draws from their sources
/// today (or are missing); with `redraw`, rewrites them first.
pub fn check_drawings(root: &Path, redraw: bool) -> Result<Vec<String>> {
    let mut stale = Vec::new();
    for bob in sources(root)? {
        let wanted = drawing_file(&bob)?;
        let svg = drawing_path(&bob);
        if std::fs::read_to_string(&svg).ok().as_deref() == Some(wanted.as_str()) {
            continue;
        }
        if redraw {
            std::fs::write(&svg, &wanted).with_context(|| format!("writing {}", svg.display()))?;
            println!("drew {}", svg.display());
        } else {
            stale.push(format!(
                "{} is not what svgbob draws from {} (`cargo xtask diagrams` redraws it)",
                svg.display(),
                bob.display()
            ));
        }
    }
    Ok(stale)
}

/// `cargo xtask diagrams`: redraws every drawing whose source changed.
pub fn run() -> Result<()> {
    let root = workspace::root();
    let stale = check_drawings(&root, true)?;
    if !stale.is_empty() {
        bail!("{}", stale.join("\n"));
    }
    println!("every diagram of book/src/diagrams/ is drawn from its source");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_a_box_with_its_caption() {
        let diagram = render_source("# A <box>\n+---+\n| a |\n+---+\n").unwrap();
        assert!(diagram.svg.starts_with("<svg") && diagram.svg.contains("<text"));
        assert_eq!(diagram.caption, "A <box>");
        assert!(
            !diagram.svg.contains("\n\n"),
            "a blank line would end the HTML block"
        );
    }

    #[test]
    fn a_drawing_file_is_what_the_book_loads() {
        let dir = tempfile::tempdir().unwrap();
        let bob = dir.path().join("a.bob");
        std::fs::write(&bob, "# A box\n+---+\n| a |\n+---+\n").unwrap();
        std::fs::write(drawing_path(&bob), drawing_file(&bob).unwrap()).unwrap();
        assert_eq!(load(&bob).unwrap().caption, "A box");
    }

    #[test]
    fn refuses_sources_without_caption_or_picture() {
        assert!(render_source("+---+\n|   |\n+---+\n").is_err());
        assert!(render_source("# \n+--+\n").is_err());
        assert!(render_source("# Nothing\n   \n").is_err());
        assert!(render(Path::new("/nonexistent/x.bob")).is_err());
    }
}
