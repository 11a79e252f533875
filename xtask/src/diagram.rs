//! The book's pictures: ASCII-art sources (`book/src/diagrams/*.bob`) that
//! svgbob turns into inline SVG while the book is built, so a diagram is a
//! reviewable text file in the repository and the built book needs no script
//! and no network to show it.

use std::path::Path;

use anyhow::{Context, Result, bail};

/// A diagram ready to be placed in a page.
#[derive(Debug)]
pub struct Diagram {
    /// From the source's first line, `# Caption`.
    pub caption: String,
    /// The `<svg>` element, with no blank line.
    pub svg: String,
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_a_box_with_its_caption() {
        let diagram = render_source("# A <box>\n+---+\n| a |\n+---+\n").unwrap();
        assert!(diagram.svg.starts_with("<svg") && diagram.svg.contains("<text"));
        let html = figure_html(&diagram);
        assert!(html.starts_with("<figure class=\"diagram\">\n<svg"));
        assert!(html.contains("<figcaption>A &lt;box&gt;</figcaption>"));
        assert!(
            !html.contains("\n\n"),
            "a blank line would end the HTML block"
        );
    }

    #[test]
    fn refuses_sources_without_caption_or_picture() {
        assert!(render_source("+---+\n|   |\n+---+\n").is_err());
        assert!(render_source("# \n+--+\n").is_err());
        assert!(render_source("# Nothing\n   \n").is_err());
        assert!(render(Path::new("/nonexistent/x.bob")).is_err());
    }
}
