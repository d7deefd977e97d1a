//! Hostile recordings for batch transcription, made in code: headers that claim absurd sizes,
//! rates or channel counts, damaged streams in each container, and a kilobyte-sized file that
//! claims hours of audio (the decoder must stop at the duration limit, not fill memory).

/// A named recording for the transcription upload cases.
pub struct HostileRecording {
    pub name: &'static str,
    pub bytes: Vec<u8>,
}

/// The Ogg page checksum (CRC-32, polynomial 0x04c11db7, unreflected, initial value 0).
fn ogg_crc(data: &[u8]) -> u32 {
    let mut crc = 0u32;
    for &byte in data {
        crc ^= u32::from(byte) << 24;
        for _ in 0..8 {
            crc = if crc & 0x8000_0000 != 0 {
                (crc << 1) ^ 0x04c1_1db7
            } else {
                crc << 1
            };
        }
    }
    crc
}

/// One Ogg page holding `packets` (each under 255 bytes), with a correct checksum.
fn ogg_page(
    serial: u32,
    sequence: u32,
    granule: u64,
    header_type: u8,
    packets: &[&[u8]],
) -> Vec<u8> {
    let mut page = b"OggS".to_vec();
    page.push(0);
    page.push(header_type);
    page.extend(granule.to_le_bytes());
    page.extend(serial.to_le_bytes());
    page.extend(sequence.to_le_bytes());
    page.extend([0u8; 4]);
    page.push(packets.len() as u8);
    for packet in packets {
        page.push(packet.len() as u8);
    }
    for packet in packets {
        page.extend_from_slice(packet);
    }
    let crc = ogg_crc(&page);
    page[22..26].copy_from_slice(&crc.to_le_bytes());
    page
}

fn opus_head(channels: u8, mapping_family: u8) -> Vec<u8> {
    let mut head = b"OpusHead".to_vec();
    head.push(1);
    head.push(channels);
    head.extend(312u16.to_le_bytes());
    head.extend(48_000u32.to_le_bytes());
    head.extend(0u16.to_le_bytes());
    head.push(mapping_family);
    if mapping_family != 0 {
        head.push(channels);
        head.push(0);
        head.extend((0..channels).map(|c| c % 2));
    }
    head
}

/// An Ogg Opus stream of `pages` pages of 255 tiny packets each: every packet is a code-3
/// CELT packet of six empty 20 ms frames, 120 ms of audio in 2 bytes, so each page of under a
/// kilobyte claims about 30 s.
fn ogg_opus_duration_bomb(pages: u32) -> Vec<u8> {
    let serial = 0x5eed;
    let mut out = ogg_page(serial, 0, 0, 0x02, &[&opus_head(1, 0)]);
    out.extend(ogg_page(serial, 1, 0, 0, &[b"OpusTags\0\0\0\0\0\0\0\0"]));
    let packet: &[u8] = &[(31 << 3) | 3, 6];
    let packets = vec![packet; 255];
    let mut granule = 0u64;
    for sequence in 0..pages {
        granule += 255 * 5_760;
        out.extend(ogg_page(serial, sequence + 2, granule, 0, &packets));
    }
    out
}

fn wav_header(channels: u16, rate: u32, bits: u16, data_len: u32) -> Vec<u8> {
    let mut out = b"RIFF".to_vec();
    out.extend(u32::MAX.to_le_bytes());
    out.extend(b"WAVEfmt ");
    out.extend(16u32.to_le_bytes());
    out.extend(1u16.to_le_bytes());
    out.extend(channels.to_le_bytes());
    out.extend(rate.to_le_bytes());
    let block = u32::from(channels) * u32::from(bits / 8);
    out.extend((rate.wrapping_mul(block)).to_le_bytes());
    out.extend((block as u16).to_le_bytes());
    out.extend(bits.to_le_bytes());
    out.extend(b"data");
    out.extend(data_len.to_le_bytes());
    out
}

fn with_junk(mut head: Vec<u8>, len: usize, seed: u64) -> Vec<u8> {
    head.extend(crate::files::junk(len, seed));
    head
}

pub fn hostile_recordings() -> Vec<HostileRecording> {
    let mut flac_header = b"fLaC".to_vec();
    // STREAMINFO (last block): block sizes 65535, frame sizes 16 MiB, 655350 Hz, 8 channels,
    // 32 bits, 2^36 - 1 samples.
    flac_header.extend([
        0x80, 0, 0, 34, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    ]);
    flac_header.extend([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    flac_header.extend([0u8; 16]);
    let mut webm = vec![0x1a, 0x45, 0xdf, 0xa3];
    // An EBML header, then a Segment of "unknown" size full of elements claiming 2^56 bytes.
    webm.extend([0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1f]);
    webm.extend([0x42, 0x82, 0x84]);
    webm.extend(b"webm");
    webm.extend([0x42, 0x87, 0x81, 0x04, 0x42, 0x85, 0x81, 0x02]);
    webm.extend([0x00; 12]);
    webm.extend([
        0x18, 0x53, 0x80, 0x67, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    ]);
    for _ in 0..2_000 {
        webm.extend([
            0x1f, 0x43, 0xb6, 0x75, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        ]);
    }
    let mut id3 = b"ID3\x04\x00\x00\x7f\x7f\x7f\x7f".to_vec();
    id3.extend(crate::files::junk(4_096, 7));
    let frames: Vec<u8> = (0..100_000)
        .flat_map(|i| [0xff, 0xfb, 0x90, (i % 256) as u8])
        .collect();
    let serial = 77;
    let mut opus_junk = ogg_page(serial, 0, 0, 0x02, &[&opus_head(2, 0)]);
    opus_junk.extend(ogg_page(serial, 1, 0, 0, &[b"OpusTags\0\0\0\0\0\0\0\0"]));
    let junk_packets: Vec<Vec<u8>> = (0..200).map(|i| crate::files::junk(200, i)).collect();
    let refs: Vec<&[u8]> = junk_packets.iter().map(Vec::as_slice).collect();
    opus_junk.extend(ogg_page(serial, 2, 960 * 200, 0, &refs));
    let mut many_channels = ogg_page(9, 0, 0, 0x02, &[&opus_head(255, 255)]);
    many_channels.extend(ogg_page(9, 1, 0, 0, &[b"OpusTags\0\0\0\0\0\0\0\0"]));
    let mut vorbis_head = b"\x01vorbis".to_vec();
    vorbis_head.extend([0, 0, 0, 0, 255]);
    vorbis_head.extend(u32::MAX.to_le_bytes());
    vorbis_head.extend([0xff; 12]);
    vorbis_head.extend([0xff, 1]);
    let vorbis = ogg_page(5, 0, 0, 0x02, &[&vorbis_head]);
    vec![
        HostileRecording {
            name: "Ogg Opus: 1 MB claiming 10 hours (2-byte packets of 120 ms)",
            bytes: ogg_opus_duration_bomb(1_300),
        },
        HostileRecording {
            name: "Ogg Opus: 255 channels, mapping family 255",
            bytes: many_channels,
        },
        HostileRecording {
            name: "Ogg Opus: junk packets",
            bytes: opus_junk,
        },
        HostileRecording {
            name: "Ogg Vorbis: header of 255 channels at 4 GHz, nothing after",
            bytes: vorbis,
        },
        HostileRecording {
            name: "WAV: 65535 channels, data size 4 GB, 1 KB of data",
            bytes: with_junk(wav_header(u16::MAX, 48_000, 16, u32::MAX), 1_024, 1),
        },
        HostileRecording {
            name: "WAV: 384 kHz 8-bit claiming 3 hours, 1 MB of data",
            bytes: with_junk(wav_header(1, 384_000, 8, u32::MAX), 1 << 20, 2),
        },
        HostileRecording {
            name: "FLAC: STREAMINFO of every maximum, then junk",
            bytes: with_junk(flac_header, 64 * 1024, 3),
        },
        HostileRecording {
            name: "WebM: elements claiming 2^56 bytes",
            bytes: webm,
        },
        HostileRecording {
            name: "MP3: ID3 tag claiming 256 MB, then junk",
            bytes: id3,
        },
        HostileRecording {
            name: "MP3: 100,000 frame headers with no frames",
            bytes: frames,
        },
    ]
}
