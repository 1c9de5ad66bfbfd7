//! Connection options (`keyPrefix`, `allowUnicodeKeys`, `binaryKeys`,
//! `maxItemSize`, `protocol`), read once and used for every connection.

use memcrab_core::cluster::ClusterConfig;
use memcrab_core::{KeyPolicy, Limits, Protocol};
use wasm_bindgen::JsValue;

use crate::convert::{self, field};
use crate::error::bad_argument;

/// The option names every front end takes.
pub(crate) const CONNECTION_OPTIONS: [&str; 5] = [
    "keyPrefix",
    "allowUnicodeKeys",
    "binaryKeys",
    "maxItemSize",
    "protocol",
];

/// How connections are made.
#[derive(Clone, Debug)]
pub(crate) struct Config {
    pub(crate) policy: KeyPolicy,
    pub(crate) limits: Limits,
    pub(crate) protocol: Protocol,
    /// Keys the text protocol cannot carry go base64-encoded (meta only).
    pub(crate) binary_keys: bool,
}

impl Config {
    /// Reads the connection options from `options`; `known` lists every
    /// name the caller accepts (a misspelt one is an error).
    pub(crate) fn from_js(options: &JsValue, known: &[&str], what: &str) -> Result<Self, JsValue> {
        convert::check_options(options, known, what)?;
        let mut policy = KeyPolicy::new().allow_unicode_keys(convert::bool_field(
            options,
            "allowUnicodeKeys",
            false,
        )?);
        let prefix = field(options, "keyPrefix");
        if !prefix.is_undefined() && !prefix.is_null() {
            let prefix = convert::bytes(&prefix, "option keyPrefix")?;
            // The prefix obeys the key rules too (an empty key after it is
            // never sent: it is checked per key).
            if !prefix.is_empty() {
                policy
                    .check(&prefix)
                    .map_err(|e| bad_argument(&format!("option keyPrefix: {e}")))?;
            }
            policy = policy.with_prefix(prefix);
        }
        let mut limits = Limits::default();
        let max = field(options, "maxItemSize");
        if !max.is_undefined() && !max.is_null() {
            limits.max_item_size = usize::try_from(convert::u64_arg(&max, "option maxItemSize")?)
                .map_err(|_| bad_argument("option maxItemSize is too large"))?;
        }
        let protocol = match field(options, "protocol").as_string().as_deref() {
            None if field(options, "protocol").is_undefined() => Protocol::Text,
            Some("text") => Protocol::Text,
            Some("meta") => Protocol::Meta,
            other => {
                return Err(bad_argument(&format!(
                    "unknown protocol {other:?}: use \"text\" or \"meta\""
                )))
            }
        };
        let binary_keys = convert::bool_field(options, "binaryKeys", false)?;
        if binary_keys && protocol != Protocol::Meta {
            return Err(bad_argument(
                "option binaryKeys needs protocol: \"meta\" (the text protocol cannot carry such keys)",
            ));
        }
        Ok(Config {
            policy,
            limits,
            protocol,
            binary_keys,
        })
    }

    /// Returns the core client's settings with these options: one
    /// connection per server, pipelined without limit.
    pub(crate) fn cluster(&self) -> ClusterConfig {
        let mut config = ClusterConfig::default()
            .max_connections(1)
            .depth(usize::MAX);
        config.policy = self.policy.clone();
        config.limits = self.limits;
        config.protocol = self.protocol;
        config
    }
}
