//! What sessions cost: tokens by kind, per model, and the price table that turns them
//! into US dollars, offline.
//!
//! The index keeps, per session, the tokens each model spent, split by kind (uncached
//! input, cache reads, cache writes for 5 minutes and for 1 hour, output with reasoning)
//! and by the context band of the request that spent them ([`Band`]: providers charge
//! more for a request whose prompt is over 200,000 or 272,000 tokens) and whether it ran
//! at a fast/priority service tier. The money is computed when asked, from the price
//! table: a changed price or a user's own file applies to every session at once, with no
//! re-indexing.
//!
//! The table ships inside the binary (`prices/models.json`, with its source and date) and
//! a `prices.json` of the same shape in rolldex's data folder overrides or adds models.
//! Nothing is fetched at run time. A model that has no price is *unpriced*: its tokens
//! are still counted and it is named, never counted as $0.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Tokens by the kind they are billed as. `input` excludes cache reads and writes;
/// `output` includes reasoning, which is billed as output; `reasoning` is the part of
/// `output` spent thinking, kept to be shown.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tokens {
    /// Input read at the full rate.
    #[serde(default)]
    pub input: u64,
    /// Input served from the provider's prompt cache.
    #[serde(default)]
    pub cache_read: u64,
    /// Input written to the cache for 5 minutes (Anthropic's default).
    #[serde(default)]
    pub cache_write_5m: u64,
    /// Input written to the cache for 1 hour.
    #[serde(default)]
    pub cache_write_1h: u64,
    /// Output, reasoning included.
    #[serde(default)]
    pub output: u64,
    /// The reasoning part of `output`.
    #[serde(default)]
    pub reasoning: u64,
}

impl Tokens {
    /// Every billed token: input, cache reads and writes, output.
    pub fn total(&self) -> u64 {
        self.input + self.cache_read + self.cache_write_5m + self.cache_write_1h + self.output
    }

    /// The prompt's size: everything the request read.
    pub fn prompt(&self) -> u64 {
        self.input + self.cache_read + self.cache_write_5m + self.cache_write_1h
    }

    /// Adds `o` kind by kind.
    pub fn add(&mut self, o: &Tokens) {
        self.input += o.input;
        self.cache_read += o.cache_read;
        self.cache_write_5m += o.cache_write_5m;
        self.cache_write_1h += o.cache_write_1h;
        self.output += o.output;
        self.reasoning += o.reasoning;
    }

    /// Takes `o` away kind by kind (never below zero).
    pub fn sub(&mut self, o: &Tokens) {
        self.input = self.input.saturating_sub(o.input);
        self.cache_read = self.cache_read.saturating_sub(o.cache_read);
        self.cache_write_5m = self.cache_write_5m.saturating_sub(o.cache_write_5m);
        self.cache_write_1h = self.cache_write_1h.saturating_sub(o.cache_write_1h);
        self.output = self.output.saturating_sub(o.output);
        self.reasoning = self.reasoning.saturating_sub(o.reasoning);
    }

    /// How much each kind grew from `before` to `self` (a kind that shrank adds nothing).
    pub fn since(&self, before: &Tokens) -> Tokens {
        let mut d = *self;
        d.sub(before);
        d
    }

    /// Whether no token was spent.
    pub fn is_empty(&self) -> bool {
        self.total() == 0 && self.reasoning == 0
    }
}

/// The context band of a request: providers that price long prompts higher do so above
/// 200,000 tokens (Anthropic, Google) or 272,000 (OpenAI's gpt-5.4 family). A tier in the
/// price table applies to the bands at or above its threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Band {
    /// A prompt of at most 200,000 tokens.
    #[default]
    Base,
    /// Over 200,000 and at most 272,000.
    Over200k,
    /// Over 272,000.
    Over272k,
}

impl Band {
    /// The thresholds the index keeps bands for: a tier must name one of them.
    pub const THRESHOLDS: [u64; 2] = [200_000, 272_000];

    /// The band of a request whose prompt is `prompt` tokens.
    pub fn of(prompt: u64) -> Band {
        if prompt > 272_000 {
            Band::Over272k
        } else if prompt > 200_000 {
            Band::Over200k
        } else {
            Band::Base
        }
    }

    /// Its number in the index (0, 1, 2).
    pub fn as_i64(self) -> i64 {
        match self {
            Band::Base => 0,
            Band::Over200k => 1,
            Band::Over272k => 2,
        }
    }

    /// The band stored as `n` (anything unknown reads as the base band).
    pub fn from_i64(n: i64) -> Band {
        match n {
            1 => Band::Over200k,
            2 => Band::Over272k,
            _ => Band::Base,
        }
    }

    /// The least prompt size in the band, exclusive: 0, 200,000 or 272,000.
    fn floor(self) -> u64 {
        match self {
            Band::Base => 0,
            Band::Over200k => 200_000,
            Band::Over272k => 272_000,
        }
    }
}

/// What a set of tokens was spent on: the model, the context band, and whether the
/// request ran at a fast/priority service tier.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Bucket {
    /// The model as the agent wrote it (`gpt-5.1-codex`, `claude-opus-4-6`...).
    pub model: String,
    /// The band of the request's prompt.
    pub band: Band,
    /// Run at a fast or priority service tier.
    pub fast: bool,
}

impl Bucket {
    /// The bucket of one request.
    pub fn new(model: impl Into<String>, tokens: &Tokens, fast: bool) -> Bucket {
        Bucket {
            model: model.into(),
            band: Band::of(tokens.prompt()),
            fast,
        }
    }
}

/// Tokens per bucket: what one session (or a group of sessions) spent.
pub type Spent = BTreeMap<Bucket, Tokens>;

/// Adds `tokens` spent in `bucket` to `spent`.
pub fn spend(spent: &mut Spent, bucket: Bucket, tokens: &Tokens) {
    if !tokens.is_empty() {
        spent.entry(bucket).or_default().add(tokens);
    }
}

/// US dollars per million tokens of each kind.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rates {
    /// Input at the full rate.
    pub input: f64,
    /// Cache reads (OpenAI's and Google's "cached input"); the input rate if absent.
    pub cache_read: Option<f64>,
    /// Cache writes kept 5 minutes; the input rate if absent (providers that do not
    /// charge for writing the cache).
    pub cache_write_5m: Option<f64>,
    /// Cache writes kept 1 hour; the 5-minute rate if absent.
    pub cache_write_1h: Option<f64>,
    /// Output, reasoning included.
    pub output: f64,
}

impl Rates {
    /// The cost of `t` at these rates, in dollars.
    pub fn cost(&self, t: &Tokens) -> f64 {
        let read = self.cache_read.unwrap_or(self.input);
        let w5 = self.cache_write_5m.unwrap_or(self.input);
        let w1 = self.cache_write_1h.unwrap_or(w5);
        (t.input as f64 * self.input
            + t.cache_read as f64 * read
            + t.cache_write_5m as f64 * w5
            + t.cache_write_1h as f64 * w1
            + t.output as f64 * self.output)
            / 1e6
    }

    fn check(&self, model: &str, path: &Path) -> Result<()> {
        let all = [
            Some(self.input),
            self.cache_read,
            self.cache_write_5m,
            self.cache_write_1h,
            Some(self.output),
        ];
        if all.into_iter().flatten().any(|r| !r.is_finite() || r < 0.0) {
            return Err(Error::Prices {
                path: path.to_path_buf(),
                message: format!("{model}: a rate is negative or not a number"),
            });
        }
        Ok(())
    }
}

/// Higher rates for a request whose prompt is over `above` tokens: the whole request is
/// billed at them, as Anthropic, Google and OpenAI bill long prompts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tier {
    /// The prompt size above which the tier applies: 200000 or 272000.
    pub above: u64,
    /// The rates.
    pub rates: Rates,
}

/// One model's price.
#[derive(Debug, Clone, PartialEq)]
pub struct Price {
    /// The rates for a prompt under every tier.
    pub rates: Rates,
    /// Long-prompt rates, if the provider has them.
    pub tier: Option<Tier>,
    /// What a fast/priority service tier multiplies every rate by, if offered.
    pub fast: Option<f64>,
}

/// A model's entry as a price file writes it: the rates, `tier` and `fast` side by side
/// (not flattened through serde, which would accept misspelt fields).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPrice {
    input: f64,
    #[serde(default)]
    cache_read: Option<f64>,
    #[serde(default)]
    cache_write_5m: Option<f64>,
    #[serde(default)]
    cache_write_1h: Option<f64>,
    output: f64,
    #[serde(default)]
    tier: Option<RawTier>,
    #[serde(default)]
    fast: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTier {
    above: u64,
    input: f64,
    #[serde(default)]
    cache_read: Option<f64>,
    #[serde(default)]
    cache_write_5m: Option<f64>,
    #[serde(default)]
    cache_write_1h: Option<f64>,
    output: f64,
}

impl From<RawPrice> for Price {
    fn from(p: RawPrice) -> Price {
        Price {
            rates: Rates {
                input: p.input,
                cache_read: p.cache_read,
                cache_write_5m: p.cache_write_5m,
                cache_write_1h: p.cache_write_1h,
                output: p.output,
            },
            tier: p.tier.map(|t| Tier {
                above: t.above,
                rates: Rates {
                    input: t.input,
                    cache_read: t.cache_read,
                    cache_write_5m: t.cache_write_5m,
                    cache_write_1h: t.cache_write_1h,
                    output: t.output,
                },
            }),
            fast: p.fast,
        }
    }
}

impl Price {
    /// The cost of `t` spent in a request of `band`, fast or not.
    pub fn cost(&self, band: Band, fast: bool, t: &Tokens) -> f64 {
        let rates = match &self.tier {
            Some(tier) if band.floor() >= tier.above => &tier.rates,
            _ => &self.rates,
        };
        let k = if fast { self.fast.unwrap_or(1.0) } else { 1.0 };
        rates.cost(t) * k
    }
}

/// A price file: where its figures come from, when they were read, the models.
#[derive(Debug, Clone, PartialEq)]
pub struct PriceFile {
    /// Where the figures come from.
    pub source: String,
    /// When they were read (`YYYY-MM-DD`).
    pub date: String,
    /// Prices by model name (lowercase, without a provider prefix or a date suffix).
    pub models: BTreeMap<String, Price>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    source: String,
    #[serde(default)]
    date: String,
    models: BTreeMap<String, RawPrice>,
}

/// The price table shipped inside the binary.
const SHIPPED: &str = include_str!("../prices/models.json");

/// The name of the user's own price file in rolldex's data folder.
pub const USER_FILE: &str = "prices.json";

/// The prices in use: the shipped table, then the user's file over it.
#[derive(Debug, Clone)]
pub struct Prices {
    models: BTreeMap<String, Price>,
    /// The shipped table's source and date.
    pub source: String,
    /// See `source`.
    pub date: String,
    /// The user's file, when one was read.
    pub user_file: Option<PathBuf>,
}

impl Prices {
    /// The shipped table alone (parsed once per process).
    pub fn shipped() -> Prices {
        static SHIPPED_TABLE: std::sync::OnceLock<PriceFile> = std::sync::OnceLock::new();
        let file = SHIPPED_TABLE.get_or_init(|| {
            parse(SHIPPED, Path::new("prices/models.json"))
                .expect("the shipped price table parses (a unit test checks it)")
        });
        Prices {
            models: file.models.clone(),
            source: file.source.clone(),
            date: file.date.clone(),
            user_file: None,
        }
    }

    /// The shipped table with `data_dir/prices.json` over it, if there is one: its
    /// models replace the shipped ones of the same name or add to them.
    pub fn load(data_dir: &Path) -> Result<Prices> {
        let mut prices = Prices::shipped();
        let path = data_dir.join(USER_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(prices),
            Err(e) => return Err(Error::io(&path, "reading the price file", e)),
        };
        let user = parse(&text, &path)?;
        for (name, price) in user.models {
            prices.models.insert(name, price);
        }
        prices.user_file = Some(path);
        Ok(prices)
    }

    /// The price of `model`, matched as written, then lowercased without a provider
    /// prefix (`anthropic/`, `openai/`, `models/`...), then without a date or `-latest`
    /// suffix (`claude-sonnet-4-5-20250929` is `claude-sonnet-4-5`).
    pub fn price(&self, model: &str) -> Option<&Price> {
        candidates(model).find_map(|m| self.models.get(&m))
    }

    /// Every model in the table.
    pub fn models(&self) -> impl Iterator<Item = (&str, &Price)> {
        self.models.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// What `spent` cost.
    pub fn cost(&self, spent: &Spent) -> Cost {
        let mut c = Cost::default();
        for (b, t) in spent {
            c.tokens.add(t);
            match self.price(&b.model) {
                Some(p) => c.usd += p.cost(b.band, b.fast, t),
                None => {
                    c.unpriced.insert(b.model.clone());
                }
            }
        }
        c
    }
}

/// What a set of buckets cost.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Cost {
    /// US dollars for the priced models.
    pub usd: f64,
    /// Models without a price, whose tokens `usd` leaves out.
    pub unpriced: BTreeSet<String>,
    /// The tokens, by kind.
    pub tokens: Tokens,
}

impl Cost {
    /// The dollars, or `None` when some tokens had no price (never a silent $0).
    pub fn usd_if_priced(&self) -> Option<f64> {
        self.unpriced.is_empty().then_some(self.usd)
    }
}

impl std::fmt::Display for Cost {
    /// `$12.34`, `$0.0123` under a dollar, `unpriced (m)` when nothing had a price, and
    /// `$12.34 + unpriced (m)` when part had none.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let dollars = if self.usd >= 0.995 {
            format!("${:.2}", self.usd)
        } else {
            format!("${:.4}", self.usd)
        };
        let models = self.unpriced.iter().cloned().collect::<Vec<_>>().join(", ");
        match (self.unpriced.is_empty(), self.usd > 0.0) {
            (true, _) => f.write_str(&dollars),
            (false, false) => write!(f, "unpriced ({models})"),
            (false, true) => write!(f, "{dollars} + unpriced ({models})"),
        }
    }
}

impl Cost {
    /// The JSON fields that say it: `cost_usd` (the priced part, rounded to a millionth
    /// of a dollar; `null` when tokens were spent and none had a price), `unpriced` (the
    /// models without a price) and `tokens_by_kind`.
    pub fn json(&self) -> serde_json::Map<String, serde_json::Value> {
        use serde_json::json;
        let usd = if !self.unpriced.is_empty() && self.usd == 0.0 {
            serde_json::Value::Null
        } else {
            json!((self.usd * 1e6).round() / 1e6)
        };
        let mut m = serde_json::Map::new();
        m.insert("cost_usd".into(), usd);
        m.insert("unpriced".into(), json!(self.unpriced));
        m.insert("tokens_by_kind".into(), json!(self.tokens));
        m
    }
}

fn parse(text: &str, path: &Path) -> Result<PriceFile> {
    let raw: RawFile = serde_json::from_str(text).map_err(|e| Error::Prices {
        path: path.to_path_buf(),
        message: format!("line {}: {e}", e.line()),
    })?;
    let file = PriceFile {
        source: raw.source,
        date: raw.date,
        models: raw
            .models
            .into_iter()
            .map(|(k, v)| (k, Price::from(v)))
            .collect(),
    };
    for (name, p) in &file.models {
        p.rates.check(name, path)?;
        if let Some(t) = &p.tier {
            t.rates.check(name, path)?;
            if !Band::THRESHOLDS.contains(&t.above) {
                return Err(Error::Prices {
                    path: path.to_path_buf(),
                    message: format!(
                        "{name}: a tier applies above 200000 or 272000 tokens, not {}",
                        t.above
                    ),
                });
            }
        }
        if p.fast.is_some_and(|k| !k.is_finite() || k < 1.0) {
            return Err(Error::Prices {
                path: path.to_path_buf(),
                message: format!("{name}: `fast` multiplies rates by 1 or more"),
            });
        }
    }
    Ok(file)
}

/// The names a model may be priced under, most specific first.
fn candidates(model: &str) -> impl Iterator<Item = String> {
    let exact = model.to_string();
    let lower = model.trim().to_ascii_lowercase();
    let bare = lower.rsplit('/').next().unwrap_or(&lower).to_string();
    let undated = strip_suffix(&bare);
    [exact, lower, bare.clone(), undated].into_iter()
}

/// `claude-sonnet-4-5-20250929` -> `claude-sonnet-4-5`; `gemini-2.5-pro-latest` ->
/// `gemini-2.5-pro`; `claude-3-5-sonnet@20241022` -> `claude-3-5-sonnet`.
fn strip_suffix(m: &str) -> String {
    let m = m.split('@').next().unwrap_or(m);
    if let Some(rest) = m.strip_suffix("-latest") {
        return rest.to_string();
    }
    match m.rsplit_once('-') {
        Some((head, date)) if date.len() == 8 && date.bytes().all(|b| b.is_ascii_digit()) => {
            head.to_string()
        }
        _ => m.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(input: u64, cache_read: u64, w5: u64, w1: u64, output: u64) -> Tokens {
        Tokens {
            input,
            cache_read,
            cache_write_5m: w5,
            cache_write_1h: w1,
            output,
            reasoning: 0,
        }
    }

    fn table(json: &str) -> Prices {
        let f = parse(json, Path::new("test.json")).expect("ok");
        Prices {
            models: f.models,
            source: f.source,
            date: f.date,
            user_file: None,
        }
    }

    #[test]
    fn the_shipped_table_parses_and_every_model_has_its_rates() {
        let p = Prices::shipped();
        assert!(
            !p.source.is_empty() && p.date.len() == 10,
            "source and date"
        );
        let names: Vec<&str> = p.models().map(|(n, _)| n).collect();
        for needed in [
            "gpt-5",
            "gpt-5-codex",
            "gpt-5.1-codex",
            "gpt-5.1-codex-max",
            "gpt-5.2-codex",
            "claude-opus-4-5",
            "claude-opus-4-6",
            "claude-sonnet-4-5",
            "claude-haiku-4-5",
            "gemini-2.5-pro",
            "gemini-2.5-flash",
            "gemini-3-pro-preview",
        ] {
            assert!(names.contains(&needed), "{needed} is priced");
        }
        for (name, price) in p.models() {
            let r = &price.rates;
            assert!(
                r.input > 0.0 && r.output >= r.input,
                "{name}: input and output"
            );
            assert!(
                r.cache_read.is_some_and(|c| c < r.input),
                "{name}: a cache-read rate below input"
            );
            if name.starts_with("claude") {
                let w5 = r.cache_write_5m.expect("Claude models charge cache writes");
                let w1 = r.cache_write_1h.expect("and 1-hour writes");
                assert!(w5 > r.input && w1 > w5, "{name}: write rates");
            }
            if let Some(tier) = &price.tier {
                assert!(tier.rates.input > r.input, "{name}: a tier costs more");
            }
        }
        assert!(
            p.price("claude-sonnet-4-5-20250929").is_some(),
            "date suffix"
        );
        assert!(
            p.price("anthropic/claude-opus-4-6").is_some(),
            "provider prefix"
        );
    }

    #[test]
    fn fixed_tokens_give_exact_cents() {
        let p = table(
            r#"{"source":"test","date":"2026-12-01","models":{
              "m":{"input":3,"cache_read":0.3,"cache_write_5m":3.75,"cache_write_1h":6,"output":15,
                   "tier":{"above":200000,"input":6,"cache_read":0.6,"cache_write_5m":7.5,"cache_write_1h":12,"output":22.5},
                   "fast":2}}}"#,
        );
        let mut spent = Spent::new();
        // 1M input = $3, 1M cache reads = $0.30, 1M 5m writes = $3.75, 1M 1h writes = $6,
        // 1M output = $15: $28.05.
        let base = t(1_000_000, 1_000_000, 1_000_000, 1_000_000, 1_000_000);
        spend(
            &mut spent,
            Bucket {
                model: "m".into(),
                band: Band::Base,
                fast: false,
            },
            &base,
        );
        assert_eq!(cents(p.cost(&spent).usd), 2805);
        // A long request: every token at the tier's rates ($0.006 + $0.0225 per 1k).
        spend(
            &mut spent,
            Bucket::new("m", &t(250_000, 0, 0, 0, 10_000), false),
            &t(250_000, 0, 0, 0, 10_000),
        );
        assert_eq!(cents(p.cost(&spent).usd), 2805 + 150 + 23);
        // Fast doubles.
        spend(
            &mut spent,
            Bucket::new("m", &t(1000, 0, 0, 0, 0), true),
            &t(100_000, 0, 0, 0, 0),
        );
        assert_eq!(cents(p.cost(&spent).usd), 2805 + 173 + 60);
    }

    #[test]
    fn an_unknown_model_is_unpriced_never_zero() {
        let p = table(r#"{"models":{"m":{"input":1,"cache_read":0.1,"output":2}}}"#);
        let mut spent = Spent::new();
        spend(
            &mut spent,
            Bucket::new("m", &Tokens::default(), false),
            &t(1_000_000, 0, 0, 0, 0),
        );
        spend(
            &mut spent,
            Bucket::new("mystery-9", &Tokens::default(), false),
            &t(5, 0, 0, 0, 5),
        );
        let c = p.cost(&spent);
        assert_eq!(cents(c.usd), 100);
        assert_eq!(c.unpriced.iter().collect::<Vec<_>>(), ["mystery-9"]);
        assert_eq!(c.usd_if_priced(), None);
        assert_eq!(c.tokens.total(), 1_000_010, "its tokens still count");
    }

    #[test]
    fn a_user_file_overrides_and_adds_models() {
        let dir = tempfile::tempdir().expect("ok");
        std::fs::write(
            dir.path().join(USER_FILE),
            r#"{"models":{"gpt-5":{"input":100,"cache_read":1,"output":200},
                         "house-model":{"input":1,"cache_read":0.5,"output":1}}}"#,
        )
        .expect("ok");
        let p = Prices::load(dir.path()).expect("ok");
        assert_eq!(
            p.price("gpt-5").expect("ok").rates.input,
            100.0,
            "the user's wins"
        );
        assert!(p.price("house-model").is_some(), "and adds");
        assert!(p.price("claude-opus-4-6").is_some(), "the rest stay");
        std::fs::write(
            dir.path().join(USER_FILE),
            "{\"models\":{\"x\":{\"input\":1}}}",
        )
        .expect("ok");
        let e = Prices::load(dir.path()).expect_err("an error").to_string();
        assert!(e.contains("prices.json") && e.contains("output"), "{e}");
        std::fs::write(
            dir.path().join(USER_FILE),
            r#"{"models":{"x":{"input":1,"output":1,"tier":{"above":128000,"input":2,"output":2}}}}"#,
        )
        .expect("ok");
        let e = Prices::load(dir.path()).expect_err("an error").to_string();
        assert!(e.contains("200000 or 272000"), "{e}");
    }

    #[test]
    fn names_match_without_prefix_case_or_date() {
        assert_eq!(
            strip_suffix("claude-sonnet-4-5-20250929"),
            "claude-sonnet-4-5"
        );
        assert_eq!(strip_suffix("gemini-2.5-pro-latest"), "gemini-2.5-pro");
        assert_eq!(strip_suffix("gpt-5.1-codex"), "gpt-5.1-codex");
        assert_eq!(
            candidates("Anthropic/Claude-Haiku-4-5-20251001")
                .last()
                .expect("ok"),
            "claude-haiku-4-5"
        );
    }

    fn cents(usd: f64) -> i64 {
        (usd * 100.0).round() as i64
    }
}
