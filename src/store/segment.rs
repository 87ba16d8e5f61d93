//! One segment file of a recording (format version 1; README "Recording format").
//!
//! ```text
//! header   b"NSTOPREC", u32 LE version (1), u32 LE run (one number per recorder run)
//! record   u32 LE payload length, u32 LE JSON length (neither 0), u64 LE time (ms since the
//!          epoch), u8 kind (0 key, 1 delta), 3 zero bytes, u32 LE CRC-32 (IEEE) of the 20
//!          header bytes before it and the payload, then the payload
//! payload  a zstd frame with its content checksum, of the frame's JSON (the document
//!          `nstop snapshot --json` prints); a delta is compressed with the JSON of the frame
//!          before it (in the same segment) as its prefix (zstd's patch-from), so it holds what
//!          changed in one interval; a reader decodes from the latest key frame forward
//! ```
//!
//! A record is one write(2) to a file opened with O_APPEND. A recorder killed mid-write leaves
//! at most a torn last record: its length runs past the end, or its CRC fails, and readers stop
//! there; every record before it stays readable. A recorder never appends to a segment it did
//! not create. Readers check every header (a zero-filled tail is no record) and the last
//! record's CRC; each decode checks zstd's own checksum.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

const MAGIC: &[u8; 8] = b"NSTOPREC";
pub const VERSION: u32 = 1;
const FILE_HEADER: usize = 16;
const RECORD_HEADER: usize = 24;
/// No snapshot is this large (a 10,000-process host's is about 20 MiB); a header that says so
/// is damaged or hostile, and each reader would allocate that much.
const MAX_JSON: u32 = 256 << 20;
/// zstd's default: a key frame of a 1,000-process host compresses about 10:1 in a few ms.
const LEVEL: i32 = 3;
/// A key frame at least every this many frames: a reader decodes at most this many to reach one.
pub const KEY_EVERY: usize = 60;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Key,
    Delta,
}

/// Where one record is and what it holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Record {
    pub time_ms: u64,
    pub kind: Kind,
    /// Offset of the payload in the file.
    offset: u64,
    len: u32,
    json_len: u32,
}

/// CRC-32 (IEEE 802.3, reflected), table built at compile time.
const CRC_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut bit = 0;
        while bit < 8 {
            c = if c & 1 == 1 {
                0xedb8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            bit += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
};

/// CRC-32 of `parts` one after the other.
fn crc32(parts: &[&[u8]]) -> u32 {
    !parts.iter().flat_map(|p| p.iter()).fold(!0u32, |c, &b| {
        CRC_TABLE[((c ^ u32::from(b)) & 0xff) as usize] ^ (c >> 8)
    })
}

fn zstd_error(code: usize) -> io::Error {
    io::Error::other(zstd_safe::get_error_name(code))
}

/// The window that reaches from the end of `json` back over all of `prev`: the largest zstd
/// decoders take by default (2^27) at most.
fn window_log(prev: &[u8], json: &[u8]) -> u32 {
    let span = (prev.len() + json.len()).max(1 << 10);
    (usize::BITS - (span - 1).leading_zeros()).clamp(10, 27)
}

/// `json` compressed; with `prev`, as a patch of it: the frame before is the window's start,
/// so a delta is what differs. (A dictionary's match tables reach a few MB: at 5,000 processes
/// its deltas were 60 times larger.)
fn compress(json: &[u8], prev: Option<&[u8]>) -> io::Result<Vec<u8>> {
    use zstd_safe::{CCtx, CParameter};
    let mut cctx = CCtx::create();
    cctx.set_parameter(CParameter::CompressionLevel(LEVEL))
        .map_err(zstd_error)?;
    cctx.set_parameter(CParameter::ChecksumFlag(true))
        .map_err(zstd_error)?;
    if let Some(prev) = prev {
        cctx.set_parameter(CParameter::WindowLog(window_log(prev, json)))
            .map_err(zstd_error)?;
        cctx.set_parameter(CParameter::EnableLongDistanceMatching(true))
            .map_err(zstd_error)?;
        cctx.ref_prefix(prev).map_err(zstd_error)?;
    }
    let mut out = Vec::with_capacity(zstd_safe::compress_bound(json.len()));
    cctx.compress2(&mut out, json).map_err(zstd_error)?;
    Ok(out)
}

/// A payload back to `json_len` bytes of JSON; `prev` as it was compressed with.
fn decompress(payload: &[u8], json_len: usize, prev: Option<&[u8]>) -> io::Result<Vec<u8>> {
    use zstd_safe::{DCtx, DParameter};
    let mut dctx = DCtx::create();
    dctx.set_parameter(DParameter::WindowLogMax(27))
        .map_err(zstd_error)?;
    if let Some(prev) = prev {
        dctx.ref_prefix(prev).map_err(zstd_error)?;
    }
    // The writer's zstd frames say their size: one that disagrees with the record header is
    // refused before anything is allocated, and zstd never writes past the capacity given.
    if zstd_safe::get_frame_content_size(payload).ok().flatten() != Some(json_len as u64) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "a frame whose compressed size disagrees with its header",
        ));
    }
    let mut json = Vec::with_capacity(json_len);
    dctx.decompress(&mut json, payload).map_err(zstd_error)?;
    if json.len() != json_len {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "a frame shorter than its header says",
        ));
    }
    Ok(json)
}

/// Appends frames to a new segment file.
pub struct Writer {
    file: File,
    pub path: PathBuf,
    /// Bytes in the file.
    pub size: u64,
    /// The previous frame's JSON; `None` before the first.
    prev: Option<Vec<u8>>,
    since_key: usize,
    key_len: usize,
}

impl Writer {
    /// Creates `path` (it must not exist) and writes the file header, with the recorder's `run`.
    pub fn create(path: &Path, run: u32) -> io::Result<Writer> {
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .create_new(true)
            .mode(0o600)
            .open(path)?;
        let mut header = Vec::with_capacity(FILE_HEADER);
        header.extend_from_slice(MAGIC);
        header.extend_from_slice(&VERSION.to_le_bytes());
        header.extend_from_slice(&run.to_le_bytes());
        file.write_all(&header)?;
        Ok(Writer {
            file,
            path: path.to_owned(),
            size: FILE_HEADER as u64,
            prev: None,
            since_key: 0,
            key_len: 0,
        })
    }

    /// Appends one frame: a delta against the one before, or a new key frame when `KEY_EVERY`
    /// frames have passed or the delta would be more than half a key frame.
    pub fn append(&mut self, time_ms: u64, json: &[u8]) -> io::Result<Kind> {
        if json.len() > MAX_JSON as usize {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "a snapshot of {} bytes, more than a recording holds",
                    json.len()
                ),
            ));
        }
        let delta = match &self.prev {
            Some(prev) if self.since_key + 1 < KEY_EVERY => Some(compress(json, Some(prev))?),
            _ => None,
        };
        let (kind, payload) = match delta {
            Some(d) if d.len() <= self.key_len / 2 => (Kind::Delta, d),
            _ => (Kind::Key, compress(json, None)?),
        };
        let mut record = Vec::with_capacity(RECORD_HEADER + payload.len());
        record.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        record.extend_from_slice(&(json.len() as u32).to_le_bytes());
        record.extend_from_slice(&time_ms.to_le_bytes());
        record.push(u8::from(kind == Kind::Delta));
        record.extend_from_slice(&[0; 3]);
        let crc = crc32(&[&record, &payload]);
        record.extend_from_slice(&crc.to_le_bytes());
        record.extend_from_slice(&payload);
        self.file.write_all(&record)?;
        self.size += record.len() as u64;
        match kind {
            Kind::Key => {
                self.since_key = 0;
                self.key_len = payload.len();
            }
            Kind::Delta => self.since_key += 1,
        }
        self.prev = Some(json.to_vec());
        Ok(kind)
    }
}

/// A segment's records as far as they are whole. The file stays open: a recorder pruning it
/// meanwhile does not take it from a reader.
#[derive(Debug)]
pub struct Segment {
    pub path: PathBuf,
    file: File,
    /// The recorder run that wrote it.
    pub run: u32,
    pub records: Vec<Record>,
    /// Whether bytes follow the last whole record (a torn write, or one in progress).
    pub torn: bool,
}

/// `len` bytes of `file` at `offset`.
fn read_at(file: &File, offset: u64, len: u32) -> io::Result<Vec<u8>> {
    let mut bytes = vec![0u8; len as usize];
    file.read_exact_at(&mut bytes, offset)?;
    Ok(bytes)
}

impl Segment {
    /// Reads the record headers up to the first that is not whole or not sound (a tail too
    /// short, lengths of 0 or past the end, padding not zero), and checks the last one's CRC. A
    /// file too short for its own header is a segment just created, with nothing in it yet.
    /// Errors do not name the file: the caller does, once.
    pub fn index(path: &Path) -> io::Result<Segment> {
        use std::os::unix::fs::OpenOptionsExt;
        // Non-blocking and not through a symlink: a FIFO or a link named like a segment must
        // not hang the reader or lead it elsewhere.
        let flags = nix::libc::O_NONBLOCK | nix::libc::O_NOFOLLOW | nix::libc::O_CLOEXEC;
        let file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(flags)
            .open(path)?;
        let meta = file.metadata()?;
        if !meta.is_file() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "not a regular file",
            ));
        }
        let size = meta.len();
        let mut segment = Segment {
            path: path.to_owned(),
            file,
            run: 0,
            records: Vec::new(),
            torn: false,
        };
        if size < FILE_HEADER as u64 {
            segment.torn = size > 0;
            return Ok(segment);
        }
        let header = read_at(&segment.file, 0, FILE_HEADER as u32)?;
        if &header[..8] != MAGIC {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "not an nstop recording segment",
            ));
        }
        let word = |bytes: &[u8], at: usize| {
            u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"))
        };
        let version = word(&header, 8);
        if version != VERSION {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("recording format version {version}; this nstop reads version {VERSION}"),
            ));
        }
        segment.run = word(&header, 12);
        let mut last_head = [0u8; RECORD_HEADER];
        let mut at = FILE_HEADER as u64;
        let mut head = [0u8; RECORD_HEADER];
        let mut reader = io::BufReader::new(&segment.file);
        reader.seek(SeekFrom::Start(at))?;
        while at + RECORD_HEADER as u64 <= size {
            reader.read_exact(&mut head)?;
            let (len, json_len) = (word(&head, 0), word(&head, 4));
            let kind = match head[16] {
                0 => Kind::Key,
                1 => Kind::Delta,
                _ => break,
            };
            let offset = at + RECORD_HEADER as u64;
            let sound = len > 0 && json_len > 0 && json_len <= MAX_JSON && head[17..20] == [0; 3];
            if !sound || offset + u64::from(len) > size {
                break;
            }
            segment.records.push(Record {
                time_ms: u64::from_le_bytes(head[8..16].try_into().expect("8 bytes")),
                kind,
                offset,
                len,
                json_len,
            });
            last_head = head;
            reader.seek_relative(i64::from(len))?;
            at = offset + u64::from(len);
        }
        segment.torn = at < size;
        // Only the tail can be torn: a last record whose payload was not all written is dropped.
        if let Some(last) = segment.records.last() {
            let payload = read_at(&segment.file, last.offset, last.len)?;
            if crc32(&[&last_head[..20], &payload]) != word(&last_head, 20) {
                segment.records.pop();
                segment.torn = true;
            }
        }
        Ok(segment)
    }
}

/// Decodes records of one segment, keeping the frame last decoded: stepping forward decodes one
/// frame, anything else at most `KEY_EVERY` from the key frame before it.
#[derive(Default)]
pub struct Decoder {
    /// (segment path, record index) and its JSON.
    last: Option<((PathBuf, usize), Vec<u8>)>,
}

impl Decoder {
    /// The JSON of record `i` of `segment`; an error when a checksum fails (a torn write that
    /// happened to leave a whole-looking record).
    pub fn json(&mut self, segment: &Segment, i: usize) -> io::Result<Vec<u8>> {
        let key = segment.records[..=i]
            .iter()
            .rposition(|r| r.kind == Kind::Key)
            .ok_or_else(|| {
                io::Error::new(io::ErrorKind::InvalidData, "a delta before any key frame")
            })?;
        // From the frame last decoded when it lies between the key frame and this one.
        let (mut at, mut json) = match self.last.take() {
            Some(((path, j), json)) if path == segment.path && (key..=i).contains(&j) => (j, json),
            _ => (key, read_payload(segment, &segment.records[key], None)?),
        };
        while at < i {
            at += 1;
            json = read_payload(segment, &segment.records[at], Some(&json))?;
        }
        self.last = Some(((segment.path.clone(), i), json.clone()));
        Ok(json)
    }
}

fn read_payload(segment: &Segment, record: &Record, prev: Option<&[u8]>) -> io::Result<Vec<u8>> {
    let payload = read_at(&segment.file, record.offset, record.len)?;
    decompress(&payload, record.json_len as usize, prev)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A record whose header promises 200 MiB of JSON from a zstd frame that holds two bytes:
    /// refused before anything that large is allocated.
    #[test]
    fn a_header_that_disagrees_with_its_zstd_frame_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("20261126T000000.000Z.nsr");
        let mut writer = Writer::create(&path, 1).unwrap();
        writer.append(1_000, b"{}").unwrap();
        drop(writer);
        let mut bytes = std::fs::read(&path).unwrap();
        let head = FILE_HEADER;
        bytes[head + 4..head + 8].copy_from_slice(&(200u32 << 20).to_le_bytes());
        let crc = crc32(&[&bytes[head..head + 20], &bytes[head + RECORD_HEADER..]]);
        bytes[head + 20..head + 24].copy_from_slice(&crc.to_le_bytes());
        std::fs::write(&path, &bytes).unwrap();
        let segment = Segment::index(&path).unwrap();
        assert_eq!(
            segment.records[0].json_len,
            200 << 20,
            "the header reads as sound"
        );
        let e = Decoder::default().json(&segment, 0).unwrap_err();
        assert!(e.to_string().contains("disagrees with its header"), "{e}");
    }
}
