//! Repository URLs: removing credentials and reducing every spelling to one key.
//!
//! The same repository reaches rollouts as `git@github.com:Owner/Repo.git`,
//! `https://github.com/owner/repo`, `ssh://git@github.com/owner/repo.git` or
//! `https://user:TOKEN@github.com/owner/repo.git`. Queries must find all of them with one
//! key, and the token in the last one must never be stored or shown.

/// Returns `url` with any credential removed, keeping the rest of its spelling.
///
/// For `http(s)://` URLs the whole user-info part goes (GitHub accepts a bare token as the
/// user name) together with any query string or fragment (`?access_token=...`). For other
/// schemes only a password is removed (`ssh://git@host` keeps `git@`).
///
/// ```
/// use rolldex::repo_url::strip_credentials;
/// assert_eq!(strip_credentials("https://me:ghp_x@github.com/o/r.git"), "https://github.com/o/r.git");
/// assert_eq!(strip_credentials("git@github.com:o/r.git"), "git@github.com:o/r.git");
/// ```
pub fn strip_credentials(url: &str) -> String {
    let url = url.trim();
    let Some(scheme_end) = url.find("://") else {
        // scp-like `user@host:path` or a local path: no place for a password.
        return url.to_string();
    };
    let scheme = url[..scheme_end].to_ascii_lowercase();
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    let host = match authority.rfind('@') {
        Some(at) => {
            let userinfo = &authority[..at];
            let host = &authority[at + 1..];
            let is_http = scheme == "http" || scheme == "https";
            match userinfo.split_once(':') {
                _ if is_http => host.to_string(),
                Some((user, _password)) => format!("{user}@{host}"),
                None => format!("{userinfo}@{host}"),
            }
        }
        None => authority.to_string(),
    };
    let path = if scheme == "http" || scheme == "https" {
        path.split(['?', '#']).next().unwrap_or("")
    } else {
        path
    };
    format!("{}://{host}{path}", &url[..scheme_end])
}

/// Reduces a repository URL to the key `host/owner/repo` (lowercase, no credentials, no
/// port, no `.git`). Local paths keep their path as key. Returns `None` for an empty URL.
///
/// ```
/// use rolldex::repo_url::repo_key;
/// for url in [
///     "git@github.com:Owner/Repo.git",
///     "https://github.com/owner/repo",
///     "ssh://git@github.com/owner/repo.git",
///     "https://user:TOKEN@github.com/owner/repo.git",
/// ] {
///     assert_eq!(repo_key(url).as_deref(), Some("github.com/owner/repo"));
/// }
/// ```
pub fn repo_key(url: &str) -> Option<String> {
    let url = url.trim();
    if url.is_empty() {
        return None;
    }
    let (host, path) = if let Some(scheme_end) = url.find("://") {
        let rest = &url[scheme_end + 3..];
        let authority_end = rest.find('/').unwrap_or(rest.len());
        let (authority, path) = rest.split_at(authority_end);
        let host = authority.rsplit('@').next().unwrap_or(authority);
        let host = strip_port(host);
        let path = path.split(['?', '#']).next().unwrap_or("");
        (host, path)
    } else if let Some((before, path)) = scp_like(url) {
        (before.rsplit('@').next().unwrap_or(before), path)
    } else {
        ("", url)
    };
    let path = path.trim_matches('/');
    let path = path
        .strip_suffix(".git")
        .unwrap_or(path)
        .trim_end_matches('/');
    let key = if host.is_empty() {
        path.to_string()
    } else if path.is_empty() {
        host.to_string()
    } else {
        format!("{host}/{path}")
    };
    (!key.is_empty()).then(|| key.to_lowercase())
}

/// Removes the user-info part (`user:token@`) of every `scheme://` URL inside free text,
/// such as a command line or a message, before that text is stored in the index. Text
/// without such a URL is returned borrowed, untouched.
///
/// ```
/// use rolldex::repo_url::redact_urls;
/// assert_eq!(
///     redact_urls("git clone https://me:ghp_x@github.com/o/r.git now"),
///     "git clone https://github.com/o/r.git now"
/// );
/// assert_eq!(redact_urls("no url here"), "no url here");
/// ```
pub fn redact_urls(text: &str) -> std::borrow::Cow<'_, str> {
    let mut out = String::new();
    let mut copied = 0;
    let mut search = 0;
    while let Some(found) = text[search..].find("://") {
        let authority_start = search + found + 3;
        // The authority ends at the first character that cannot be part of it.
        let authority_len = text[authority_start..]
            .find(|c: char| c == '/' || c.is_whitespace() || "\"'<>`()[]{}|\\".contains(c))
            .unwrap_or(text.len() - authority_start);
        let authority = &text[authority_start..authority_start + authority_len];
        if let Some(at) = authority.rfind('@') {
            out.push_str(&text[copied..authority_start]);
            copied = authority_start + at + 1;
        }
        // Always past this "://", so the loop ends.
        search = authority_start + authority_len;
    }
    if copied == 0 {
        return std::borrow::Cow::Borrowed(text);
    }
    out.push_str(&text[copied..]);
    std::borrow::Cow::Owned(out)
}

/// Splits `user@host:path` (git's scp-like syntax) into `user@host` and `path`. A colon
/// after a slash means a local path instead, as git itself decides.
fn scp_like(url: &str) -> Option<(&str, &str)> {
    let colon = url.find(':')?;
    if url[..colon].contains('/') {
        return None;
    }
    Some((&url[..colon], &url[colon + 1..]))
}

/// `host:port` to `host`; IPv6 literals in brackets keep their colons.
fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        return host.split_inclusive(']').next().unwrap_or(host);
    }
    match host.rsplit_once(':') {
        Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) => h,
        _ => host,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_spellings_of_one_repo_share_a_key() {
        let spellings = [
            "git@github.com:Owner/Repo.git",
            "https://github.com/owner/repo",
            "https://github.com/owner/repo/",
            "ssh://git@github.com/owner/repo.git",
            "ssh://git@github.com:22/owner/repo.git",
            "https://user:TOKEN@github.com/owner/repo.git",
            "https://ghp_abc123@GitHub.com/Owner/Repo.git?x=1",
            "  https://github.com/owner/repo.git  ",
        ];
        for url in spellings {
            assert_eq!(
                repo_key(url).as_deref(),
                Some("github.com/owner/repo"),
                "{url}"
            );
        }
    }

    #[test]
    fn local_paths_and_empty_urls() {
        assert_eq!(
            repo_key("/srv/git/proj.git").as_deref(),
            Some("srv/git/proj")
        );
        assert_eq!(repo_key("./a:b/c").as_deref(), Some("./a:b/c"));
        assert_eq!(repo_key(""), None);
        assert_eq!(repo_key("   "), None);
    }

    #[test]
    fn urls_in_free_text_lose_their_credentials() {
        let cases = [
            (
                "run `git push https://x-access-token:ghs_SECRET@github.com/o/r.git main`",
                "run `git push https://github.com/o/r.git main`",
            ),
            (
                "a https://u:p@h/x and ssh://git:pw@h2/y",
                "a https://h/x and ssh://h2/y",
            ),
            ("ends with ://", "ends with ://"),
            ("://@", "://"),
            ("héllo https://tok@h", "héllo https://h"),
            ("mail me@host.com", "mail me@host.com"),
        ];
        for (text, want) in cases {
            assert_eq!(redact_urls(text), want, "{text}");
        }
    }

    #[test]
    fn credentials_never_survive_stripping() {
        let cases = [
            (
                "https://user:s3cr3t-token@github.com/o/r.git",
                "https://github.com/o/r.git",
            ),
            ("https://ghp_tok@github.com/o/r", "https://github.com/o/r"),
            (
                "https://github.com/o/r?access_token=abc#frag",
                "https://github.com/o/r",
            ),
            (
                "ssh://git:pw@github.com/o/r.git",
                "ssh://git@github.com/o/r.git",
            ),
            (
                "ssh://git@github.com/o/r.git",
                "ssh://git@github.com/o/r.git",
            ),
            ("git@github.com:o/r.git", "git@github.com:o/r.git"),
        ];
        for (url, want) in cases {
            let got = strip_credentials(url);
            assert_eq!(got, want, "{url}");
            assert!(!got.contains("s3cr3t") && !got.contains("ghp_tok") && !got.contains("pw@"));
        }
    }
}
