//! What the checks read off a loaded page: its links, ids and diagrams.

use serde::Deserialize;

/// What a page shows, read by `READ_PAGE_JS`.
#[derive(Deserialize)]
pub(super) struct PageDom {
    /// Every `a[href]`, resolved by the browser.
    pub(super) links: Vec<String>,
    /// Every element id (and `a[name]`).
    pub(super) ids: Vec<String>,
    pub(super) diagrams: Vec<Diagram>,
}

/// A `figure.diagram` as rendered.
#[derive(Deserialize)]
pub(super) struct Diagram {
    /// `svg`, `img` or `nothing` (neither inside the figure).
    kind: String,
    width: f64,
    height: f64,
    /// Shapes drawn inside a non-empty SVG; 1 for a decoded image.
    shapes: u64,
    pub(super) caption: String,
}

impl Diagram {
    pub(super) fn problem(&self) -> Option<String> {
        if self.kind == "nothing" {
            return Some("no <svg> or <img> inside the figure".into());
        }
        if self.width <= 0.0 || self.height <= 0.0 {
            return Some(format!(
                "its <{}> renders as {}x{} px",
                self.kind, self.width, self.height
            ));
        }
        if self.shapes == 0 {
            return Some(format!("its <{}> draws nothing", self.kind));
        }
        None
    }
}

pub(super) const READ_PAGE_JS: &str = r##"(() => {
  // "#id" means this page, also where <base href> points elsewhere (404.html).
  const url = a => {
    const raw = a.getAttribute('href') ?? '';
    if (raw.startsWith('#')) return location.href.split('#')[0] + raw;
    return typeof a.href === 'string' ? a.href : new URL(a.href.baseVal, document.baseURI).href;
  };
  const diagrams = [...document.querySelectorAll('figure.diagram')].map(figure => {
    const graphic = figure.querySelector('svg, img');
    const caption = (figure.querySelector('figcaption')?.textContent ?? '').trim().slice(0, 60);
    if (!graphic) return {kind: 'nothing', width: 0, height: 0, shapes: 0, caption};
    const kind = graphic.tagName.toLowerCase();
    const box = graphic.getBoundingClientRect();
    let shapes = 0;
    if (kind === 'img') {
      shapes = graphic.complete && graphic.naturalWidth > 0 ? 1 : 0;
    } else {
      const content = graphic.getBBox();
      if (content.width > 0 && content.height > 0) {
        shapes = graphic.querySelectorAll(
          'path, rect, circle, ellipse, line, polyline, polygon, text, image, use').length;
      }
    }
    return {kind, width: box.width, height: box.height, shapes, caption};
  });
  return {
    links: [...document.querySelectorAll('a[href]')].map(url),
    ids: [...document.querySelectorAll('[id], a[name]')]
      .map(e => e.id || e.getAttribute('name')).filter(id => id),
    diagrams,
  };
})()"##;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diagrams_must_draw_something() {
        let diagram = |kind: &str, width, height, shapes| Diagram {
            kind: kind.into(),
            width,
            height,
            shapes,
            caption: String::new(),
        };
        assert_eq!(diagram("svg", 600.0, 200.0, 12).problem(), None);
        assert_eq!(diagram("img", 600.0, 200.0, 1).problem(), None);
        assert!(diagram("nothing", 0.0, 0.0, 0).problem().is_some());
        assert!(diagram("svg", 600.0, 0.0, 12).problem().is_some());
        assert!(diagram("svg", 600.0, 200.0, 0).problem().is_some());
    }
}
