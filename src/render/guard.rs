//! Tera is a dependency, and a panic inside it must not abort kiln: it
//! becomes a render error naming the template and the scope instance, like
//! any other. One such panic is known: Tera 1.20's dotted-pointer parser
//! (`PointerMachina` in tera `src/context.rs`) slices a subscript key at a
//! character index as if it were a byte index, so `map[key]` with a key from
//! values that holds a multi-byte character panics ("byte index … is not a
//! char boundary"); the `render_values` fuzz target found it.
//!
//! [`render`] runs one template with the panic caught. A process-wide panic
//! hook, installed once and chained to the one before it, keeps the message of
//! a panic raised inside [`render`] for the error instead of printing it;
//! every other panic is reported as before.

use std::cell::{Cell, RefCell};
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

use tera::{Context, Tera};

thread_local! {
    static GUARDED: Cell<bool> = const { Cell::new(false) };
    static CAUGHT: RefCell<Option<String>> = const { RefCell::new(None) };
}

fn install_hook() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if GUARDED.with(Cell::get) {
                let message = info
                    .payload()
                    .downcast_ref::<&str>()
                    .map(|text| (*text).to_string())
                    .or_else(|| info.payload().downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "a panic without a message".to_string());
                CAUGHT.with(|caught| *caught.borrow_mut() = Some(message));
            } else {
                previous(info);
            }
        }));
    });
}

/// Renders `name` with `context`; a panic inside Tera is an error.
pub fn render(tera: &Tera, name: &str, context: &Context) -> tera::Result<String> {
    install_hook();
    GUARDED.with(|guarded| guarded.set(true));
    let result = panic::catch_unwind(AssertUnwindSafe(|| tera.render(name, context)));
    GUARDED.with(|guarded| guarded.set(false));
    result.unwrap_or_else(|_| {
        let message = CAUGHT.with(|caught| caught.borrow_mut().take()).unwrap_or_default();
        Err(tera::Error::msg(format!(
            "the Tera template engine panicked ({message}); a subscript such as `map[key]` whose key holds \
             non-ASCII characters is a known cause: look such values up with a `for` loop or keep keys ASCII"
        )))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_inside_tera_is_an_error() {
        let mut tera = Tera::default();
        tera.add_raw_template("t", "{{ receivers[target] is defined }}").unwrap();
        let mut context = Context::new();
        context.insert("receivers", &serde_json::json!({"a": 1}));
        context.insert("target", "v&a ab\u{c1}e]s\u{2028}\u{2028}");
        let error = render(&tera, "t", &context).unwrap_err();
        assert!(error.to_string().contains("the Tera template engine panicked"), "{error}");
        // The next render on the same thread works and reports normally.
        context.insert("target", "a");
        assert_eq!(render(&tera, "t", &context).unwrap(), "true");
    }
}
