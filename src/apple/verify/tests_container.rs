//! Tests for the container rows (Z, M): one broken pass per failure class, plus hostile bytes.

use super::Severity::{Error, Warning};
use super::testkit::{Pass, assert_only, opts, png, verify};
use super::verify_pkpass;
use openssl::pkcs7::Pkcs7Flags;

#[test]
fn a_valid_pass_has_no_findings_and_runs_every_check() {
    let report = verify(&Pass::valid());
    assert!(report.findings.is_empty(), "{}", report.render_text());
    for id in [
        "Z1", "Z2", "Z3", "Z4", "M1", "M2", "S1", "S2", "S3", "S4", "S5", "S6", "S7", "S8", "P1",
        "P2", "P3", "P4", "P5", "P6", "P7", "P8", "P9", "P10", "F1", "F2", "F3", "F4", "F5", "F6",
        "F7", "F8", "I1", "I2", "L1", "H1",
    ] {
        assert!(report.checks_run.contains(&id), "{id} did not run");
    }
    assert!(!report.has_errors());
    assert!(report.render_text().starts_with("0 error(s), 0 warning(s)"));
}

#[test]
fn bytes_that_are_not_a_zip_are_z1() {
    let report = verify_pkpass(b"<html>not a pass</html>", &opts());
    assert_only(&report, "Z1", Error);
    assert!(report.has_errors());
}

#[test]
fn random_garbage_and_truncated_zips_are_z1_without_panicking() {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for len in [0usize, 1, 3, 22, 100, 4096] {
        let garbage: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        assert_only(&verify_pkpass(&garbage, &opts()), "Z1", Error);
    }
    let zip = Pass::valid().zip();
    for cut in (0..zip.len()).step_by(97) {
        assert_only(&verify_pkpass(&zip[..cut], &opts()), "Z1", Error);
    }
}

#[test]
fn corrupted_bytes_never_panic() {
    let zip = Pass::valid().zip();
    let mut state: u64 = 42;
    for round in 0..400 {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let mut bytes = zip.clone();
        let at = (state >> 33) as usize % bytes.len();
        bytes[at] ^= (state >> 8) as u8 | 1;
        let report = verify_pkpass(&bytes, &opts());
        let text = report.render_text();
        assert!(
            !text.contains("panicked"),
            "round {round}, byte {at}:\n{text}"
        );
    }
}

#[test]
fn a_missing_signature_is_z2() {
    let pass = Pass::valid();
    let mut entries = pass.files.clone();
    entries.push(("manifest.json".into(), pass.manifest.clone()));
    let bytes = super::testkit::zip_entries(&entries);
    assert_only(&verify_pkpass(&bytes, &opts()), "Z2", Error);
}

#[test]
fn a_hidden_file_is_a_z3_warning() {
    let mut pass = Pass::valid();
    pass.put(".DS_Store", b"junk".to_vec());
    pass.rebuild();
    assert_only(&verify(&pass), "Z3", Warning);
}

#[test]
fn a_dot_dot_path_is_a_z3_error() {
    let mut pass = Pass::valid();
    pass.put("en.lproj/../evil.png", b"x".to_vec());
    pass.rebuild();
    assert_only(&verify(&pass), "Z3", Error);
}

#[test]
fn a_name_listed_twice_in_the_archive_is_a_z3_error() {
    let mut pass = Pass::valid();
    pass.put("a.txt", b"same".to_vec());
    pass.rebuild();
    pass.put("b.txt", b"same".to_vec());
    // The zip writer refuses duplicates, so rename the second entry in the finished bytes.
    let mut bytes = pass.zip();
    let positions: Vec<usize> = (0..bytes.len() - 5)
        .filter(|&i| &bytes[i..i + 5] == b"b.txt")
        .collect();
    assert_eq!(positions.len(), 2, "local header and central directory");
    for i in positions {
        bytes[i] = b'a';
    }
    let report = verify_pkpass(&bytes, &opts());
    assert_only(&report, "Z3", Error);
    assert!(report.findings[0].message.contains("a.txt"));
}

#[test]
fn a_missing_icon_is_z4() {
    let mut pass = Pass::valid();
    pass.remove("icon.png");
    pass.rebuild();
    assert_only(&verify(&pass), "Z4", Error);
}

#[test]
fn a_file_changed_after_the_manifest_is_m2() {
    let mut pass = Pass::valid();
    pass.put("icon.png", png(30, 30));
    let report = verify(&pass);
    assert_only(&report, "M2", Error);
    assert!(report.findings[0].message.contains("icon.png"));
}

#[test]
fn a_file_missing_from_the_manifest_is_m2() {
    let mut pass = Pass::valid();
    pass.put("de.lproj/logo.png", png(160, 50));
    assert_only(&verify(&pass), "M2", Error);
}

#[test]
fn an_extra_manifest_entry_is_m2() {
    let mut pass = Pass::valid();
    pass.put("de.lproj/logo.png", png(160, 50));
    pass.rebuild();
    pass.remove("de.lproj/logo.png");
    assert_only(&verify(&pass), "M2", Error);
}

#[test]
fn a_manifest_that_is_not_an_object_of_hashes_is_m1() {
    let mut pass = Pass::valid();
    pass.manifest = br#"{"pass.json": "ABC"}"#.to_vec();
    pass.sign(
        super::testkit::creds(super::testkit::SignerKind::Standard),
        true,
        Pkcs7Flags::empty(),
    );
    let report = verify(&pass);
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.id == "M1" && f.severity == Error)
    );
}
