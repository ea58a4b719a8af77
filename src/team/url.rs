//! A team archive's address: a `postgresql://` URL or a libpq `key=value` string, parsed
//! into a connection configuration and shown only with its password masked.
//!
//! The password comes from the URL, else `PGPASSWORD`, else the password file
//! (`PGPASSFILE`, else `~/.pgpass`, read only when no one else may read it, as libpq does).
//! rolldex never writes it anywhere, and [`Address::scrub`] takes it out of any message
//! before that message can reach a screen.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::error::{Error, Result};

/// How the connection is protected, libpq's `sslmode` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TlsMode {
    /// Never TLS.
    Disable,
    /// TLS when the server offers it, without checking its certificate (libpq's default).
    #[default]
    Prefer,
    /// TLS or nothing; the certificate is not checked (checked when `sslrootcert` is given,
    /// as libpq does).
    Require,
    /// TLS, the certificate checked against trusted roots (`sslrootcert`, else the
    /// system's) but not the host name.
    VerifyCa,
    /// TLS, the certificate and the host name checked.
    VerifyFull,
}

impl FromStr for TlsMode {
    type Err = Error;
    fn from_str(s: &str) -> Result<TlsMode> {
        Ok(match s {
            "disable" => TlsMode::Disable,
            "allow" | "prefer" => TlsMode::Prefer,
            "require" => TlsMode::Require,
            "verify-ca" => TlsMode::VerifyCa,
            "verify-full" => TlsMode::VerifyFull,
            other => {
                return Err(Error::BadArgument(format!(
                    "sslmode={other}: use disable, prefer, require, verify-ca or verify-full"
                )));
            }
        })
    }
}

/// A parsed team archive address.
#[derive(Clone)]
pub struct Address {
    /// What to connect to (everything but TLS, which [`super::tls`] sets up).
    pub config: postgres::Config,
    /// The address as given, password masked: the only form ever shown.
    pub shown: String,
    /// How to protect the connection.
    pub tls: TlsMode,
    /// Trusted roots for checking the server's certificate (`sslrootcert`).
    pub root_cert: Option<PathBuf>,
    /// The password in use, only to take it out of messages.
    secret: Option<String>,
}

impl std::fmt::Debug for Address {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the config: it holds the password.
        f.debug_struct("Address")
            .field("shown", &self.shown)
            .field("tls", &self.tls)
            .finish()
    }
}

impl Address {
    /// Parses `text` (`postgresql://…`, `postgres://…` or `key=value …`).
    pub fn parse(text: &str) -> Result<Address> {
        let text = text.trim();
        let shown = mask(text);
        let bad = |reason: String| Error::Remote {
            url: shown.clone(),
            action: "reading the address",
            reason,
        };
        let (rest, params) = take_params(text, &["sslmode", "sslrootcert"]);
        let tls = match params.iter().find(|(k, _)| k == "sslmode") {
            Some((_, v)) => v.parse()?,
            None => TlsMode::default(),
        };
        let root_cert = params
            .iter()
            .find(|(k, _)| k == "sslrootcert")
            .map(|(_, v)| PathBuf::from(v));
        let mut config =
            postgres::Config::from_str(&rest).map_err(|e| bad(scrub_text(&e.to_string(), text)))?;
        if config.get_user().is_none() {
            // libpq's default: the name of the user running the program.
            if let Ok(user) = std::env::var("PGUSER").or_else(|_| std::env::var("USER")) {
                config.user(&user);
            }
        }
        if config.get_password().is_none() {
            if let Some(p) = std::env::var_os("PGPASSWORD").filter(|p| !p.is_empty()) {
                config.password(p.as_encoded_bytes());
            } else if let Some(p) = password_file_entry(&config) {
                config.password(p.as_bytes());
            }
        }
        if config.get_hosts().is_empty() {
            // libpq's default: the usual socket folder.
            config.host_path("/var/run/postgresql");
        }
        let secret = config
            .get_password()
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .filter(|p| !p.is_empty());
        Ok(Address {
            config,
            shown,
            tls,
            root_cert,
            secret,
        })
    }

    /// `text` with the password (as given and percent-encoded) replaced by `***`.
    pub fn scrub(&self, text: &str) -> String {
        match &self.secret {
            Some(p) => replace_secret(text, p),
            None => text.to_string(),
        }
    }

    /// A [`Error::Remote`] for `action`, its message scrubbed of the password.
    pub fn error(&self, action: &'static str, e: impl std::fmt::Display) -> Error {
        Error::Remote {
            url: self.shown.clone(),
            action,
            reason: self.scrub(&error_chain(&e.to_string())),
        }
    }
}

/// One line from an error's text (postgres errors end with a newline at times).
fn error_chain(text: &str) -> String {
    text.trim().replace('\n', "; ")
}

fn replace_secret(text: &str, secret: &str) -> String {
    let mut out = text.replace(secret, "***");
    let encoded = percent_encode(secret);
    if encoded != secret {
        out = out.replace(&encoded, "***");
    }
    out
}

/// The password inside `text` itself, when there is one, scrubbed from `message`.
fn scrub_text(message: &str, text: &str) -> String {
    match password_in(text) {
        Some(p) if !p.is_empty() => replace_secret(message, &p),
        _ => message.to_string(),
    }
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(v) = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn is_url(text: &str) -> bool {
    text.starts_with("postgresql://") || text.starts_with("postgres://")
}

/// Where a URL's user info ends (its last `@` before the query), if it has any.
fn userinfo_span(text: &str) -> Option<(usize, usize)> {
    let start = text.find("://")? + 3;
    let end_of_authority = text[start..].find('?').map_or(text.len(), |q| start + q);
    let at = text[start..end_of_authority].rfind('@')? + start;
    Some((start, at))
}

/// The password written in `text`, decoded.
fn password_in(text: &str) -> Option<String> {
    if is_url(text) {
        if let Some((start, at)) = userinfo_span(text)
            && let Some((_, p)) = text[start..at].split_once(':')
        {
            return Some(percent_decode(p));
        }
        let (_, params) = take_params(text, &["password"]);
        return params.into_iter().next().map(|(_, v)| v);
    }
    let (_, params) = take_params(text, &["password"]);
    params.into_iter().next().map(|(_, v)| v)
}

/// `text` with any password replaced by `***`: in a URL's user info, in a `password=`
/// query parameter, or in a `password=` key of a `key=value` string.
pub fn mask(text: &str) -> String {
    let mut out = text.to_string();
    if is_url(&out)
        && let Some((start, at)) = userinfo_span(&out)
        && let Some(colon) = out[start..at].find(':')
    {
        out.replace_range(start + colon + 1..at, "***");
    }
    // `password=` as a query parameter or a key: up to the next separator.
    let mut searched = 0;
    while let Some(pos) = out[searched..].find("password=") {
        let begin = searched + pos + "password=".len();
        let before = out[..searched + pos].chars().last();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            searched = begin;
            continue;
        }
        let value = &out[begin..];
        let len = if let Some(quoted) = value.strip_prefix('\'') {
            quoted.find('\'').map_or(value.len(), |e| e + 2)
        } else {
            value.find(['&', ' ', '\t']).unwrap_or(value.len())
        };
        out.replace_range(begin..begin + len, "***");
        searched = begin + 3;
    }
    out
}

/// Takes the parameters named in `keys` out of `text` (URL query or `key=value` string),
/// returning the rest and what was taken (decoded).
fn take_params(text: &str, keys: &[&str]) -> (String, Vec<(String, String)>) {
    let mut taken = Vec::new();
    if is_url(text) {
        let Some((base, query)) = text.split_once('?') else {
            return (text.to_string(), taken);
        };
        let mut kept = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let k = percent_decode(k);
            if keys.contains(&k.as_str()) {
                taken.push((k, percent_decode(v)));
            } else {
                kept.push(pair);
            }
        }
        let rest = if kept.is_empty() {
            base.to_string()
        } else {
            format!("{base}?{}", kept.join("&"))
        };
        return (rest, taken);
    }
    // key=value pairs separated by spaces; a value may be 'single quoted' with \' inside.
    let mut kept = Vec::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        let Some(eq) = rest.find('=') else {
            kept.push(rest.to_string());
            break;
        };
        let key = rest[..eq].trim().to_string();
        let after = rest[eq + 1..].trim_start();
        let (value, raw_len) = if let Some(q) = after.strip_prefix('\'') {
            let mut v = String::new();
            let mut chars = q.char_indices();
            let mut end = q.len();
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, n)) = chars.next() {
                            v.push(n);
                        }
                    }
                    '\'' => {
                        end = i + 1;
                        break;
                    }
                    c => v.push(c),
                }
            }
            (v, end + 1)
        } else {
            let end = after.find(char::is_whitespace).unwrap_or(after.len());
            (after[..end].to_string(), end)
        };
        let raw = &after[..raw_len.min(after.len())];
        if keys.contains(&key.as_str()) {
            taken.push((key, value));
        } else {
            kept.push(format!("{key}={raw}"));
        }
        rest = after[raw_len.min(after.len())..].trim_start();
    }
    (kept.join(" "), taken)
}

/// The password the password file gives for this connection, libpq's way: the first line
/// `host:port:database:user:password` whose fields match (`*` matches anything). The file
/// is ignored when others may read it.
fn password_file_entry(config: &postgres::Config) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PGPASSFILE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".pgpass")))?;
    let meta = std::fs::metadata(&path).ok()?;
    if !meta.is_file() || meta.permissions().mode() & 0o077 != 0 {
        return None;
    }
    let text = std::fs::read_to_string(&path).ok()?;
    let host = match config.get_hosts().first() {
        Some(postgres::config::Host::Tcp(h)) => h.clone(),
        // A socket folder matches "localhost", as in libpq.
        _ => "localhost".to_string(),
    };
    let port = config
        .get_ports()
        .first()
        .copied()
        .unwrap_or(5432)
        .to_string();
    let user = config.get_user().unwrap_or_default().to_string();
    let db = config.get_dbname().unwrap_or(&user).to_string();
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let fields = split_pgpass(line);
        if fields.len() < 5 {
            continue;
        }
        let wanted = [&host, &port, &db, &user];
        if fields[..4]
            .iter()
            .zip(wanted)
            .all(|(f, w)| f == "*" || f == w)
        {
            return Some(fields[4..].join(":"));
        }
    }
    None
}

/// A password file line's fields: `:` separates, `\` escapes.
fn split_pgpass(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let (Some(n), Some(f)) = (chars.next(), fields.last_mut()) {
                    f.push(n);
                }
            }
            ':' if fields.len() < 5 => fields.push(String::new()),
            c => {
                if let Some(f) = fields.last_mut() {
                    f.push(c)
                }
            }
        }
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_is_masked_wherever_it_is_written() {
        assert_eq!(
            mask("postgresql://ann:s3cr%40t@db.example.com:5432/team?sslmode=require"),
            "postgresql://ann:***@db.example.com:5432/team?sslmode=require"
        );
        assert_eq!(
            mask("postgres://ann:p@ss@db/team"),
            "postgres://ann:***@db/team"
        );
        assert_eq!(mask("postgresql://ann@db/team"), "postgresql://ann@db/team");
        assert_eq!(
            mask("postgresql:///team?host=/run/pg&password=hunter2&user=ann"),
            "postgresql:///team?host=/run/pg&password=***&user=ann"
        );
        assert_eq!(
            mask("host=/tmp user=ann password='a b' dbname=team"),
            "host=/tmp user=ann password=*** dbname=team"
        );
        assert_eq!(mask("host=db mypassword=x"), "host=db mypassword=x");
    }

    #[test]
    fn tls_settings_are_taken_out_and_the_rest_parses() {
        let a = Address::parse(
            "postgresql://ann:pw@db.example.com/team?sslmode=verify-full&sslrootcert=/etc/ca.pem&connect_timeout=5",
        )
        .expect("parse");
        assert_eq!(a.tls, TlsMode::VerifyFull);
        assert_eq!(a.root_cert.as_deref(), Some(Path::new("/etc/ca.pem")));
        assert_eq!(a.config.get_dbname(), Some("team"));
        assert_eq!(a.config.get_password(), Some(&b"pw"[..]));
        assert!(!format!("{a:?}").contains("pw\""));
        let e = a.error("connecting", "password authentication failed: pw");
        assert!(!e.to_string().contains(": pw"), "{e}");
        let k = Address::parse("host=/run/pg dbname=team sslmode=disable").expect("parse");
        assert_eq!(k.tls, TlsMode::Disable);
        assert_eq!(k.config.get_dbname(), Some("team"));
        assert!(Address::parse("postgresql://db/team?sslmode=sometimes").is_err());
    }

    #[test]
    fn the_password_file_is_read_like_libpq_reads_it() {
        assert_eq!(
            split_pgpass(r"db:5432:team:ann:pa\:ss:word"),
            vec!["db", "5432", "team", "ann", "pa:ss:word"]
        );
    }
}
