//! The screenshots DevTools sends: base64 text holding a PNG.

use anyhow::{Result, bail};

/// Decodes standard base64 (with `=` padding), as DevTools sends binary data.
pub(super) fn base64_decode(text: &str) -> Result<Vec<u8>> {
    let value = |c: u8| -> Result<u32> {
        Ok(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => bail!("not base64: byte {c:#04x}"),
        }
        .into())
    };
    let text = text.trim_end_matches('=').as_bytes();
    if text.len() % 4 == 1 {
        bail!("not base64: {} characters", text.len());
    }
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    for chunk in text.chunks(4) {
        let mut bits = 0u32;
        for &c in chunk {
            bits = bits << 6 | value(c)?;
        }
        bits <<= 6 * (4 - chunk.len() as u32);
        let bytes = bits.to_be_bytes();
        out.extend_from_slice(bytes.get(1..chunk.len()).unwrap_or_default());
    }
    Ok(out)
}

/// Checks that `png` is a whole PNG (signature, header, end chunk) of at
/// least `min_bytes`; returns its width and height.
pub(super) fn check_png(png: &[u8], min_bytes: usize) -> Result<(u32, u32)> {
    const SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
    const END: &[u8] = b"\0\0\0\0IEND\xae\x42\x60\x82";
    if !png.starts_with(SIGNATURE) || png.get(12..16) != Some(b"IHDR") {
        bail!("not a PNG (no signature and header)");
    }
    if !png.ends_with(END) {
        bail!("a cut PNG (no IEND chunk at its end)");
    }
    let number = |at: usize| {
        png.get(at..at + 4)
            .and_then(|b| b.try_into().ok())
            .map(u32::from_be_bytes)
            .unwrap_or(0)
    };
    let (width, height) = (number(16), number(20));
    if width == 0 || height == 0 {
        bail!("an empty PNG ({width}x{height})");
    }
    if png.len() < min_bytes {
        bail!(
            "only {} bytes ({width}x{height}): less than the {min_bytes} a page's picture takes",
            png.len()
        );
    }
    Ok((width, height))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_decodes_with_and_without_padding() {
        assert_eq!(base64_decode("").unwrap(), b"");
        assert_eq!(base64_decode("Zg==").unwrap(), b"f");
        assert_eq!(base64_decode("Zm8=").unwrap(), b"fo");
        assert_eq!(base64_decode("Zm9v").unwrap(), b"foo");
        assert_eq!(base64_decode("Zm9vYmFy").unwrap(), b"foobar");
        assert_eq!(base64_decode("iVBORw0KGgo=").unwrap(), b"\x89PNG\r\n\x1a\n");
        assert!(base64_decode("Zm9v!").is_err());
        assert!(base64_decode("Z").is_err());
    }

    #[test]
    fn pngs_must_be_whole_and_big_enough() {
        let mut png =
            b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR\0\0\x05\0\0\0\x03\x20\x08\x06\0\0\0".to_vec();
        png.extend_from_slice(&[0; 64]);
        png.extend_from_slice(b"\0\0\0\0IEND\xae\x42\x60\x82");
        assert_eq!(check_png(&png, 16).unwrap(), (1280, 800));
        let small = check_png(&png, 1 << 20).unwrap_err().to_string();
        assert!(small.contains("1280x800"), "{small}");
        assert!(check_png(&png[..png.len() - 1], 16).is_err());
        assert!(check_png(b"GIF89a", 0).is_err());
    }
}
