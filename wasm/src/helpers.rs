//! The few JavaScript functions the package hands the module at start:
//! how to make a `MemcrabError` and an item, each in one call across the
//! boundary (instead of one `Reflect.set` per field).
//!
//! Without them (a caller that loads the bare wasm-bindgen output) the same
//! objects are built field by field.

use std::cell::RefCell;

use js_sys::{Object, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    /// `{ error(kind, code, message, fatal), item(key, value, flags, cas) }`.
    #[wasm_bindgen(typescript_type = "Helpers")]
    pub type Helpers;

    #[wasm_bindgen(method, structural)]
    fn error(this: &Helpers, kind: &str, code: &str, message: &str, fatal: bool) -> JsValue;

    #[wasm_bindgen(method, structural)]
    fn item(this: &Helpers, key: &str, value: &[u8], flags: u32, cas: Option<String>) -> JsValue;
}

#[wasm_bindgen(typescript_custom_section)]
const HELPERS: &'static str = r#"
/** What the package registers with `setHelpers` (internal). */
export interface Helpers {
  error(kind: string, code: string, message: string, fatal: boolean): Error;
  /** `value` is a view of wasm memory: the helper must copy it. */
  item(key: string, value: Uint8Array, flags: number, cas: string | undefined): unknown;
}
"#;

thread_local! {
    static HELPERS_SET: RefCell<Option<Helpers>> = const { RefCell::new(None) };
}

/// Registers the package's helpers (the `MemcrabError` class and the item
/// constructor). The package's entry modules call it once after loading the
/// module; calling it again replaces them.
#[wasm_bindgen(js_name = setHelpers)]
pub fn set_helpers(helpers: Helpers) {
    HELPERS_SET.with(|h| *h.borrow_mut() = Some(helpers));
}

/// Returns a `MemcrabError` (or an `Error` with the same fields).
pub(crate) fn error(kind: &str, code: &str, message: &str, fatal: bool) -> JsValue {
    let made = HELPERS_SET.with(|h| {
        h.borrow()
            .as_ref()
            .map(|h| h.error(kind, code, message, fatal))
    });
    made.unwrap_or_else(|| {
        let error = js_sys::Error::new(message);
        error.set_name("MemcrabError");
        set(&error, "kind", &JsValue::from_str(kind));
        set(&error, "code", &JsValue::from_str(code));
        set(&error, "fatal", &JsValue::from_bool(fatal));
        error.into()
    })
}

/// Returns an item `{ key, value, flags, cas? }` with a copy of `value`.
pub(crate) fn item(key: &str, value: &[u8], flags: u32, cas: Option<u64>) -> JsValue {
    let cas = cas.map(|c| c.to_string());
    let made = HELPERS_SET.with(|h| {
        h.borrow()
            .as_ref()
            .map(|h| h.item(key, value, flags, cas.clone()))
    });
    made.unwrap_or_else(|| {
        let object: JsValue = Object::new().into();
        set(&object, "key", &JsValue::from_str(key));
        set(&object, "value", &Uint8Array::from(value));
        set(&object, "flags", &JsValue::from(flags));
        if let Some(cas) = cas {
            set(&object, "cas", &JsValue::from_str(&cas));
        }
        object
    })
}

/// Sets `object[name] = value`; setting a field of a fresh object cannot fail.
pub(crate) fn set(object: &JsValue, name: &str, value: &JsValue) {
    let _ = Reflect::set(object, &JsValue::from_str(name), value);
}
