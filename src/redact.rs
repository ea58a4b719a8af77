//! Secrets out of text: API keys, tokens, private keys and passwords become
//! `[REDACTED:kind]` before a transcript leaves the machine.
//!
//! Agents routinely `cat .env`, print configs and paste curl commands, so any transcript may
//! hold credentials. Exports redact by default. Every pattern is one alternative of a single
//! compiled regex (leftmost match wins, and at one position the first alternative listed),
//! so the text is scanned once whatever the number of kinds.
//!
//! For `NAME=value`, `"name": "value"` and `Authorization: Bearer value` the name stays and
//! only the value goes, so the reader still sees *what* was set.
//!
//! ```
//! use rolldex::redact::redact;
//! let out = redact("export OPENAI_API_KEY=sk-proj-abcdefghijklmnopqrstuvwx");
//! assert_eq!(out, "export OPENAI_API_KEY=[REDACTED:secret_assignment]");
//! ```

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::{Captures, Regex};

/// Every kind of secret, in the order their alternatives are tried at one position.
/// Each alternative is a named group `k_<kind>`; an optional group `keep_<kind>` is a prefix
/// (a variable name, a header) that stays in the text.
const PATTERNS: &[(&str, &str)] = &[
    (
        "private_key",
        r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|\z)",
    ),
    (
        "bearer",
        r#"(?P<keep_bearer>(?i:\bauthorization["']?\s*[:=]\s*["']?bearer\s+))[A-Za-z0-9._~+/=-]{8,}"#,
    ),
    (
        "aws_secret_key",
        r#"(?P<keep_aws_secret_key>(?i:\baws_?secret_?access_?key)["']?\s*[:=]\s*["']?)[A-Za-z0-9/+=]{40}"#,
    ),
    (
        "secret_assignment",
        r#"(?P<keep_secret_assignment>(?i:\b[A-Za-z0-9_.-]*(?:token|secret|password|passwd|api_?key|private_?key))["']?\s*[:=]\s*)(?:"[^"\n]+"|'[^'\n]+'|[^\s"',;]+)"#,
    ),
    ("anthropic", r"\bsk-ant-[A-Za-z0-9_-]{20,}"),
    ("stripe", r"\b[rs]k_live_[A-Za-z0-9]{10,}"),
    (
        "openai",
        r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}",
    ),
    (
        "github",
        r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{22,})",
    ),
    ("gitlab", r"\bglpat-[A-Za-z0-9_-]{16,}"),
    ("aws_access_key_id", r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b"),
    ("slack", r"\bxox[abposr]-[A-Za-z0-9-]{10,}"),
    ("google_api_key", r"\bAIza[0-9A-Za-z_-]{35}"),
    (
        "jwt",
        r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}",
    ),
    (
        "url_credentials",
        r"(?P<keep_url_credentials>\b[a-zA-Z][a-zA-Z0-9+.-]*://)[^\s/?#@:]+:[^\s/?#@]+@",
    ),
];

/// The one regex of every pattern, built on first use.
static SECRETS: LazyLock<Regex> = LazyLock::new(|| {
    // Word boundaries are ASCII ones: a Unicode `\b` keeps the regex off its fast (lazy
    // DFA) engine for every haystack, which measured 12 ms to redact one MCP answer of 20
    // hits. A key next to a non-ASCII letter is then redacted too, never spared.
    let alternatives: Vec<String> = PATTERNS
        .iter()
        .map(|(kind, re)| format!("(?P<k_{kind}>{})", re.replace(r"\b", r"(?-u:\b)")))
        .collect();
    // The patterns are constants checked by the tests below: building cannot fail at run
    // time unless they are edited wrongly, and then every test fails at once.
    #[allow(clippy::expect_used)]
    Regex::new(&alternatives.join("|")).expect("the redaction patterns compile")
});

/// The kinds of secret [`redact`] knows, as they appear in `[REDACTED:kind]`.
pub fn kinds() -> impl Iterator<Item = &'static str> {
    PATTERNS.iter().map(|(kind, _)| *kind)
}

/// `text` with every secret replaced by `[REDACTED:kind]` (borrowed when there was none).
pub fn redact(text: &str) -> Cow<'_, str> {
    SECRETS.replace_all(text, |caps: &Captures<'_>| {
        for (kind, _) in PATTERNS {
            if caps.name(&format!("k_{kind}")).is_some() {
                let keep = caps
                    .name(&format!("keep_{kind}"))
                    .map_or("", |m| m.as_str());
                let tail = if *kind == "url_credentials" { "@" } else { "" };
                return format!("{keep}[REDACTED:{kind}]{tail}");
            }
        }
        String::from("[REDACTED]")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// One realistic secret per kind, as it would appear in a `.env` file or a command.
    pub(crate) const SAMPLES: &[(&str, &str, &str)] = &[
        // (kind, text, the secret part that must go)
        (
            "openai",
            "key: sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z",
            "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z",
        ),
        (
            "openai",
            "using sk-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zT3BlbkFJ now",
            "sk-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zT3BlbkFJ",
        ),
        (
            "anthropic",
            "sk-ant-api03-Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2Ji1HgFeDcBa-AAAA",
            "sk-ant-api03-Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2Ji1HgFeDcBa-AAAA",
        ),
        (
            "github",
            "remote uses ghp_16C7e42F292c6912E7710c838347Ae178B4a for pushes",
            "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
        ),
        (
            "github",
            "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz0123",
            "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz0123",
        ),
        (
            "gitlab",
            "glpat-xY7zQ2wE9rT4uI1oP6aS",
            "glpat-xY7zQ2wE9rT4uI1oP6aS",
        ),
        (
            "aws_access_key_id",
            "aws_access_key_id = AKIAIOSFODNN7EXAMPLE",
            "AKIAIOSFODNN7EXAMPLE",
        ),
        (
            "aws_secret_key",
            "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        ),
        (
            "slack",
            "hook xoxb-2048-4096-AbCdEfGhIjKlMnOp posted",
            "xoxb-2048-4096-AbCdEfGhIjKlMnOp",
        ),
        (
            "stripe",
            "charge with sk_live_51HxYzAbCdEfGhIjKlMn",
            "sk_live_51HxYzAbCdEfGhIjKlMn",
        ),
        (
            "google_api_key",
            "maps AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q ok",
            "AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q",
        ),
        (
            "jwt",
            "cookie eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
        ),
        (
            "bearer",
            "curl -H 'Authorization: Bearer abc123def456ghi789' https://api",
            "abc123def456ghi789",
        ),
        (
            "private_key",
            "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\nQyNTUxOQAAACD\n-----END OPENSSH PRIVATE KEY-----",
            "b3BlbnNzaC1rZXktdjEAAAAA",
        ),
        (
            "url_credentials",
            "git clone https://ci-bot:hunter2pass@gitlab.example.com/ops/deploy.git",
            "hunter2pass",
        ),
        (
            "secret_assignment",
            "DATABASE_PASSWORD=correct-horse-battery",
            "correct-horse-battery",
        ),
        (
            "secret_assignment",
            r#"{"client_secret": "s3cr3t-v4lu3-xyz", "name": "demo"}"#,
            "s3cr3t-v4lu3-xyz",
        ),
        (
            "secret_assignment",
            "export STRIPE_API_KEY='plain value here'",
            "plain value here",
        ),
        (
            "secret_assignment",
            "SIGNING_PRIVATE_KEY=base64stuffAAAA",
            "base64stuffAAAA",
        ),
    ];

    #[test]
    fn a_key_next_to_a_non_ascii_letter_is_redacted_too() {
        let key = "sk-proj-Zq8TnWv3Lk5Rb7Yc2Xd9Fh4Jm6Pa1Se0Gu";
        for text in [
            format!("clé:{key}"),
            format!("é{key}é"),
            format!("ключ {key}"),
        ] {
            let out = redact(&text);
            assert!(!out.contains(key), "{out}");
        }
    }

    #[test]
    fn each_kind_of_secret_is_redacted_by_its_kind() {
        for (kind, text, secret) in SAMPLES {
            let out = redact(text);
            assert!(!out.contains(secret), "{kind}: {out}");
            assert!(out.contains(&format!("[REDACTED:{kind}]")), "{kind}: {out}");
        }
        for (kind, _) in PATTERNS {
            assert!(
                SAMPLES.iter().any(|(k, _, _)| k == kind),
                "{kind} has no sample"
            );
        }
    }

    #[test]
    fn what_is_not_secret_stays_and_names_stay_readable() {
        for plain in [
            "cargo test --workspace",
            "the task-runner sk-like name is fine",
            "https://github.com/acme/widget.git",
            "git@github.com:Acme/Widget.git",
            "TOKEN_COUNT is a column",
            "no secrets here: 12 tests passed",
        ] {
            assert_eq!(redact(plain), plain);
        }
        assert_eq!(
            redact("GITHUB_TOKEN=ghp_16C7e42F292c6912E7710c838347Ae178B4a make"),
            "GITHUB_TOKEN=[REDACTED:secret_assignment] make"
        );
        assert_eq!(
            redact("Authorization: Bearer abc123def456ghi789"),
            "Authorization: Bearer [REDACTED:bearer]"
        );
        assert_eq!(
            redact("https://user:pw@example.com/x"),
            "https://[REDACTED:url_credentials]@example.com/x"
        );
        // A private key whose end was cut off goes to the end of the text.
        assert_eq!(
            redact("-----BEGIN RSA PRIVATE KEY-----\nMIIEow"),
            "[REDACTED:private_key]"
        );
    }

    fn separator() -> impl Strategy<Value = &'static str> {
        prop_oneof![
            Just(" "),
            Just("\n"),
            Just("\t"),
            Just(" \""),
            Just("'"),
            Just("(")
        ]
    }

    proptest! {
        #[test]
        fn any_text_gets_an_answer(text in ".{0,400}") {
            let once = redact(&text).into_owned();
            // Redacting again finds nothing new.
            prop_assert_eq!(redact(&once), once.clone());
        }

        #[test]
        fn no_planted_secret_survives(
            before in "[ -~\n]{0,60}",
            after in "[ -~\n]{0,60}",
            i in 0..SAMPLES.len(),
            left in separator(),
            right in separator(),
        ) {
            let (_, _, secret) = SAMPLES[i];
            // Embedded as a whole text sample, so each secret keeps the context it needs
            // (a variable name, a header) and is set apart from the random text.
            let text = format!("{before}{left}{}{right}{after}", SAMPLES[i].1);
            let out = redact(&text);
            prop_assert!(!out.contains(secret), "{} survived in {:?}", secret, out);
        }
    }
}
