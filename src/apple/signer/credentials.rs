//! Reading the credentials: the Pass Type ID certificate and key as PEM or DER, or a
//! `.p12` (with OpenSSL's legacy provider for Keychain's RC2 exports); the WWDR certificates;
//! and the fixed parts of every signature made with them.

use super::*;

/// Where the Pass Type ID certificate and its private key come from.
#[derive(Debug, Clone)]
pub enum SignerSource {
    Pem {
        cert: PathBuf,
        key: PathBuf,
        key_password: Option<SecretString>,
    },
    P12 {
        path: PathBuf,
        password: SecretString,
    },
}

/// The signer certificate and its key, read and matched.
pub(super) struct Identity {
    pub(super) cert: X509,
    pub(super) key: PKey<Private>,
    pub(super) algorithm: KeyAlgorithm,
    pub(super) cert_file: ConfiguredFile,
}

pub(super) fn read_file(file: &ConfiguredFile) -> Result<Vec<u8>, SignerError> {
    std::fs::read(&file.path).map_err(|source| SignerError::Unreadable {
        file: file.clone(),
        source,
    })
}

pub(super) fn is_pem(bytes: &[u8]) -> bool {
    bytes.windows(11).any(|window| window == b"-----BEGIN ")
}

pub(super) fn load_identity(source: &SignerSource) -> Result<Identity, SignerError> {
    let (cert, key, cert_file, key_file) = match source {
        SignerSource::Pem {
            cert,
            key,
            key_password,
        } => {
            let cert_file = ConfiguredFile::new(cert, SETTING_SIGNER_CERT);
            let key_file = ConfiguredFile::new(key, SETTING_SIGNER_KEY);
            let cert = read_signer_certificate(&cert_file)?;
            let key = read_private_key(&key_file, key_password.as_ref())?;
            (cert, key, cert_file, key_file)
        }
        SignerSource::P12 { path, password } => {
            let file = ConfiguredFile::new(path, SETTING_SIGNER_P12);
            let (cert, key) = read_p12(&file, password)?;
            (cert, key, file.clone(), file)
        }
    };
    let public = cert
        .public_key()
        .map_err(crypto("reading the certificate's public key"))?;
    if !public.public_eq(&key) {
        return Err(SignerError::KeyMismatch {
            cert: cert_file,
            key: key_file,
        });
    }
    let algorithm = match key.id() {
        Id::RSA => KeyAlgorithm::Rsa,
        Id::EC => KeyAlgorithm::Ecdsa,
        other => {
            let found = Nid::from_raw(other.as_raw())
                .short_name()
                .unwrap_or("unknown");
            return Err(SignerError::UnsupportedKey {
                file: key_file,
                found: found.to_owned(),
            });
        }
    };
    Ok(Identity {
        cert,
        key,
        algorithm,
        cert_file,
    })
}

pub(super) const CERT_HINT: &str = "it must be the Pass Type ID certificate as PEM or DER (a .p12 goes in WALLETCARDS_APPLE__SIGNER_P12 instead)";

pub(super) fn read_signer_certificate(file: &ConfiguredFile) -> Result<X509, SignerError> {
    let bytes = read_file(file)?;
    let parsed = if is_pem(&bytes) {
        X509::from_pem(&bytes)
    } else {
        X509::from_der(&bytes)
    };
    parsed.map_err(|err| SignerError::Unparseable {
        file: file.clone(),
        expected: "PEM or DER X.509 certificate",
        hint: CERT_HINT,
        detail: err.to_string(),
    })
}

/// Every certificate in the WWDR file: a PEM bundle (e.g. G1 + G4) is allowed, the issuer of
/// the signer is picked from it.
pub(super) fn read_certificates(file: &ConfiguredFile) -> Result<Vec<X509>, SignerError> {
    let bytes = read_file(file)?;
    let parsed = if is_pem(&bytes) {
        X509::stack_from_pem(&bytes)
    } else {
        X509::from_der(&bytes).map(|cert| vec![cert])
    };
    match parsed {
        Ok(certs) if !certs.is_empty() => Ok(certs),
        other => Err(SignerError::Unparseable {
            file: file.clone(),
            expected: "PEM or DER X.509 certificate",
            hint: "download Apple's WWDR G4 intermediate (AppleWWDRCAG4.cer) from apple.com/certificateauthority",
            detail: other
                .err()
                .map_or("no certificate found".into(), |e| e.to_string()),
        }),
    }
}

pub(super) fn read_private_key(
    file: &ConfiguredFile,
    password: Option<&SecretString>,
) -> Result<PKey<Private>, SignerError> {
    let bytes = read_file(file)?;
    if !is_pem(&bytes) {
        return PKey::private_key_from_der(&bytes).map_err(|err| key_unparseable(file, err));
    }
    // An explicit callback, because OpenSSL's default one prompts on the terminal for the
    // password of an encrypted key, which would hang a service.
    let parsed = PKey::private_key_from_pem_callback(&bytes, |buf| {
        let secret = password.map_or(&[][..], |p| p.expose_secret().as_bytes());
        let len = if secret.len() <= buf.len() {
            secret.len()
        } else {
            0
        };
        buf[..len].copy_from_slice(&secret[..len]);
        Ok(len)
    });
    parsed.map_err(|err| {
        let encrypted = bytes.windows(9).any(|window| window == b"ENCRYPTED");
        if encrypted {
            SignerError::KeyPassword { file: file.clone() }
        } else {
            key_unparseable(file, err)
        }
    })
}

pub(super) fn key_unparseable(file: &ConfiguredFile, err: ErrorStack) -> SignerError {
    SignerError::Unparseable {
        file: file.clone(),
        expected: "PEM or DER private key",
        hint: "it must be the private key of the Pass Type ID certificate",
        detail: err.to_string(),
    }
}

/// The default and legacy providers, loaded once and kept for the life of the process.
static PROVIDERS: OnceLock<Result<[Provider; 2], String>> = OnceLock::new();

/// macOS Keychain exports .p12 files with RC2-40, which OpenSSL 3 only has in its legacy
/// provider. Loading a provider explicitly switches off the implicit default one, so both are
/// loaded together.
pub(super) fn ensure_legacy_provider() -> Result<(), String> {
    let loaded = PROVIDERS.get_or_init(|| {
        let default = Provider::try_load(None, "default", true).map_err(|e| e.to_string())?;
        let legacy = Provider::try_load(None, "legacy", true).map_err(|e| e.to_string())?;
        Ok([default, legacy])
    });
    loaded.as_ref().map(|_| ()).map_err(Clone::clone)
}

pub(super) fn read_p12(
    file: &ConfiguredFile,
    password: &SecretString,
) -> Result<(X509, PKey<Private>), SignerError> {
    let bytes = read_file(file)?;
    let p12 = Pkcs12::from_der(&bytes).map_err(|err| SignerError::Unparseable {
        file: file.clone(),
        expected: "PKCS#12 (.p12) file",
        hint: "export the Pass Type ID certificate with its private key from Keychain Access as .p12, or use WALLETCARDS_APPLE__SIGNER_CERT and __SIGNER_KEY for PEM files",
        detail: err.to_string(),
    })?;
    let password = password.expose_secret();
    // The openssl crate panics on an interior NUL; no real password contains one.
    if password.contains('\0') {
        return Err(SignerError::WrongP12Password { file: file.clone() });
    }
    let legacy = ensure_legacy_provider();
    let parsed = p12
        .parse2(password)
        .map_err(|err| p12_error(file, err, legacy))?;
    let missing = |what| SignerError::P12Incomplete {
        file: file.clone(),
        missing: what,
    };
    let cert = parsed.cert.ok_or_else(|| missing("certificate"))?;
    let key = parsed.pkey.ok_or_else(|| missing("private key"))?;
    Ok((cert, key))
}

pub(super) fn p12_error(
    file: &ConfiguredFile,
    err: ErrorStack,
    legacy: Result<(), String>,
) -> SignerError {
    let reasons: Vec<&str> = err.errors().iter().filter_map(|e| e.reason()).collect();
    if reasons.iter().any(|r| r.contains("mac verify failure")) {
        return SignerError::WrongP12Password { file: file.clone() };
    }
    match legacy {
        Err(detail) => SignerError::LegacyProviderUnavailable {
            file: file.clone(),
            detail,
        },
        Ok(()) => SignerError::Unparseable {
            file: file.clone(),
            expected: "readable PKCS#12 (.p12) file",
            hint: "re-export it from Keychain Access, or convert it with openssl pkcs12",
            detail: err.to_string(),
        },
    }
}

pub(super) fn decode(
    cert: &X509,
    file: &ConfiguredFile,
) -> Result<x509_cert::Certificate, SignerError> {
    let der = cert.to_der().map_err(crypto("encoding a certificate"))?;
    x509_cert::Certificate::from_der(&der).map_err(|err| SignerError::Unparseable {
        file: file.clone(),
        expected: "well-formed DER X.509 certificate",
        hint: "the certificate does not follow DER strictly; download it again",
        detail: err.to_string(),
    })
}

/// The parts of every signature that do not change: `certificates` (signer, WWDR) and the
/// SignerInfo's sid, the issuer and serial number of the signer (`decoded`, read from `file`).
pub(super) fn signed_data_template(
    certificates: [&X509; 2],
    decoded: &x509_cert::Certificate,
    file: &ConfiguredFile,
    algorithm: KeyAlgorithm,
) -> Result<SignedDataTemplate, SignerError> {
    let tbs = &decoded.tbs_certificate;
    let sid = cms::cert::IssuerAndSerialNumber {
        issuer: tbs.issuer.clone(),
        serial_number: tbs.serial_number.clone(),
    };
    let sid = sid.to_der().map_err(|err| SignerError::Unparseable {
        file: file.clone(),
        expected: "well-formed DER X.509 certificate",
        hint: "its issuer or serial number cannot be re-encoded; download it again",
        detail: err.to_string(),
    })?;
    let certificates = certificates
        .map(|c| c.to_der().map_err(crypto("encoding a certificate")))
        .into_iter()
        .collect::<Result<Vec<_>, _>>()?;
    Ok(SignedDataTemplate::new(&certificates, &sid, algorithm))
}
