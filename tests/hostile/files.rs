//! Hostile resume files, generated in code: PDFs that recurse, loop, inflate or nest without
//! end, damaged ones, .docx zip bombs, and plain junk. Bombs are compressed in chunks, so the
//! test itself never holds what they inflate to.

use std::io::Write;

use flate2::write::{GzEncoder, ZlibEncoder};
use flate2::Compression;

/// A named file for the upload cases.
pub struct HostileFile {
    pub name: &'static str,
    pub filename: &'static str,
    pub bytes: Vec<u8>,
}

/// `total` copies of `byte`, zlib-compressed (what a PDF's FlateDecode reads), a MiB at a time.
pub fn zlib_of_repeated(byte: u8, total: usize) -> Vec<u8> {
    let mut encoder = ZlibEncoder::new(Vec::new(), Compression::best());
    write_repeated(&mut encoder, byte, total);
    encoder.finish().expect("compress in memory")
}

/// `total` copies of `byte`, gzip-compressed (an HTTP `Content-Encoding: gzip` body).
pub fn gzip_of_repeated(byte: u8, total: usize) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
    write_repeated(&mut encoder, byte, total);
    encoder.finish().expect("compress in memory")
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
    encoder.write_all(bytes).expect("compress in memory");
    encoder.finish().expect("compress in memory")
}

pub fn zlib(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = ZlibEncoder::new(Vec::new(), Compression::best());
    encoder.write_all(bytes).expect("compress in memory");
    encoder.finish().expect("compress in memory")
}

fn write_repeated(out: &mut impl Write, byte: u8, total: usize) {
    let chunk = vec![byte; 1 << 20];
    let mut left = total;
    while left > 0 {
        let n = left.min(chunk.len());
        out.write_all(&chunk[..n]).expect("compress in memory");
        left -= n;
    }
}

/// Deterministic junk (a xorshift generator), so a failing case can be reproduced.
pub fn junk(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

/// A PDF of the given objects (numbered from 1) with a correct cross-reference table, unless
/// the trailer says otherwise.
fn pdf(objects: &[Vec<u8>], trailer_extra: &str) -> Vec<u8> {
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
            "trailer\n<< /Size {} /Root 1 0 R {trailer_extra}>>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

fn obj(text: &str) -> Vec<u8> {
    text.as_bytes().to_vec()
}

/// A stream object: its dictionary entries (besides /Length) and its data.
fn stream(dict: &str, data: &[u8]) -> Vec<u8> {
    let mut out = format!("<< /Length {} {dict} >>\nstream\n", data.len()).into_bytes();
    out.extend_from_slice(data);
    out.extend_from_slice(b"\nendstream");
    out
}

const CATALOG: &str = "<< /Type /Catalog /Pages 2 0 R >>";
const PAGES: &str = "<< /Type /Pages /Kids [3 0 R] /Count 1 >>";
const PAGE: &str = "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] \
    /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>";
const FONT: &str = "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>";
const HELLO: &[u8] = b"BT /F1 12 Tf 72 720 Td (Built Orbit, a deploy tool) Tj ET";

/// One page showing a line of text: the well-formed base the hostile ones change.
pub fn valid_pdf() -> Vec<u8> {
    pdf(
        &[
            obj(CATALOG),
            obj(PAGES),
            obj(PAGE),
            stream("", HELLO),
            obj(FONT),
        ],
        "",
    )
}

/// A page whose contents are `data` with `filter`.
fn pdf_with_contents(filter: &str, data: &[u8]) -> Vec<u8> {
    pdf(
        &[
            obj(CATALOG),
            obj(PAGES),
            obj(PAGE),
            stream(filter, data),
            obj(FONT),
        ],
        "",
    )
}

/// Every hostile file of the corpus.
pub fn hostile_files() -> Vec<HostileFile> {
    let mut files = Vec::new();
    let mut add = |name: &'static str, filename: &'static str, bytes: Vec<u8>| {
        files.push(HostileFile {
            name,
            filename,
            bytes,
        })
    };

    // -- PDFs that recurse or loop --
    add(
        "pdf: form XObject drawing itself",
        "cv.pdf",
        pdf(
            &[
                obj(CATALOG),
                obj(PAGES),
                obj("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] \
                     /Resources << /XObject << /X0 4 0 R >> >> /Contents 5 0 R >>"),
                stream(
                    "/Type /XObject /Subtype /Form /BBox [0 0 10 10] \
                     /Resources << /XObject << /X0 4 0 R >> >>",
                    b"/X0 Do",
                ),
                stream("", b"/X0 Do"),
            ],
            "",
        ),
    );
    add(
        "pdf: page without /Resources, /Parent itself",
        "cv.pdf",
        pdf(
            &[
                obj(CATALOG),
                obj(PAGES),
                obj("<< /Type /Page /Parent 3 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>"),
                stream("", HELLO),
            ],
            "",
        ),
    );
    add(
        "pdf: page tree /Kids holds itself",
        "cv.pdf",
        pdf(
            &[
                obj(CATALOG),
                obj("<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 2 >>"),
                obj(PAGE),
                stream("", HELLO),
                obj(FONT),
            ],
            "",
        ),
    );
    add("pdf: trailer /Prev points at its own xref", "cv.pdf", {
        let base = valid_pdf();
        let text = String::from_utf8_lossy(&base).into_owned();
        let xref = text.rfind("xref\n").expect("an xref");
        let mut with_prev = base[..xref].to_vec();
        with_prev.extend_from_slice(
            text[xref..]
                .replace("/Root 1 0 R ", &format!("/Root 1 0 R /Prev {xref} "))
                .as_bytes(),
        );
        with_prev
    });
    add(
        "pdf: stream /Length refers to its own object",
        "cv.pdf",
        pdf(
            &[
                obj(CATALOG),
                obj(PAGES),
                obj(PAGE),
                {
                    let mut s = b"<< /Length 4 0 R >>\nstream\n".to_vec();
                    s.extend_from_slice(HELLO);
                    s.extend_from_slice(b"\nendstream");
                    s
                },
                obj(FONT),
            ],
            "",
        ),
    );
    add(
        "pdf: 50,000 /Kids all the same page of 20 KB of text",
        "cv.pdf",
        {
            let kids = "3 0 R ".repeat(50_000);
            let mut text = b"BT /F1 12 Tf 72 720 Td ".to_vec();
            for _ in 0..500 {
                text.extend_from_slice(b"(Designed Payments Gateway rewrite) Tj ");
            }
            text.extend_from_slice(b"ET");
            pdf(
                &[
                    obj(CATALOG),
                    obj(&format!("<< /Type /Pages /Kids [{kids}] /Count 50000 >>")),
                    obj(PAGE),
                    stream("/Filter /FlateDecode", &zlib(&text)),
                    obj(FONT),
                ],
                "",
            )
        },
    );

    // -- Memory bombs --
    add(
        "pdf: Flate bomb (~320 KB -> 320 MB)",
        "cv.pdf",
        pdf_with_contents("/Filter /FlateDecode", &zlib_of_repeated(b' ', 320 << 20)),
    );
    add(
        "pdf: double Flate (a few KB -> 1 GB)",
        "cv.pdf",
        pdf_with_contents(
            "/Filter [/FlateDecode /FlateDecode]",
            &zlib(&zlib_of_repeated(b' ', 1 << 30)),
        ),
    );
    add(
        "pdf: ToUnicode CMap Flate bomb (320 MB)",
        "cv.pdf",
        pdf(
            &[
                obj(CATALOG),
                obj(PAGES),
                obj(PAGE),
                stream("", HELLO),
                obj("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /ToUnicode 6 0 R >>"),
                stream("/Filter /FlateDecode", &zlib_of_repeated(b' ', 320 << 20)),
            ],
            "",
        ),
    );

    // -- Nesting --
    let depth = 100_000;
    add("pdf: arrays nested 100,000 deep", "cv.pdf", {
        let nested = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        pdf(
            &[
                obj("<< /Type /Catalog /Pages 2 0 R /Nested 6 0 R >>"),
                obj(PAGES),
                obj(PAGE),
                stream("", HELLO),
                obj(FONT),
                obj(&nested),
            ],
            "",
        )
    });
    add("pdf: dictionaries nested 100,000 deep", "cv.pdf", {
        let nested = format!("{}{}", "<< /A ".repeat(depth), ">> ".repeat(depth));
        pdf(
            &[
                obj("<< /Type /Catalog /Pages 2 0 R /Nested 6 0 R >>"),
                obj(PAGES),
                obj(PAGE),
                stream("", HELLO),
                obj(FONT),
                obj(&nested),
            ],
            "",
        )
    });
    add(
        "pdf: content stream arrays nested 100,000 deep",
        "cv.pdf",
        {
            let nested = format!("BT {}{} TJ ET", "[".repeat(depth), "]".repeat(depth));
            pdf_with_contents("", nested.as_bytes())
        },
    );
    add("pdf: 100,000 unclosed arrays", "cv.pdf", {
        pdf_with_contents("", "[".repeat(depth).as_bytes())
    });

    // -- Absurd numbers --
    add("pdf: xref offsets beyond the file", "cv.pdf", {
        let base = valid_pdf();
        let text = String::from_utf8_lossy(&base).into_owned();
        let xref = text.rfind("xref\n").expect("an xref");
        let mut out = base[..xref].to_vec();
        let table: String = text[xref..]
            .lines()
            .map(|line| {
                if line.ends_with(" n ") || line.ends_with(" n") {
                    "9999999999 00000 n ".to_owned()
                } else {
                    line.to_owned()
                }
            })
            .collect::<Vec<_>>()
            .join("\n");
        out.extend_from_slice(table.as_bytes());
        out
    });
    add("pdf: object number 2^40 and /Size 2^31", "cv.pdf", {
        let mut out = b"%PDF-1.7\n".to_vec();
        let at = out.len();
        out.extend_from_slice(b"1099511627776 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n");
        let xref = out.len();
        out.extend_from_slice(
            format!(
                "xref\n1099511627776 1\n{at:010} 00000 n \ntrailer\n<< /Size 2147483648 \
                 /Root 1099511627776 0 R >>\nstartxref\n{xref}\n%%EOF\n"
            )
            .as_bytes(),
        );
        out
    });
    add("pdf: xref subsection of 4 billion entries", "cv.pdf", {
        let mut out = b"%PDF-1.7\n".to_vec();
        let xref = out.len();
        out.extend_from_slice(
            format!(
                "xref\n0 4294967295\n0000000000 65535 f \ntrailer\n<< /Size 4294967295 /Root 1 0 R >>\n\
                 startxref\n{xref}\n%%EOF\n"
            )
            .as_bytes(),
        );
        out
    });
    add("pdf: startxref past the end", "cv.pdf", {
        let base = valid_pdf();
        let text = String::from_utf8_lossy(&base).into_owned();
        let at = text.rfind("startxref\n").expect("startxref");
        let mut out = base[..at].to_vec();
        out.extend_from_slice(b"startxref\n18446744073709551615\n%%EOF\n");
        out
    });
    add(
        "pdf: stream /Length 99999999999",
        "cv.pdf",
        pdf(
            &[
                obj(CATALOG),
                obj(PAGES),
                obj(PAGE),
                {
                    let mut s = b"<< /Length 99999999999 >>\nstream\n".to_vec();
                    s.extend_from_slice(HELLO);
                    s.extend_from_slice(b"\nendstream");
                    s
                },
                obj(FONT),
            ],
            "",
        ),
    );
    add(
        "pdf: object stream of 10 million objects",
        "cv.pdf",
        pdf(
            &[
                obj(CATALOG),
                obj(PAGES),
                obj(PAGE),
                stream("", HELLO),
                obj(FONT),
                stream(
                    "/Type /ObjStm /N 10000000 /First 999999999",
                    b"7 0 8 5 9 10",
                ),
            ],
            "",
        ),
    );

    // -- Damaged --
    let valid = valid_pdf();
    add(
        "pdf: truncated at half",
        "cv.pdf",
        valid[..valid.len() / 2].to_vec(),
    );
    add("pdf: truncated inside a Flate stream", "cv.pdf", {
        let whole = pdf_with_contents("/Filter /FlateDecode", &zlib(&HELLO.repeat(200)));
        let cut = net_find(&whole, b"stream\n").map_or(whole.len() / 2, |at| at + 20);
        whole[..cut].to_vec()
    });
    add("pdf: only the header `%PDF-`", "cv.pdf", b"%PDF-".to_vec());
    add("pdf: 256 KB of junk after `%PDF-`", "cv.pdf", {
        let mut out = b"%PDF-".to_vec();
        out.extend(junk(256 << 10, 0x5eed));
        out
    });
    add("pdf: corrupt Flate data", "cv.pdf", {
        pdf_with_contents("/Filter /FlateDecode", &junk(4096, 42))
    });

    // -- .docx --
    add(
        ".docx: zip bomb (document.xml inflating to 1 GB)",
        "cv.docx",
        docx_with_document(|w| write_repeated(w, b' ', 1 << 30)),
    );
    add(
        ".docx: XML nested 100,000 deep",
        "cv.docx",
        docx_with_document(|w| {
            w.write_all("<w:p>".repeat(100_000).as_bytes())
                .expect("write");
            w.write_all(b"<w:t>Built Orbit</w:t>").expect("write");
            w.write_all("</w:p>".repeat(100_000).as_bytes())
                .expect("write");
        }),
    );
    add(
        ".docx: 4 million text runs",
        "cv.docx",
        docx_with_document(|w| {
            for _ in 0..4_000_000 / 1000 {
                w.write_all("<w:t>Led x</w:t><w:br/>".repeat(1000).as_bytes())
                    .expect("write");
            }
        }),
    );
    add(".docx: entry sizes that lie (4 GiB declared)", "cv.docx", {
        let mut bytes = docx_with_document(|w| w.write_all(b"<w:t>Hi</w:t>").expect("write"));
        patch_zip_headers(&mut bytes, |header, local| {
            // Uncompressed size: offset 22 in a local header, 24 in a central one.
            let at = if local { 22 } else { 24 };
            header[at..at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        });
        bytes
    });
    add(".docx: unsupported compression method", "cv.docx", {
        let mut bytes = docx_with_document(|w| w.write_all(b"<w:t>Hi</w:t>").expect("write"));
        patch_zip_headers(&mut bytes, |header, local| {
            let at = if local { 8 } else { 10 };
            header[at..at + 2].copy_from_slice(&99u16.to_le_bytes());
        });
        bytes
    });
    add(".docx: 60,000 entries", "cv.docx", {
        let mut bytes = Vec::new();
        {
            let mut zip = zip::ZipWriter::new(std::io::Cursor::new(&mut bytes));
            let options = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Stored);
            zip.start_file("word/document.xml", options).expect("entry");
            zip.write_all(b"<w:t>Hi</w:t>").expect("write");
            for i in 0..60_000 {
                zip.start_file(format!("x/{i}"), options).expect("entry");
            }
            zip.finish().expect("finish");
        }
        bytes
    });
    add("zip: truncated archive", "cv.docx", {
        let bytes = docx_with_document(|w| w.write_all(b"<w:t>Hi</w:t>").expect("write"));
        bytes[..bytes.len() / 2].to_vec()
    });

    // -- Junk --
    add("junk: an ELF executable named .pdf", "cv.pdf", {
        let mut out = b"\x7fELF\x02\x01\x01".to_vec();
        out.extend(junk(4096, 7));
        out
    });
    add(
        "junk: a shell script",
        "cv.txt",
        b"#!/bin/sh\nrm -rf /\n".to_vec(),
    );
    add(
        "junk: text with NUL bytes",
        "cv.txt",
        b"Ann\0Lee\0\x01\x02".to_vec(),
    );
    add(
        "text: 10 MB on one line, no spaces",
        "cv.txt",
        vec![b'a'; 10 * 1024 * 1024],
    );
    add(
        "text: 10 MB of combining marks",
        "cv.txt",
        "\u{301}".repeat(5 * 1024 * 1024).into_bytes(),
    );
    add("empty file", "cv.pdf", Vec::new());
    add(
        "10 MB + 1 byte",
        "cv.txt",
        vec![b'a'; viva::resume::MAX_BYTES + 1],
    );
    files
}

fn net_find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    crate::net::find(haystack, needle)
}

/// A .docx (a ZIP with `[Content_Types].xml` and `word/document.xml`) whose document XML is
/// written by `write`, deflated as it is written.
fn docx_with_document(
    write: impl FnOnce(&mut zip::ZipWriter<std::io::Cursor<&mut Vec<u8>>>),
) -> Vec<u8> {
    let mut bytes = Vec::new();
    {
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(&mut bytes));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        zip.start_file("[Content_Types].xml", options)
            .expect("entry");
        zip.write_all(b"<Types/>").expect("write");
        zip.start_file("word/document.xml", options).expect("entry");
        write(&mut zip);
        zip.finish().expect("finish");
    }
    bytes
}

/// Calls `patch` on every local (`PK\x03\x04`) and central (`PK\x01\x02`) header, with the 46
/// bytes that follow the signature's start.
fn patch_zip_headers(bytes: &mut [u8], patch: impl Fn(&mut [u8], bool)) {
    let mut at = 0;
    while at + 46 <= bytes.len() {
        let local = bytes[at..].starts_with(b"PK\x03\x04");
        if local || bytes[at..].starts_with(b"PK\x01\x02") {
            patch(&mut bytes[at..at + 46], local);
            at += 4;
        } else {
            at += 1;
        }
    }
}
