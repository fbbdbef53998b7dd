//! Checklist rows Z1–Z4: reading the ZIP container safely and checking its layout.
//!
//! Hostile input is expected: the entry count, each entry's size and the total inflated size
//! are capped, and the size an entry declares is never trusted (reads stop one byte past it).

use std::io::{Cursor, Read};

use super::Report;

/// More entries than any real pass has; beyond this we refuse instead of iterating.
const MAX_ENTRIES: usize = 4096;
/// Largest single entry we inflate (real pass images are a few hundred KiB).
const MAX_ENTRY_BYTES: u64 = 32 * 1024 * 1024;
/// Largest total we inflate, so many medium entries cannot add up to a zip bomb.
const MAX_TOTAL_BYTES: u64 = 128 * 1024 * 1024;

/// One regular file of the archive, name exactly as stored.
pub(super) struct Entry {
    pub name: String,
    pub data: Vec<u8>,
}

/// The archive's regular files, in central-directory order.
pub(super) struct Archive {
    pub entries: Vec<Entry>,
    /// Names the central directory lists more than once (the zip crate keeps only one).
    pub duplicates: Vec<String>,
}

impl Archive {
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.entries
            .iter()
            .find(|e| e.name == name)
            .map(|e| e.data.as_slice())
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|e| e.name.as_str())
    }
}

/// Z1: opens and fully inflates the archive, or reports why not and returns `None`.
pub(super) fn read(bytes: &[u8], report: &mut Report) -> Option<Archive> {
    report.ran("Z1");
    let mut zip = match zip::ZipArchive::new(Cursor::new(bytes)) {
        Ok(zip) => zip,
        Err(e) => {
            report.error("Z1", format!("not a readable ZIP archive ({e}); Wallet logs \"Couldn't read PKZip signature\""));
            return None;
        }
    };
    if zip.len() > MAX_ENTRIES {
        report.error(
            "Z1",
            format!(
                "archive has {} entries, more than the {MAX_ENTRIES} this validator reads",
                zip.len()
            ),
        );
        return None;
    }
    let mut entries = Vec::with_capacity(zip.len());
    let mut total: u64 = 0;
    for index in 0..zip.len() {
        match read_entry(&mut zip, index, &mut total) {
            Ok(Some(entry)) => entries.push(entry),
            Ok(None) => {}
            Err(message) => {
                report.error("Z1", message);
                return None;
            }
        }
    }
    let duplicates = central_directory_duplicates(bytes);
    Some(Archive {
        entries,
        duplicates,
    })
}

/// Inflates one entry; `Ok(None)` for directories, which carry no content to hash.
fn read_entry(
    zip: &mut zip::ZipArchive<Cursor<&[u8]>>,
    index: usize,
    total: &mut u64,
) -> Result<Option<Entry>, String> {
    let file = zip
        .by_index(index)
        .map_err(|e| format!("entry #{index} cannot be read: {e}"))?;
    let name = file.name().to_owned();
    if file.is_dir() {
        return Ok(None);
    }
    let declared = file.size();
    if declared > MAX_ENTRY_BYTES || total.saturating_add(declared) > MAX_TOTAL_BYTES {
        return Err(format!(
            "entry {name:?} declares {declared} bytes, over the validator's limit"
        ));
    }
    let mut data = Vec::with_capacity(usize::try_from(declared).unwrap_or(0));
    // Read at most one byte more than declared: a lying header shows up as a size mismatch
    // instead of letting a zip bomb inflate without bound.
    file.take(declared.saturating_add(1))
        .read_to_end(&mut data)
        .map_err(|e| format!("entry {name:?} cannot be inflated: {e}"))?;
    if data.len() as u64 != declared {
        return Err(format!(
            "entry {name:?} inflates to a different size than its header declares"
        ));
    }
    *total = total.saturating_add(declared);
    Ok(Some(Entry { name, data }))
}

/// Walks the central directory by hand, because the zip crate silently keeps only one of
/// several entries with the same name. Returns the repeated names (empty if unparseable).
fn central_directory_duplicates(bytes: &[u8]) -> Vec<String> {
    let Some((mut pos, count)) = find_central_directory(bytes) else {
        return Vec::new();
    };
    let mut seen = std::collections::BTreeSet::new();
    let mut dups = Vec::new();
    for _ in 0..count.min(MAX_ENTRIES) {
        if bytes.get(pos..pos + 4) != Some(b"PK\x01\x02") {
            break;
        }
        let field = |off: usize| le16(bytes, pos + off).map(usize::from);
        let (Some(name_len), Some(extra_len), Some(comment_len)) =
            (field(28), field(30), field(32))
        else {
            break;
        };
        let Some(raw) = bytes.get(pos + 46..pos + 46 + name_len) else {
            break;
        };
        let name = String::from_utf8_lossy(raw).into_owned();
        if !seen.insert(name.clone()) && !dups.contains(&name) {
            dups.push(name);
        }
        pos += 46 + name_len + extra_len + comment_len;
    }
    dups
}

/// Finds the end-of-central-directory record; returns (directory offset, entry count).
/// ZIP64 archives (offset 0xFFFFFFFF) are not walked.
fn find_central_directory(bytes: &[u8]) -> Option<(usize, usize)> {
    let search_from = bytes.len().saturating_sub(22 + 65_535);
    let tail = bytes.get(search_from..)?;
    let rel = tail.windows(4).rposition(|w| w == b"PK\x05\x06")?;
    let eocd = search_from + rel;
    let count = usize::from(le16(bytes, eocd + 10)?);
    let offset = bytes.get(eocd + 16..eocd + 20)?;
    let offset = u32::from_le_bytes(offset.try_into().ok()?);
    (offset != u32::MAX).then_some((offset as usize, count))
}

fn le16(bytes: &[u8], at: usize) -> Option<u16> {
    let b = bytes.get(at..at.checked_add(2)?)?;
    Some(u16::from_le_bytes([b[0], b[1]]))
}

/// Z2, Z3, Z4: required files at the root, safe entry names, icons.
pub(super) fn check_layout(archive: &Archive, report: &mut Report) {
    check_required(archive, report);
    check_paths(archive, report);
    check_icons(archive, report);
}

fn check_required(archive: &Archive, report: &mut Report) {
    report.ran("Z2");
    for required in ["pass.json", "manifest.json", "signature"] {
        if archive.get(required).is_some() {
            continue;
        }
        let nested = archive.names().find(|n| {
            n.rsplit('/')
                .next()
                .is_some_and(|base| base.eq_ignore_ascii_case(required))
        });
        let hint = match nested {
            Some(n) => format!(" (found {n:?}; it must be at the archive root, exact name)"),
            None => String::new(),
        };
        report.error("Z2", format!("{required} is missing{hint}"));
    }
}

/// Z3 severities: traversal-style names (`..`, leading `/`, `\`, empty segments) and duplicate
/// names are E — Wallet cannot tell which bytes are meant and extractors may write outside the
/// bundle. Hidden files (`.DS_Store`, `__MACOSX/`) are W: they are junk Wallet ignores, and M2
/// still reports them if they are missing from the manifest.
fn check_paths(archive: &Archive, report: &mut Report) {
    report.ran("Z3");
    for name in &archive.duplicates {
        report.error(
            "Z3",
            format!("entry {name:?} appears more than once in the archive"),
        );
    }
    for name in archive.names() {
        if let Some(problem) = unsafe_path(name) {
            report.error("Z3", format!("entry {name:?} {problem}"));
        } else if name
            .split('/')
            .any(|seg| seg.starts_with('.') || seg == "__MACOSX")
        {
            report.warn(
                "Z3",
                format!("hidden file {name:?} should not be shipped in a pass"),
            );
        }
    }
}

fn unsafe_path(name: &str) -> Option<&'static str> {
    if name.contains('\\') {
        Some("uses a backslash; paths must be '/'-separated")
    } else if name.starts_with('/') {
        Some("is an absolute path")
    } else if name.split('/').any(|seg| seg == "..") {
        Some("contains a '..' segment")
    } else if name.split('/').any(str::is_empty) {
        Some("has an empty path segment")
    } else if name.chars().any(char::is_control) {
        Some("contains control characters")
    } else {
        None
    }
}

/// Z4: `icon.png` is required (E); the @2x and @3x variants are recommended (W).
fn check_icons(archive: &Archive, report: &mut Report) {
    report.ran("Z4");
    if archive.get("icon.png").is_none() {
        report.error(
            "Z4",
            "icon.png is missing at the archive root; Wallet refuses passes without an icon",
        );
    }
    for name in ["icon@2x.png", "icon@3x.png"] {
        if archive.get(name).is_none() {
            report.warn(
                "Z4",
                format!("{name} is missing (recommended for Retina screens)"),
            );
        }
    }
}
