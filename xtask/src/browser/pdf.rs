//! The book as one PDF: Chromium prints mdBook's `print.html` (every page
//! in one), and the browser check reads the PDF back with poppler's tools
//! as a reader's viewer would: its pages, their ink, their text.

// DevTools messages are read with serde_json's `value["key"]`, which gives
// Null for a missing key: it never panics.
#![allow(clippy::indexing_slicing)]

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use serde_json::json;

use super::devtools::Chromium;
use super::png::base64_decode;
use crate::{book, http, process};

/// A4, in inches, with half an inch of margin all round.
const PAPER: (f64, f64) = (8.27, 11.69);
const MARGIN: f64 = 0.5;
/// The printed text's width in CSS pixels (96 to the inch).
pub(super) const PRINT_WIDTH_PX: u32 = ((PAPER.0 - 2.0 * MARGIN) * 96.0) as u32;

/// Waits until the open page's fonts and images are ready.
const SETTLED_JS: &str = "document.fonts.ready.then(() => Promise.all([...document.images]\
.map(i => i.complete ? 0 : new Promise(r => { i.onload = i.onerror = r; })))).then(() => true)";

/// What the open page holds that its PDF must show too, read in print
/// layout at the printed width: elements wider than the paper, the
/// chapters' titles, each line of code and each diagram's words. A line,
/// not a whole block: a block that runs over a page break may be printed
/// in two pieces with the next paragraph's text between them.
pub(super) const PRINT_LAYOUT_JS: &str = r#"(() => {
  const limit = document.documentElement.clientWidth;
  const text = el => el.textContent.replace(/\s+/g, ' ').trim();
  const overflowing = [...document.querySelectorAll('main pre, main pre > code, main table, main figure, main img, main svg')]
    .filter(el => el.scrollWidth > el.clientWidth + 1 || el.getBoundingClientRect().right > limit + 1)
    .map(el => `<${el.tagName.toLowerCase()}> ${Math.round(el.getBoundingClientRect().width)} px wide, wider than the paper's ${limit} px: ${text(el).slice(0, 80)}`);
  return {
    overflowing,
    titles: [...document.querySelectorAll('main h1')].map(text),
    code: [...document.querySelectorAll('main pre')].flatMap(pre => pre.textContent.split('\n')).map(l => l.trim()).filter(l => l),
    diagram_words: [...document.querySelectorAll('main figure.diagram svg text')].flatMap(t => text(t).split(' ')).filter(w => w),
  };
})()"#;

/// [`PRINT_LAYOUT_JS`]'s answer.
#[derive(Deserialize)]
pub(super) struct PrintLayout {
    pub(super) overflowing: Vec<String>,
    pub(super) titles: Vec<String>,
    /// Each line of each code block.
    pub(super) code: Vec<String>,
    pub(super) diagram_words: Vec<String>,
}

/// Lays the open page out as on paper: print styles, the printed width.
pub(super) fn emulate_paper(browser: &mut Chromium) -> Result<()> {
    browser.call("Emulation.setEmulatedMedia", json!({"media": "print"}))?;
    browser.call(
        "Emulation.setDeviceMetricsOverride",
        json!({"width": PRINT_WIDTH_PX, "height": 1000, "deviceScaleFactor": 1, "mobile": false}),
    )?;
    browser.evaluate::<bool>(SETTLED_JS)?;
    Ok(())
}

/// Prints the book built in `html` (its `print.html`) to `pdf`.
pub fn print_book(root: &Path, html: &Path, pdf: &Path) -> Result<()> {
    let dir = html.to_path_buf();
    let server = http::Server::start(0, move |url| book::static_file(&dir, url))?;
    let scratch = root.join("target/tmp");
    std::fs::create_dir_all(&scratch).with_context(|| format!("creating {}", scratch.display()))?;
    let profile = scratch.join(format!("chromium-print-{}", std::process::id()));
    let log = scratch.join(format!("chromium-print-{}.log", std::process::id()));
    let mut browser = Chromium::launch(&profile, &log)?;
    // print.html opens the print dialog once loaded; printing is asked for
    // below instead.
    browser.call(
        "Page.addScriptToEvaluateOnNewDocument",
        json!({"source": "window.print = () => {};"}),
    )?;
    let page = format!("{}/print.html", server.origin());
    let visit = browser.open(&page)?;
    if !visit.problems.is_empty() {
        bail!("{page}: {}", visit.problems.join("; "));
    }
    browser.evaluate::<bool>(SETTLED_JS)?;
    let answer = browser.call(
        "Page.printToPDF",
        json!({
            "paperWidth": PAPER.0, "paperHeight": PAPER.1,
            "marginTop": MARGIN, "marginBottom": MARGIN,
            "marginLeft": MARGIN, "marginRight": MARGIN,
            "printBackground": true, "displayHeaderFooter": false,
            "generateDocumentOutline": true, "generateTaggedPDF": true,
        }),
    )?;
    let bytes = base64_decode(
        answer["data"]
            .as_str()
            .context("Chromium's PDF has no data")?,
    )?;
    if !bytes.starts_with(b"%PDF-") {
        bail!("Chromium's print of {page} is not a PDF");
    }
    drop(browser);
    let _ = std::fs::remove_file(&log);
    std::fs::write(pdf, &bytes).with_context(|| format!("writing {}", pdf.display()))?;
    Ok(())
}

/// What a reader would find wrong with the PDF: a blank page, a title, a
/// code block or a diagram's words missing from its text. Returns its page
/// count and the problems.
pub(super) fn pdf_problems(
    pdf: &Path,
    layout: &PrintLayout,
    scratch: &Path,
) -> Result<(usize, Vec<String>)> {
    let info = process::output(Command::new("pdfinfo").arg(pdf))?;
    let pages: usize = info
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .and_then(|n| n.trim().parse().ok())
        .with_context(|| format!("pdfinfo names no page count for {}", pdf.display()))?;
    let mut problems = Vec::new();
    // Every page holds some ink: rendered in grey at 24 dpi, one pixel at
    // least is clearly darker than paper.
    let _ = std::fs::remove_dir_all(scratch);
    std::fs::create_dir_all(scratch).with_context(|| format!("creating {}", scratch.display()))?;
    process::output(
        Command::new("pdftoppm")
            .args(["-gray", "-r", "24"])
            .arg(pdf)
            .arg(scratch.join("page")),
    )?;
    let mut rendered: Vec<_> = std::fs::read_dir(scratch)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    rendered.sort();
    if rendered.len() != pages {
        problems.push(format!(
            "pdftoppm rendered {} of {pages} pages",
            rendered.len()
        ));
    }
    for (number, page) in rendered.iter().enumerate() {
        let pixels = std::fs::read(page)?;
        if darkest_pixel(&pixels).is_none_or(|dark| dark > 200) {
            problems.push(format!("page {} of {} is blank", number + 1, pdf.display()));
        }
    }
    let _ = std::fs::remove_dir_all(scratch);
    // The text, as a viewer's search or a screen reader gets it, read two
    // ways, since each gets some printed text wrong that the other gets
    // right: in reading order (where a line of code ending in `-`, as a
    // wrapped `--` does, is joined to the next as a hyphenated word), and
    // in the order it was printed (-raw; where a line wrapped over a page
    // break has the next paragraph between its pieces). A line missing
    // from both is not on the paper.
    let read = |raw: bool| -> Result<String> {
        let mut command = Command::new("pdftotext");
        if raw {
            command.arg("-raw");
        }
        Ok(squeeze(&process::output(command.arg(pdf).arg("-"))?))
    };
    let (reading_order, printed_order) = (read(false)?, read(true)?);
    let mut missing = |what: &str, items: &[String]| {
        let lost: Vec<&String> = items
            .iter()
            .filter(|item| {
                let item = squeeze(item);
                !reading_order.contains(&item) && !printed_order.contains(&item)
            })
            .collect();
        if let Some(first) = lost.first() {
            problems.push(format!(
                "{} of {} {what} not in the PDF's text, first: {:?}",
                lost.len(),
                items.len(),
                first.chars().take(100).collect::<String>()
            ));
        }
    };
    missing("chapter titles", &layout.titles);
    missing("lines of code", &layout.code);
    missing("diagram words", &layout.diagram_words);
    Ok((pages, problems))
}

/// The darkest grey of a binary PGM (`P5`), or `None` if it is not one.
fn darkest_pixel(pgm: &[u8]) -> Option<u8> {
    // Header: P5, width, height, maxval, separated by whitespace, then one
    // whitespace byte and the pixels.
    let mut fields = 0;
    let mut at = 0;
    while fields < 4 {
        while pgm.get(at)?.is_ascii_whitespace() {
            at += 1;
        }
        while !pgm.get(at)?.is_ascii_whitespace() {
            at += 1;
        }
        fields += 1;
    }
    if !pgm.starts_with(b"P5") {
        return None;
    }
    pgm.get(at + 1..)?.iter().copied().min()
}

/// Text without whitespace, with the ligatures a PDF's fonts may use spelt
/// out: what survives any line breaking.
fn squeeze(text: &str) -> String {
    text.replace('\u{fb00}', "ff")
        .replace('\u{fb01}', "fi")
        .replace('\u{fb02}', "fl")
        .replace('\u{fb03}', "ffi")
        .replace('\u{fb04}', "ffl")
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_darkest_grey_of_a_pgm() {
        assert_eq!(darkest_pixel(b"P5\n2 1\n255\n\xff\x10"), Some(0x10));
        assert_eq!(darkest_pixel(b"P5 1 1 255 \xff"), Some(0xff));
        assert_eq!(darkest_pixel(b"P6\n1 1\n255\n\x00"), None);
        assert_eq!(darkest_pixel(b"P5\n1"), None);
    }

    #[test]
    fn squeezing_ignores_line_breaks_and_ligatures() {
        assert_eq!(squeeze("a b\n\u{fb01}le\u{c}x"), "abfilex");
    }
}
