//! Crafted uploads that broke or stalled PDF and Word parsers, made in code (small on the wire,
//! each aimed at one failure: unbounded recursion, an endless loop, a decompression bomb).
#![allow(dead_code)]

use std::io::Write;

use flate2::write::ZlibEncoder;
use flate2::Compression;

/// A PDF whose objects are `objects` (numbered from 1, object 1 the catalog), with a correct
/// cross-reference table so that parsers really follow the objects.
pub fn pdf(objects: &[Vec<u8>]) -> Vec<u8> {
    let mut out = b"%PDF-1.7\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for offset in offsets {
        out.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

fn text(s: &str) -> Vec<u8> {
    s.as_bytes().to_vec()
}

/// A stream object: `dictionary` entries (without /Length) and the stream's raw bytes.
fn stream(dictionary: &str, data: &[u8]) -> Vec<u8> {
    let mut out = format!("<< {dictionary} /Length {} >>\nstream\n", data.len()).into_bytes();
    out.extend_from_slice(data);
    out.extend_from_slice(b"\nendstream");
    out
}

const CATALOG: &str = "<< /Type /Catalog /Pages 2 0 R >>";
const PAGES: &str = "<< /Type /Pages /Kids [3 0 R] /Count 1 >>";

/// A one-page PDF whose page draws `contents` (a stream object 4) with `resources`.
fn one_page(resources: &str, contents: Vec<u8>, more: Vec<Vec<u8>>) -> Vec<u8> {
    let mut objects = vec![
        text(CATALOG),
        text(PAGES),
        text(&format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources {resources} /Contents 4 0 R >>"
        )),
        contents,
    ];
    objects.extend(more);
    pdf(&objects)
}

/// A plain, readable PDF saying `line` (the control case: its text must come through).
pub fn plain(line: &str) -> Vec<u8> {
    let content = format!("BT /F1 12 Tf 72 720 Td ({line}) Tj ET");
    one_page(
        "<< /Font << /F1 5 0 R >> >>",
        stream("", content.as_bytes()),
        vec![text(
            "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        )],
    )
}

/// The page draws form XObject X0, which draws itself (it is in its own /Resources).
pub fn self_drawing_xobject() -> Vec<u8> {
    one_page(
        "<< /XObject << /X0 5 0 R >> >>",
        stream("", b"/X0 Do"),
        vec![stream(
            "/Type /XObject /Subtype /Form /BBox [0 0 10 10] /Resources << /XObject << /X0 5 0 R >> >>",
            b"/X0 Do",
        )],
    )
}

/// A page with no /Resources whose /Parent is itself: finding inherited resources never ends.
pub fn own_parent_page() -> Vec<u8> {
    pdf(&[
        text(CATALOG),
        text(PAGES),
        text("<< /Type /Page /Parent 3 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>"),
        stream("", b"BT ET"),
    ])
}

/// `inflated` bytes of spaces (valid, empty page content), deflated in chunks so the test never
/// holds them.
fn deflated_spaces(inflated: usize) -> Vec<u8> {
    let mut encoder = ZlibEncoder::new(Vec::new(), Compression::best());
    let chunk = vec![b' '; 1 << 20];
    let mut left = inflated;
    while left > 0 {
        let n = left.min(chunk.len());
        encoder.write_all(&chunk[..n]).expect("deflate in memory");
        left -= n;
    }
    encoder.finish().expect("deflate in memory")
}

fn deflate(data: &[u8]) -> Vec<u8> {
    let mut encoder = ZlibEncoder::new(Vec::new(), Compression::best());
    encoder.write_all(data).expect("deflate in memory");
    encoder.finish().expect("deflate in memory")
}

/// A page whose content stream inflates to `inflated` bytes.
pub fn flate_bomb(inflated: usize) -> Vec<u8> {
    one_page(
        "<< >>",
        stream("/Filter /FlateDecode", &deflated_spaces(inflated)),
        Vec::new(),
    )
}

/// The same, deflated twice (`/Filter [/FlateDecode /FlateDecode]`): a few kilobytes on the
/// wire.
pub fn double_flate_bomb(inflated: usize) -> Vec<u8> {
    one_page(
        "<< >>",
        stream(
            "/Filter [/FlateDecode /FlateDecode]",
            &deflate(&deflated_spaces(inflated)),
        ),
        Vec::new(),
    )
}

/// Arrays nested `depth` deep in the page's content and in an object.
pub fn nested_arrays(depth: usize) -> Vec<u8> {
    let nested = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    one_page(
        &format!("<< /Deep {nested} >>"),
        stream("", nested.as_bytes()),
        Vec::new(),
    )
}

/// Dictionaries nested `depth` deep.
pub fn nested_dictionaries(depth: usize) -> Vec<u8> {
    let nested = format!("{}{}", "<< /A ".repeat(depth), ">> ".repeat(depth));
    one_page(&nested, stream("", b"BT ET"), Vec::new())
}

/// The first half of a readable PDF.
pub fn truncated() -> Vec<u8> {
    let whole = plain("Built Orbit, an internal deploy tool.");
    whole[..whole.len() / 2].to_vec()
}

/// `%PDF-` and then noise.
pub fn garbage() -> Vec<u8> {
    let mut bytes = b"%PDF-1.4\n".to_vec();
    let mut state: u32 = 0x1234_5678;
    for _ in 0..4096 {
        state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        bytes.push((state >> 24) as u8);
    }
    bytes
}

/// A Word document whose `word/document.xml` inflates to `inflated` bytes.
pub fn docx_bomb(inflated: usize) -> Vec<u8> {
    let mut bytes = Vec::new();
    {
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(&mut bytes));
        let options = zip::write::SimpleFileOptions::default()
            .compression_level(Some(9))
            .large_file(inflated > u32::MAX as usize);
        zip.start_file("word/document.xml", options).expect("entry");
        zip.write_all(b"<w:document><w:body><w:p><w:r><w:t>")
            .expect("write");
        let chunk = vec![b'a'; 1 << 20];
        let mut left = inflated;
        while left > 0 {
            let n = left.min(chunk.len());
            zip.write_all(&chunk[..n]).expect("write");
            left -= n;
        }
        zip.write_all(b"</w:t></w:r></w:p></w:body></w:document>")
            .expect("write");
        zip.finish().expect("finish");
    }
    bytes
}
