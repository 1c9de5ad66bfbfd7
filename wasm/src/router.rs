//! `Router`: the core's key routing and node health, for JavaScript.

use core::time::Duration;

use memcrab_core::address::ServerAddr;
use memcrab_core::router::{self, Distribution, HealthConfig, NodeId, Route};
use memcrab_core::Millis;
use wasm_bindgen::prelude::*;

use crate::convert::{self, field};
use crate::error::bad_argument as type_error;
use crate::helpers::set;
use crate::typescript::{Key, RouterOptions};

/// Decides which of several servers a key belongs to, and tracks which
/// servers are down; the caller owns one connection (a `Client`, or a
/// socket with a `Protocol`) per node.
///
/// The hashing is the core's: rendezvous hashing compatible with
/// pymemcache's `HashClient` (a Python service finds a key on the same
/// node), or ketama compatible with libmemcached and twemproxy.
///
/// Nodes are server addresses in any form memcrab and pymemcache accept
/// (`"host"`, `"host:port"`, `"[::1]:11211"`, `"unix:/path"`…; a bad one
/// throws a `MemcrabError` with `code: "BAD_ARGUMENT"`). The ring hashes each server's name as those
/// clients do (pymemcache's `"host:port"`, twemproxy's `"host"` on port
/// 11211), the same names as memcrab's Rust `HashClient`; results name a
/// node by the string it was given, and a node may be named in any spelling
/// of its address.
///
/// For each keyed call: `route(key)`; on `"node"` make the call on that
/// node's connection, then `reportSuccess(node)` or, if the node could not
/// be reached, `reportFailure(node)`. Times are milliseconds (`now`
/// arguments default to `Date.now()`).
#[wasm_bindgen]
pub struct Router {
    router: router::Router,
    /// Each node's address as the caller wrote it, by node id.
    servers: Vec<String>,
}

#[wasm_bindgen]
impl Router {
    /// Creates a router over the node names `nodes`.
    #[wasm_bindgen(constructor)]
    pub fn new(nodes: Vec<String>, options: Option<RouterOptions>) -> Result<Router, JsValue> {
        let options = JsValue::from(options);
        convert::check_options(
            &options,
            &[
                "distribution",
                "retryAttempts",
                "retryTimeoutMs",
                "deadTimeoutMs",
                "now",
            ],
            "new Router",
        )?;
        let now = now_or(&field(&options, "now"))?;
        let (ring, names) = from_options(&nodes, &options, now)?;
        let mut router = Router {
            router: ring,
            servers: Vec::new(),
        };
        for (node, name) in nodes.iter().zip(&names) {
            if let Some(id) = router.router.node_id(name) {
                router.name_node(id, node, false);
            }
        }
        Ok(router)
    }

    /// Returns the name of the node `key` belongs to among the live nodes,
    /// or `undefined` when none is live. Same as `route(key).node`, for code
    /// that does not track failures.
    #[wasm_bindgen(js_name = nodeFor)]
    pub fn node_for(&mut self, key: Key, now: Option<f64>) -> Result<Option<String>, JsValue> {
        let key = convert::bytes(&key, "key")?;
        let now = now_or(&now.into())?;
        Ok(match self.router.node_for(&key, now) {
            Route::Node(id) | Route::Wait(id) => self.server(id).map(String::from),
            Route::NoNodes => None,
        })
    }

    /// Decides where a call for `key` goes at `now`.
    #[wasm_bindgen(unchecked_return_type = "Route")]
    pub fn route(&mut self, key: Key, now: Option<f64>) -> Result<JsValue, JsValue> {
        let key = convert::bytes(&key, "key")?;
        let now = now_or(&now.into())?;
        let object: JsValue = js_sys::Object::new().into();
        let (kind, id) = match self.router.node_for(&key, now) {
            Route::Node(id) => ("node", Some(id)),
            Route::Wait(id) => ("wait", Some(id)),
            Route::NoNodes => ("noNodes", None),
        };
        set(&object, "type", &JsValue::from_str(kind));
        if let Some(id) = id {
            let name = self.server(id).unwrap_or_default();
            set(&object, "node", &JsValue::from_str(name));
            set(&object, "index", &JsValue::from_f64(id.0 as f64));
        }
        Ok(object)
    }

    /// Records that a call to `node` failed because it could not be
    /// reached; after `retryAttempts` more failures the node is dead.
    #[wasm_bindgen(js_name = reportFailure)]
    pub fn report_failure(&mut self, node: &str, now: Option<f64>) -> Result<(), JsValue> {
        let now = now_or(&now.into())?;
        let id = self.id(node)?;
        self.router.report_failure(id, now);
        Ok(())
    }

    /// Records that a call to `node` succeeded, clearing its failures.
    #[wasm_bindgen(js_name = reportSuccess)]
    pub fn report_success(&mut self, node: &str) -> Result<(), JsValue> {
        let id = self.id(node)?;
        self.router.report_success(id);
        Ok(())
    }

    /// Adds a node (with a weight, for ketama); adding one already there
    /// only sets its weight.
    #[wasm_bindgen(js_name = addNode)]
    pub fn add_node(&mut self, node: &str, weight: Option<u32>) -> Result<(), JsValue> {
        let name = ring_name(node, self.router.distribution())?;
        let known = self.router.node_id(&name).is_some();
        let id = self.router.add_weighted_node(&name, weight.unwrap_or(1));
        self.name_node(id, node, !known);
        Ok(())
    }

    /// Removes a node; its keys move to the others. Returns false if there
    /// was no such node.
    #[wasm_bindgen(js_name = removeNode)]
    pub fn remove_node(&mut self, node: &str) -> bool {
        match self.find(node) {
            Some(id) => self.router.remove_node(id),
            None => false,
        }
    }

    /// Every node's name, live or dead, in the order they were added.
    #[wasm_bindgen(getter)]
    pub fn nodes(&self) -> Vec<String> {
        self.router
            .nodes()
            .filter_map(|(id, _)| self.server(id).map(String::from))
            .collect()
    }

    /// The names of the nodes that are not dead.
    #[wasm_bindgen(getter, js_name = liveNodes)]
    pub fn live_nodes(&self) -> Vec<String> {
        self.router
            .nodes()
            .filter(|(id, _)| self.router.is_live(*id))
            .filter_map(|(id, _)| self.server(id).map(String::from))
            .collect()
    }

    fn id(&self, node: &str) -> Result<NodeId, JsValue> {
        self.find(node)
            .ok_or_else(|| type_error(&format!("no node named {node:?}")))
    }

    /// Finds a node by the string it was given, or by any spelling of its
    /// address.
    fn find(&self, node: &str) -> Option<NodeId> {
        let given = self
            .router
            .nodes()
            .find(|(id, _)| self.servers.get(id.0).is_some_and(|s| s == node));
        given.map(|(id, _)| id).or_else(|| {
            let name = ring_name(node, self.router.distribution()).ok()?;
            self.router.node_id(&name)
        })
    }

    /// Returns the address node `id` was given as, if it is a node.
    fn server(&self, id: NodeId) -> Option<&str> {
        self.router.node_name(id)?;
        self.servers.get(id.0).map(String::as_str)
    }

    /// Records `node` as the string node `id` is shown as: always when
    /// `replace`, else only if it has none yet.
    fn name_node(&mut self, id: NodeId, node: &str, replace: bool) {
        if self.servers.len() <= id.0 {
            self.servers.resize(id.0 + 1, String::new());
        }
        if replace || self.servers[id.0].is_empty() {
            self.servers[id.0] = node.to_owned();
        }
    }
}

/// Builds the core's router over the server addresses `nodes` from the
/// routing options (`distribution`, `retryAttempts`, `retryTimeoutMs`,
/// `deadTimeoutMs`; the caller checked the names), hashing each server's
/// ring name; returns it with those names, in the order of `nodes`.
pub(crate) fn from_options(
    nodes: &[String],
    options: &JsValue,
    now: Millis,
) -> Result<(router::Router, Vec<String>), JsValue> {
    let ring = Ring::from_options(nodes, options)?;
    Ok((
        router::Router::new(&ring.names, ring.distribution, ring.health, now),
        ring.names,
    ))
}

/// The routing options: how keys are spread over servers, the node health
/// rules, and each server's name on the ring.
pub(crate) struct Ring {
    pub(crate) distribution: Distribution,
    pub(crate) health: HealthConfig,
    pub(crate) names: Vec<String>,
}

impl Ring {
    /// Reads the routing options (`distribution`, `retryAttempts`,
    /// `retryTimeoutMs`, `deadTimeoutMs`; the caller checked the names)
    /// and the ring names of the server addresses `nodes`.
    pub(crate) fn from_options(nodes: &[String], options: &JsValue) -> Result<Ring, JsValue> {
        let distribution = match field(options, "distribution").as_string().as_deref() {
            None | Some("rendezvous") => Distribution::Rendezvous,
            Some("rendezvous-bytes-repr") => Distribution::RendezvousBytesRepr,
            Some("ketama-md5") => Distribution::KetamaMd5,
            Some("ketama-fnv1a64") => Distribution::KetamaFnv1a64,
            Some(other) => {
                return Err(type_error(&format!(
                    "unknown distribution {other:?}: use \"rendezvous\", \
                 \"rendezvous-bytes-repr\", \"ketama-md5\" or \"ketama-fnv1a64\""
                )))
            }
        };
        let defaults = HealthConfig::default();
        let ms = |name: &str, default: Duration| -> Result<Duration, JsValue> {
            let value = field(options, name);
            if value.is_undefined() || value.is_null() {
                return Ok(default);
            }
            Ok(Duration::from_millis(convert::u64_arg(
                &value,
                &format!("option {name}"),
            )?))
        };
        let attempts = field(options, "retryAttempts");
        let health = HealthConfig {
            retry_attempts: if attempts.is_undefined() || attempts.is_null() {
                defaults.retry_attempts
            } else {
                u32::try_from(convert::u64_arg(&attempts, "option retryAttempts")?)
                    .map_err(|_| type_error("option retryAttempts is too large"))?
            },
            retry_timeout: ms("retryTimeoutMs", defaults.retry_timeout)?,
            dead_timeout: ms("deadTimeoutMs", defaults.dead_timeout)?,
        };
        let names = nodes
            .iter()
            .map(|node| ring_name(node, distribution))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Ring {
            distribution,
            health,
            names,
        })
    }
}

/// Parses the server address `node` with the core's parser and returns
/// the name the ring hashes for it under `distribution`.
fn ring_name(node: &str, distribution: Distribution) -> Result<String, JsValue> {
    let addr = node
        .parse::<ServerAddr>()
        .map_err(|e| type_error(&e.to_string()))?;
    Ok(addr.node_name(distribution))
}

/// Returns `now` as [`Millis`], or `Date.now()` when it is absent.
fn now_or(now: &JsValue) -> Result<Millis, JsValue> {
    Ok(convert::millis(now, "now")?.unwrap_or_else(|| Millis(js_sys::Date::now() as u64)))
}
